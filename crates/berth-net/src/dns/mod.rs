//! The embedded DNS server of user-defined networks (Docker's 127.0.0.11).
//!
//! How it is built: one daemon thread serves every container. For each container that
//! joins a DNS-enabled network, a UDP socket and a TCP listener are created *inside the
//! container's network namespace* on 127.0.0.11:53 (by a short thread that enters the
//! namespace; a socket keeps the namespace it was born in) and added to the server's epoll
//! set. The sockets use random ports; an nftables rule in the container's namespace, written
//! over netlink, DNATs 127.0.0.11:53 to them (see `redirect`), so port 53 stays free for the
//! container's own programs. The container's `resolv.conf` says `nameserver 127.0.0.11`.
//!
//! Queries for names registered on the container's networks (container name, aliases,
//! short ID) are answered at once (A records; empty NOERROR for other types; PTR for their
//! addresses). Everything else is forwarded, unchanged but for the query ID, to the
//! upstream resolvers from the daemon's own namespace, so loopback resolvers of the host
//! (127.0.0.53, a test's 127.0.0.1) work too. Containers whose only networks are
//! `--internal` get no forwarding (SERVFAIL), like Docker.

pub mod message;
mod names;
mod redirect;
mod server;
mod tcp;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

pub use names::Names;
pub use server::{ContainerResolver, Dns};

/// Where the server listens inside containers.
pub const EMBEDDED_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("DNS server: {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Netns(#[from] crate::netns::NetnsError),
}

impl DnsError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> DnsError {
        DnsError::Io {
            what: what.into(),
            source,
        }
    }
}

/// The `nameserver` lines of a resolv.conf as upstream addresses (port 53). IPv6 servers
/// are skipped: the server forwards over IPv4.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddrV4> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        .filter_map(|addr| match addr.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => Some(SocketAddrV4::new(ip, 53)),
            _ => None,
        })
        .collect()
}

/// Keeps the IPv4 addresses of a list of upstream socket addresses.
pub fn ipv4_upstreams(addrs: &[SocketAddr]) -> Vec<SocketAddrV4> {
    addrs
        .iter()
        .filter_map(|addr| match addr {
            SocketAddr::V4(v4) => Some(*v4),
            SocketAddr::V6(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameservers() {
        let text = "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.0.0.2 \noptions edns0\n";
        assert_eq!(
            upstreams_from_resolv_conf(text),
            [
                "127.0.0.53:53".parse::<SocketAddrV4>().unwrap(),
                "10.0.0.2:53".parse().unwrap()
            ]
        );
    }
}
