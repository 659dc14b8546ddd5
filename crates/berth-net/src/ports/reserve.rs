//! Host port reservations: a bound socket held per published port, and the choice of
//! ephemeral ports.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::ops::RangeInclusive;
use std::os::fd::OwnedFd;
use std::sync::Mutex;

use super::{PortError, PortMapping, Protocol, PublishedPort};

/// Docker's ephemeral range for `-p CPORT` and `-P` (the kernel's default local range).
pub const DEFAULT_EPHEMERAL: RangeInclusive<u16> = 32768..=60999;

/// A reserved host port. Dropping it frees the port.
#[derive(Debug)]
pub struct Reservation {
    pub port: PublishedPort,
    /// The bound socket; closing it frees the port.
    socket: OwnedFd,
}

impl Reservation {
    /// A copy of the listening socket of a TCP reservation (for the userland proxy).
    pub fn tcp_listener(&self) -> std::io::Result<TcpListener> {
        if self.port.protocol != Protocol::Tcp {
            return Err(std::io::ErrorKind::InvalidInput.into());
        }
        Ok(TcpListener::from(self.socket.try_clone()?))
    }

    /// A copy of the bound socket of a UDP reservation (for the userland forwarder).
    pub fn udp_socket(&self) -> std::io::Result<UdpSocket> {
        if self.port.protocol != Protocol::Udp {
            return Err(std::io::ErrorKind::InvalidInput.into());
        }
        Ok(UdpSocket::from(self.socket.try_clone()?))
    }
}

fn bind(protocol: Protocol, ip: Ipv4Addr, port: u16) -> std::io::Result<OwnedFd> {
    let addr = SocketAddrV4::new(ip, port);
    Ok(match protocol {
        // std sets SO_REUSEADDR (a port in TIME_WAIT is not "in use") and listens, so
        // nobody else can bind the port while the mapping lives.
        Protocol::Tcp => TcpListener::bind(addr)?.into(),
        Protocol::Udp => UdpSocket::bind(addr)?.into(),
    })
}

/// Chooses and reserves host ports. One per daemon: its cursor spreads ephemeral ports
/// so that parallel starts do not all race for the same first free port.
#[derive(Debug)]
pub struct PortAllocator {
    ephemeral: RangeInclusive<u16>,
    next: Mutex<u16>,
}

impl Default for PortAllocator {
    fn default() -> PortAllocator {
        PortAllocator::new(DEFAULT_EPHEMERAL)
    }
}

impl PortAllocator {
    pub fn new(ephemeral: RangeInclusive<u16>) -> PortAllocator {
        let start = *ephemeral.start();
        PortAllocator {
            ephemeral,
            next: Mutex::new(start),
        }
    }

    /// Reserves the host side of `mapping`: the exact port, the first free one of its
    /// range, or an ephemeral one. The port is checked by binding it.
    pub fn reserve(&self, mapping: &PortMapping) -> Result<Reservation, PortError> {
        let ip = mapping.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let protocol = mapping.protocol;
        let make = |host_port: u16, socket: OwnedFd| Reservation {
            port: PublishedPort {
                protocol,
                container_port: mapping.container_port,
                host_ip: ip,
                host_port,
            },
            socket,
        };
        match mapping.host_ports {
            Some((first, last)) if first == last => bind(protocol, ip, first)
                .map(|socket| make(first, socket))
                .map_err(|source| PortError::InUse {
                    protocol,
                    host_ip: ip,
                    host_port: first,
                    source,
                }),
            Some((first, last)) => (first..=last)
                .find_map(|port| bind(protocol, ip, port).ok().map(|s| make(port, s)))
                .ok_or(PortError::NoFreePort {
                    protocol,
                    host_ip: ip,
                    first,
                    last,
                }),
            None => {
                let (first, last) = (*self.ephemeral.start(), *self.ephemeral.end());
                let span = u32::from(last - first) + 1;
                for _ in 0..span {
                    let port = {
                        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
                        let port = *next;
                        *next = if port >= last { first } else { port + 1 };
                        port
                    };
                    if let Ok(socket) = bind(protocol, ip, port) {
                        return Ok(make(port, socket));
                    }
                }
                Err(PortError::NoFreePort {
                    protocol,
                    host_ip: ip,
                    first,
                    last,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_port_conflict_and_ephemeral_choice() {
        let allocator = PortAllocator::new(45000..=45100);
        let first = allocator
            .reserve(&PortMapping {
                protocol: Protocol::Tcp,
                container_port: 80,
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_ports: None,
            })
            .unwrap();
        assert!((45000..=45100).contains(&first.port.host_port));
        let clash = allocator.reserve(&PortMapping {
            protocol: Protocol::Tcp,
            container_port: 80,
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_ports: Some((first.port.host_port, first.port.host_port)),
        });
        assert!(matches!(clash, Err(PortError::InUse { .. })), "{clash:?}");
        let second = allocator
            .reserve(&PortMapping {
                protocol: Protocol::Tcp,
                container_port: 81,
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_ports: None,
            })
            .unwrap();
        assert_ne!(first.port.host_port, second.port.host_port);
        let port = first.port.host_port;
        drop(first);
        // Freed: binding it again works.
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
