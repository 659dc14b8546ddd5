//! Interface addresses (IPv4).

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{Netlink, NetlinkError};
use crate::subnet::Subnet;

/// An IPv4 address configured on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceAddress {
    pub index: u32,
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl InterfaceAddress {
    /// The network the address lives in (`192.0.2.2/24` → `192.0.2.0/24`).
    pub fn subnet(&self) -> Subnet {
        Subnet::containing(self.addr, self.prefix)
    }
}

fn address_message(index: u32, addr: Ipv4Addr, prefix: u8) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet;
    message.header.prefix_len = prefix;
    message.header.scope = AddressScope::Universe;
    message.header.index = index;
    message
        .attributes
        .push(AddressAttribute::Local(IpAddr::V4(addr)));
    message
        .attributes
        .push(AddressAttribute::Address(IpAddr::V4(addr)));
    message
}

impl Netlink {
    /// Adds `addr/prefix` to interface `index` with the subnet's broadcast address.
    /// An address that is already there is not an error.
    pub fn add_address(
        &mut self,
        index: u32,
        addr: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), NetlinkError> {
        let mut message = address_message(index, addr, prefix);
        if prefix < 31 {
            let broadcast = Subnet::containing(addr, prefix).broadcast();
            message
                .attributes
                .push(AddressAttribute::Broadcast(broadcast));
        }
        match self.request(
            RouteNetlinkMessage::NewAddress(message),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add address {addr}/{prefix} to interface #{index}"),
        ) {
            Err(e) if e.is_exists() => Ok(()),
            other => other,
        }
    }

    /// Removes `addr/prefix` from interface `index`; a missing address is not an error.
    pub fn delete_address(
        &mut self,
        index: u32,
        addr: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), NetlinkError> {
        match self.request(
            RouteNetlinkMessage::DelAddress(address_message(index, addr, prefix)),
            0,
            &format!("delete address {addr}/{prefix} from interface #{index}"),
        ) {
            Err(e) if e.is_not_found() || e.errno() == Some(libc::EADDRNOTAVAIL) => Ok(()),
            other => other,
        }
    }

    /// Every IPv4 address of the namespace (of interface `index` only, when given).
    pub fn addresses(&mut self, index: Option<u32>) -> Result<Vec<InterfaceAddress>, NetlinkError> {
        let mut request = AddressMessage::default();
        request.header.family = AddressFamily::Inet;
        let replies = self.dump(RouteNetlinkMessage::GetAddress(request), "list addresses")?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewAddress(message) = reply else {
                continue;
            };
            if index.is_some_and(|wanted| wanted != message.header.index) {
                continue;
            }
            let local = message
                .attributes
                .iter()
                .find_map(|attribute| match attribute {
                    AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
                    _ => None,
                });
            let address = message
                .attributes
                .iter()
                .find_map(|attribute| match attribute {
                    AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
                    _ => None,
                });
            if let Some(addr) = local.or(address) {
                out.push(InterfaceAddress {
                    index: message.header.index,
                    addr,
                    prefix: message.header.prefix_len,
                });
            }
        }
        Ok(out)
    }
}
