//! IPv4 routes: the default route of a container, and the host's routes for IPAM.

use std::net::Ipv4Addr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{Netlink, NetlinkError};
use crate::subnet::Subnet;

/// An IPv4 route of the main table, as far as IPAM and the driver care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub destination: Subnet,
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<u32>,
}

impl Netlink {
    /// Sets (adds or replaces) the default route via `gateway` on interface `oif`.
    pub fn set_default_route(&mut self, gateway: Ipv4Addr, oif: u32) -> Result<(), NetlinkError> {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        message.header.destination_prefix_length = 0;
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = RouteProtocol::Boot;
        message.header.scope = RouteScope::Universe;
        message.header.kind = RouteType::Unicast;
        message
            .attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        message.attributes.push(RouteAttribute::Oif(oif));
        self.request(
            RouteNetlinkMessage::NewRoute(message),
            NLM_F_CREATE | NLM_F_REPLACE,
            &format!("add default route via {gateway} on interface #{oif}"),
        )
    }

    /// Adds a route to `destination` through interface `oif` (link scope) or `gateway`.
    pub fn add_route(
        &mut self,
        destination: Subnet,
        gateway: Option<Ipv4Addr>,
        oif: u32,
    ) -> Result<(), NetlinkError> {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        message.header.destination_prefix_length = destination.prefix();
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = RouteProtocol::Boot;
        message.header.scope = if gateway.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        message.header.kind = RouteType::Unicast;
        message
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                destination.addr(),
            )));
        if let Some(gateway) = gateway {
            message
                .attributes
                .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        }
        message.attributes.push(RouteAttribute::Oif(oif));
        match self.request(
            RouteNetlinkMessage::NewRoute(message),
            NLM_F_CREATE | NLM_F_EXCL,
            &format!("add route to {destination} on interface #{oif}"),
        ) {
            Err(e) if e.is_exists() => Ok(()),
            other => other,
        }
    }

    /// IPv4 unicast routes of the main table.
    pub fn routes(&mut self) -> Result<Vec<RouteEntry>, NetlinkError> {
        let mut request = RouteMessage::default();
        request.header.address_family = AddressFamily::Inet;
        let replies = self.dump(RouteNetlinkMessage::GetRoute(request), "list routes")?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewRoute(message) = reply else {
                continue;
            };
            if message.header.table != RouteHeader::RT_TABLE_MAIN
                || message.header.kind != RouteType::Unicast
            {
                continue;
            }
            let mut destination = Ipv4Addr::UNSPECIFIED;
            let mut gateway = None;
            let mut oif = None;
            for attribute in &message.attributes {
                match attribute {
                    RouteAttribute::Destination(RouteAddress::Inet(ip)) => destination = *ip,
                    RouteAttribute::Gateway(RouteAddress::Inet(ip)) => gateway = Some(*ip),
                    RouteAttribute::Oif(index) => oif = Some(*index),
                    _ => {}
                }
            }
            out.push(RouteEntry {
                destination: Subnet::containing(
                    destination,
                    message.header.destination_prefix_length,
                ),
                gateway,
                oif,
            });
        }
        Ok(out)
    }
}
