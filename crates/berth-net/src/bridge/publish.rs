//! `publish_ports` / `unpublish`: host port reservations plus DNAT rules.

use crate::error::NetError;
use crate::firewall::PortRule;
use crate::ports::{PortMapping, PublishedPort, Reservation};

use super::{BridgeDriver, Endpoint, NetworkState, PublishedPorts};

impl BridgeDriver {
    /// Publishes `mappings` for an endpoint and returns the ports actually used (ephemeral
    /// ones chosen in the configured range). Every host port is reserved by binding it
    /// first; a port in use fails the whole call with nothing left configured.
    ///
    /// Ports of `--internal` networks are not published (as with Docker): the result is
    /// empty.
    pub fn publish_ports(
        &self,
        network: &NetworkState,
        endpoint: &Endpoint,
        mappings: &[PortMapping],
    ) -> Result<PublishedPorts, NetError> {
        let mut published = PublishedPorts {
            endpoint: endpoint.host_ifname.clone(),
            rules: Vec::new(),
            proxies: Vec::new(),
            reservations: Vec::new(),
        };
        if network.internal {
            if !mappings.is_empty() {
                tracing::info!(network = %network.name, "ports of an internal network are not published");
            }
            return Ok(published);
        }
        let mut reservations: Vec<Reservation> = Vec::with_capacity(mappings.len());
        for mapping in mappings {
            let mut mapping = mapping.clone();
            if mapping.host_ip.is_none() {
                mapping.host_ip = network.host_binding_ipv4;
            }
            // On error the reservations made so far drop here, freeing their ports.
            reservations.push(self.ports.reserve(&mapping)?);
        }
        let rules = port_rules(network, endpoint, &reservations);
        self.firewall.add_ports(&rules)?;
        published.proxies = self.proxies(endpoint, &reservations)?;
        published.rules = rules;
        published.reservations = reservations;
        Ok(published)
    }

    /// Takes back the exact ports a running container had before a daemon restart:
    /// reserves them again and adds whichever of their rules is missing.
    pub fn restore_ports(
        &self,
        network: &NetworkState,
        endpoint: &Endpoint,
        ports: &[PublishedPort],
    ) -> Result<PublishedPorts, NetError> {
        let mut reservations = Vec::with_capacity(ports.len());
        for port in ports {
            reservations.push(self.ports.reserve(&PortMapping {
                protocol: port.protocol,
                container_port: port.container_port,
                host_ip: Some(port.host_ip),
                host_ports: Some((port.host_port, port.host_port)),
            })?);
        }
        let rules = port_rules(network, endpoint, &reservations);
        self.firewall.ensure_ports(&rules)?;
        Ok(PublishedPorts {
            endpoint: endpoint.host_ifname.clone(),
            rules,
            proxies: self.proxies(endpoint, &reservations)?,
            reservations,
        })
    }

    /// Without firewall rules, ports are served by the userland forwarders (docker-proxy's
    /// role): TCP connections spliced, UDP datagrams relayed per client flow.
    fn proxies(
        &self,
        endpoint: &Endpoint,
        reservations: &[Reservation],
    ) -> Result<Vec<crate::ports::Proxy>, NetError> {
        use crate::ports::{Protocol, Proxy, TcpProxy, UdpProxy};
        if self.firewall.enabled() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for reservation in reservations {
            let target = std::net::SocketAddrV4::new(endpoint.ip, reservation.port.container_port);
            let proxy = match reservation.port.protocol {
                Protocol::Tcp => reservation
                    .tcp_listener()
                    .and_then(|listener| TcpProxy::start(listener, target))
                    .map(Proxy::Tcp),
                Protocol::Udp => reservation
                    .udp_socket()
                    .and_then(|socket| UdpProxy::start(socket, target))
                    .map(Proxy::Udp),
            }
            .map_err(|e| NetError::Io {
                what: format!(
                    "starting the proxy for host port {}/{}",
                    reservation.port.host_port, reservation.port.protocol
                ),
                source: e,
            })?;
            out.push(proxy);
        }
        Ok(out)
    }

    /// Removes the rules of published ports and frees the host ports.
    pub fn unpublish(&self, published: PublishedPorts) -> Result<(), NetError> {
        self.firewall.remove_ports(&published.rules)?;
        drop(published);
        Ok(())
    }
}

fn port_rules(
    network: &NetworkState,
    endpoint: &Endpoint,
    reservations: &[Reservation],
) -> Vec<PortRule> {
    reservations
        .iter()
        .map(|reservation| PortRule {
            endpoint: endpoint.host_ifname.clone(),
            bridge: network.bridge.clone(),
            protocol: reservation.port.protocol,
            host_ip: Some(reservation.port.host_ip),
            host_port: reservation.port.host_port,
            container_ip: endpoint.ip,
            container_port: reservation.port.container_port,
        })
        .collect()
}
