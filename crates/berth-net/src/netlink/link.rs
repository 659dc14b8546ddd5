//! Links: bridges, veth pairs, and their state (up, MTU, MAC, master, name, namespace).

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{DefaultNla, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{Netlink, NetlinkError};
use crate::mac::MacAddr;

/// What the driver needs to know about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mtu: u32,
    pub mac: Option<MacAddr>,
    pub up: bool,
    /// Index of the bridge this interface is attached to.
    pub master: Option<u32>,
    /// `bridge`, `veth`, ... (None for devices without a kind, like `lo` or most NICs).
    pub kind: Option<String>,
}

/// A veth pair to create: `host_name` stays in the caller's namespace, `peer_name` is
/// created directly in `peer_netns` (when given), so the container side never appears on
/// the host and needs no rename.
#[derive(Debug)]
pub struct VethRequest<'a> {
    pub host_name: &'a str,
    pub peer_name: &'a str,
    pub peer_netns: Option<BorrowedFd<'a>>,
    pub peer_mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    /// Bridge index to attach the host side to.
    pub master: Option<u32>,
    /// Bring the host side up at creation.
    pub host_up: bool,
}

fn link_message(index: u32) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.header.interface_family = AddressFamily::Unspec;
    message.header.index = index;
    message
}

impl Netlink {
    /// Looks an interface up by name; `Ok(None)` when it does not exist.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<LinkInfo>, NetlinkError> {
        let mut message = link_message(0);
        message
            .attributes
            .push(LinkAttribute::IfName(name.to_string()));
        match self.get_one(
            RouteNetlinkMessage::GetLink(message),
            &format!("look up interface {name}"),
        ) {
            Ok(RouteNetlinkMessage::NewLink(link)) => Ok(Some(link_info(&link))),
            Ok(other) => Err(NetlinkError::Protocol {
                op: format!("look up interface {name}"),
                detail: format!("{other:?}"),
            }),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The index of interface `name`, or [`NetlinkError::NoSuchLink`].
    pub fn link_index(&mut self, name: &str) -> Result<u32, NetlinkError> {
        self.link_by_name(name)?
            .map(|link| link.index)
            .ok_or_else(|| NetlinkError::NoSuchLink {
                op: format!("look up interface {name}"),
            })
    }

    /// Every interface of the namespace.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let replies = self.dump(
            RouteNetlinkMessage::GetLink(link_message(0)),
            "list interfaces",
        )?;
        Ok(replies
            .iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(link) => Some(link_info(link)),
                _ => None,
            })
            .collect())
    }

    /// Creates a bridge (fails with EEXIST if `name` is taken).
    pub fn create_bridge(
        &mut self,
        name: &str,
        mtu: Option<u32>,
        mac: Option<MacAddr>,
    ) -> Result<(), NetlinkError> {
        let mut message = link_message(0);
        message
            .attributes
            .push(LinkAttribute::IfName(name.to_string()));
        if let Some(mtu) = mtu {
            message.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = mac {
            message
                .attributes
                .push(LinkAttribute::Address(mac.octets().to_vec()));
        }
        message
            .attributes
            .push(LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.request(
            RouteNetlinkMessage::NewLink(message),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("create bridge {name}"),
        )
    }

    /// Creates a veth pair in one request (see [`VethRequest`]).
    pub fn create_veth(&mut self, request: &VethRequest<'_>) -> Result<(), NetlinkError> {
        let mut peer = link_message(0);
        peer.attributes
            .push(LinkAttribute::IfName(request.peer_name.to_string()));
        if let Some(mtu) = request.mtu {
            peer.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = request.peer_mac {
            peer.attributes
                .push(LinkAttribute::Address(mac.octets().to_vec()));
        }
        if let Some(fd) = request.peer_netns {
            peer.attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
        }

        let mut message = link_message(0);
        if request.host_up {
            message.header.flags = LinkFlags::Up;
            message.header.change_mask = LinkFlags::Up;
        }
        message
            .attributes
            .push(LinkAttribute::IfName(request.host_name.to_string()));
        if let Some(mtu) = request.mtu {
            message.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(master) = request.master {
            message.attributes.push(LinkAttribute::Controller(master));
        }
        message.attributes.push(LinkAttribute::LinkInfo(vec![
            NlLinkInfo::Kind(InfoKind::Veth),
            NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(message),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!(
                "create veth pair {} / {}",
                request.host_name, request.peer_name
            ),
        )
    }

    /// Deletes interface `name` (a veth's peer goes with it). Missing is not an error.
    pub fn delete_link(&mut self, name: &str) -> Result<bool, NetlinkError> {
        let mut message = link_message(0);
        message
            .attributes
            .push(LinkAttribute::IfName(name.to_string()));
        match self.request(
            RouteNetlinkMessage::DelLink(message),
            0,
            &format!("delete interface {name}"),
        ) {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn set_link(&mut self, message: LinkMessage, op: &str) -> Result<(), NetlinkError> {
        self.request(RouteNetlinkMessage::SetLink(message), 0, op)
    }

    /// Brings an interface up or down.
    pub fn set_up(&mut self, index: u32, up: bool) -> Result<(), NetlinkError> {
        let mut message = link_message(index);
        message.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        message.header.change_mask = LinkFlags::Up;
        self.set_link(
            message,
            &format!("set interface #{index} {}", if up { "up" } else { "down" }),
        )
    }

    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<(), NetlinkError> {
        let mut message = link_message(index);
        message.attributes.push(LinkAttribute::Mtu(mtu));
        self.set_link(message, &format!("set MTU {mtu} on interface #{index}"))
    }

    pub fn set_mac(&mut self, index: u32, mac: MacAddr) -> Result<(), NetlinkError> {
        let mut message = link_message(index);
        message
            .attributes
            .push(LinkAttribute::Address(mac.octets().to_vec()));
        self.set_link(message, &format!("set MAC {mac} on interface #{index}"))
    }

    /// Attaches an interface to a bridge (`master` = bridge index, 0 detaches).
    pub fn set_master(&mut self, index: u32, master: u32) -> Result<(), NetlinkError> {
        let mut message = link_message(index);
        message.attributes.push(LinkAttribute::Controller(master));
        self.set_link(
            message,
            &format!("attach interface #{index} to bridge #{master}"),
        )
    }

    /// Turns hairpin mode on for a bridge port: frames may leave through the port they came
    /// in by. A container reaching its own published port through a host address needs it
    /// (with `br_netfilter`, the DNATed frame is bridged back to the same port).
    pub fn set_hairpin(&mut self, index: u32, on: bool) -> Result<(), NetlinkError> {
        const IFLA_PROTINFO: u16 = 12;
        const NLA_F_NESTED: u16 = 0x8000;
        const IFLA_BRPORT_MODE: u8 = 4;
        let mut message = link_message(index);
        message.header.interface_family = AddressFamily::Bridge;
        // One nested attribute: IFLA_BRPORT_MODE (u8), padded to 4 bytes.
        let nested = vec![5, 0, IFLA_BRPORT_MODE, 0, u8::from(on), 0, 0, 0];
        message
            .attributes
            .push(LinkAttribute::ProtoInfoUnknown(DefaultNla::new(
                IFLA_PROTINFO | NLA_F_NESTED,
                nested,
            )));
        self.set_link(
            message,
            &format!("set hairpin mode on bridge port #{index}"),
        )
    }

    /// Renames an interface (it must be down).
    pub fn rename(&mut self, index: u32, name: &str) -> Result<(), NetlinkError> {
        let mut message = link_message(index);
        message
            .attributes
            .push(LinkAttribute::IfName(name.to_string()));
        self.set_link(message, &format!("rename interface #{index} to {name}"))
    }

    /// Moves an interface into the namespace open at `netns`.
    pub fn move_to_netns(&mut self, index: u32, netns: BorrowedFd<'_>) -> Result<(), NetlinkError> {
        let mut message = link_message(index);
        message
            .attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        self.set_link(
            message,
            &format!("move interface #{index} to another network namespace"),
        )
    }
}

fn link_info(link: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: link.header.index,
        name: String::new(),
        mtu: 0,
        mac: None,
        up: link.header.flags.contains(LinkFlags::Up),
        master: None,
        kind: None,
    };
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::IfName(name) => info.name = name.clone(),
            LinkAttribute::Mtu(mtu) => info.mtu = *mtu,
            LinkAttribute::Address(bytes) => info.mac = MacAddr::from_slice(bytes),
            LinkAttribute::Controller(master) => info.master = Some(*master),
            LinkAttribute::LinkInfo(infos) => {
                for item in infos {
                    if let NlLinkInfo::Kind(kind) = item {
                        info.kind = Some(kind.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    info
}
