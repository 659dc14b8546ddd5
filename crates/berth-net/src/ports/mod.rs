//! Published ports: what the user asked for (`-p [IP:][HOSTPORT[-END]:]CPORT[/PROTO]`), and
//! host port reservations.
//!
//! A published port is *reserved* by keeping a socket bound on the host address and port
//! (listening, for TCP) for as long as the mapping exists. The kernel's DNAT sends traffic
//! to the container before it ever reaches that socket; the socket is there so that the
//! port shows as taken, another program (or another daemon) cannot grab it, and a port
//! already in use is detected with a clear error before any rule is written. Without
//! firewall rules (`--iptables=false`) the same socket feeds a userland proxy instead
//! ([`TcpProxy`], [`UdpProxy`]), as docker-proxy does.

mod proxy;
mod reserve;
mod udp_proxy;

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use proxy::TcpProxy;
pub use reserve::{PortAllocator, Reservation, DEFAULT_EPHEMERAL};
pub use udp_proxy::UdpProxy;

/// A userland forwarder of one published port; dropping it stops it.
#[derive(Debug)]
pub enum Proxy {
    Tcp(TcpProxy),
    Udp(UdpProxy),
}

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = PortError;

    fn from_str(s: &str) -> Result<Protocol, PortError> {
        match s.to_ascii_lowercase().as_str() {
            "" | "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            other => Err(PortError::Invalid(format!(
                "unsupported protocol {other:?} (tcp and udp are)"
            ))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("Bind for {host_ip}:{host_port} failed: port is already allocated ({source})")]
    InUse {
        protocol: Protocol,
        host_ip: Ipv4Addr,
        host_port: u16,
        source: std::io::Error,
    },
    #[error("no free host port for {protocol} in {first}-{last} on {host_ip}")]
    NoFreePort {
        protocol: Protocol,
        host_ip: Ipv4Addr,
        first: u16,
        last: u16,
    },
    #[error("invalid port mapping: {0}")]
    Invalid(String),
}

/// One port to publish: a container port and where on the host it should appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub protocol: Protocol,
    pub container_port: u16,
    /// None or 0.0.0.0: every host address.
    pub host_ip: Option<Ipv4Addr>,
    /// Inclusive host port range to choose from; `(p, p)` for one port; None for an
    /// ephemeral port.
    pub host_ports: Option<(u16, u16)>,
}

impl PortMapping {
    /// Builds a mapping from Docker's `PortBindings` fields: `"80/tcp"`, `HostIp`, `HostPort`
    /// (`""`, `"8080"` or `"8080-8090"`).
    pub fn from_binding(
        port_proto: &str,
        host_ip: &str,
        host_port: &str,
    ) -> Result<PortMapping, PortError> {
        let (port, proto) = port_proto.split_once('/').unwrap_or((port_proto, "tcp"));
        let container_port = parse_port(port)?;
        let protocol: Protocol = proto.parse()?;
        let host_ip = match host_ip.trim() {
            "" => None,
            text => Some(text.parse::<Ipv4Addr>().map_err(|_| {
                PortError::Invalid(format!("host IP {text:?} is not an IPv4 address"))
            })?),
        };
        let host_ports = match host_port.trim() {
            "" | "0" => None,
            text => match text.split_once('-') {
                Some((first, last)) => {
                    let (first, last) = (parse_port(first)?, parse_port(last)?);
                    if first > last {
                        return Err(PortError::Invalid(format!("invalid port range {text}")));
                    }
                    Some((first, last))
                }
                None => {
                    let port = parse_port(text)?;
                    Some((port, port))
                }
            },
        };
        Ok(PortMapping {
            protocol,
            container_port,
            host_ip,
            host_ports,
        })
    }
}

fn parse_port(text: &str) -> Result<u16, PortError> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(PortError::Invalid(format!("invalid port {text:?}"))),
    }
}

/// A port as published: what `docker port` and `NetworkSettings.Ports` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublishedPort {
    pub protocol: Protocol,
    pub container_port: u16,
    /// 0.0.0.0 for every host address.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
}

impl fmt::Display for PublishedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}/{}",
            self.host_ip, self.host_port, self.container_port, self.protocol
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_bindings() {
        let m = PortMapping::from_binding("80/tcp", "", "8080").unwrap();
        assert_eq!(m.host_ports, Some((8080, 8080)));
        assert_eq!(m.host_ip, None);
        let m = PortMapping::from_binding("53/udp", "127.0.0.1", "").unwrap();
        assert_eq!(m.protocol, Protocol::Udp);
        assert_eq!(m.host_ports, None);
        assert_eq!(m.host_ip, Some(Ipv4Addr::LOCALHOST));
        let m = PortMapping::from_binding("80", "0.0.0.0", "9000-9010").unwrap();
        assert_eq!(m.host_ports, Some((9000, 9010)));
        assert!(PortMapping::from_binding("80/sctp", "", "").is_err());
        assert!(PortMapping::from_binding("0/tcp", "", "").is_err());
        assert!(PortMapping::from_binding("80/tcp", "", "9010-9000").is_err());
        assert!(PortMapping::from_binding("80/tcp", "::1", "").is_err());
    }
}
