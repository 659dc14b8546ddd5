//! `connect`: a container joins a network through a veth pair.

use std::os::fd::AsFd;

use crate::error::NetError;
use crate::mac::MacAddr;
use crate::netlink::{Netlink, VethRequest};
use crate::netns::NetNs;

use super::{check_ifname, BridgeDriver, Endpoint, EndpointOptions, NetworkState};

/// `lo` has this index in every network namespace.
const LOOPBACK_INDEX: u32 = 1;

impl BridgeDriver {
    /// Attaches the container whose network namespace is `netns` to `network`:
    /// allocates the address, creates the veth pair (host side on the bridge, container
    /// side named `options.ifname` directly in the namespace), configures address, MAC,
    /// MTU, `lo`, the default route (if asked) and, on DNS networks, the container's names
    /// and its 127.0.0.11 listener. On failure nothing is left behind.
    pub fn connect(
        &self,
        network: &NetworkState,
        netns: &NetNs,
        options: &EndpointOptions,
    ) -> Result<Endpoint, NetError> {
        check_ifname(&options.ifname)?;
        let ip = self
            .ipam
            .allocate(&network.id, &options.container, options.ip)?;
        let mut undo = Undo {
            driver: self,
            network,
            ip: Some(ip),
            host_ifname: None,
            dns: None,
        };
        let mac = options.mac.unwrap_or_else(|| MacAddr::from_ipv4(ip));

        let host_ifname = {
            let mut host = self.host();
            let bridge =
                host.link_by_name(&network.bridge)?
                    .ok_or_else(|| NetError::NoSuchBridge {
                        network: network.name.clone(),
                        bridge: network.bridge.clone(),
                    })?;
            let host_ifname = create_pair(
                &mut host,
                &VethRequest {
                    host_name: "",
                    peer_name: &options.ifname,
                    peer_netns: Some(netns.as_fd()),
                    peer_mac: Some(mac),
                    mtu: network.mtu,
                    master: Some(bridge.index),
                    host_up: true,
                },
            )?;
            undo.host_ifname = Some(host_ifname.clone());
            let index = host.link_index(&host_ifname)?;
            host.set_hairpin(index, true)?;
            host_ifname
        };

        let mut inside = Netlink::open_in(netns)?;
        inside.set_up(LOOPBACK_INDEX, true)?;
        let index = inside.link_index(&options.ifname)?;
        inside.add_address(index, ip, network.subnet.prefix())?;
        inside.set_up(index, true)?;
        if options.default_route {
            inside.set_default_route(network.gateway, index)?;
        }

        if network.dns {
            let dns = self.dns_or_start()?;
            dns.register(&network.id, &options.container, &options.dns_names, ip);
            undo.dns = Some((dns.clone(), options.container.clone()));
            dns.join(&options.container, netns, &network.id, !network.internal)?;
        }

        undo.disarm();
        Ok(Endpoint {
            network: network.id.clone(),
            container: options.container.clone(),
            ifname: options.ifname.clone(),
            host_ifname,
            ip,
            prefix: network.subnet.prefix(),
            mac,
            gateway: network.gateway,
            dns_names: options.dns_names.clone(),
        })
    }
}

impl BridgeDriver {
    /// After a daemon restart, for a container that kept running: registers its names
    /// again and recreates its DNS sockets (they lived in the old daemon process). Its veth,
    /// address and routes are untouched.
    pub fn restore_endpoint(
        &self,
        network: &NetworkState,
        netns: &NetNs,
        endpoint: &Endpoint,
    ) -> Result<(), NetError> {
        if network.dns {
            let dns = self.dns_or_start()?;
            dns.register(
                &network.id,
                &endpoint.container,
                &endpoint.dns_names,
                endpoint.ip,
            );
            dns.join(&endpoint.container, netns, &network.id, !network.internal)?;
        }
        Ok(())
    }
}

/// Creates the pair under a fresh random host name (`veth` + 7 hex digits, as Docker),
/// retrying on the rare name clash. Returns the host name.
fn create_pair(host: &mut Netlink, request: &VethRequest<'_>) -> Result<String, NetError> {
    let mut attempt = 0;
    loop {
        let name = format!("veth{:07x}", rand::random::<u32>() & 0x0fff_ffff);
        let result = host.create_veth(&VethRequest {
            host_name: &name,
            peer_name: request.peer_name,
            peer_netns: request.peer_netns,
            peer_mac: request.peer_mac,
            mtu: request.mtu,
            master: request.master,
            host_up: request.host_up,
        });
        match result {
            Ok(()) => return Ok(name),
            // EEXIST is ambiguous (host name or container name); retry only if the host
            // name is the one taken.
            Err(e) if e.is_exists() && attempt < 3 && host.link_by_name(&name)?.is_some() => {
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

struct Undo<'a> {
    driver: &'a BridgeDriver,
    network: &'a NetworkState,
    ip: Option<std::net::Ipv4Addr>,
    host_ifname: Option<String>,
    /// The DNS server and the container registered on it.
    dns: Option<(std::sync::Arc<crate::dns::Dns>, String)>,
}

impl Undo<'_> {
    fn disarm(&mut self) {
        self.ip = None;
        self.host_ifname = None;
        self.dns = None;
    }
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some((dns, container)) = self.dns.take() {
            dns.unregister(&self.network.id, &container);
            dns.leave(&container, &self.network.id);
        }
        if let Some(name) = self.host_ifname.take() {
            if let Err(e) = self.driver.host().delete_link(&name) {
                tracing::warn!(interface = %name, error = %e, "rollback: deleting veth");
            }
        }
        if let Some(ip) = self.ip.take() {
            if let Err(e) = self.driver.ipam.release(&self.network.id, ip) {
                tracing::warn!(%ip, error = %e, "rollback: releasing address");
            }
        }
    }
}
