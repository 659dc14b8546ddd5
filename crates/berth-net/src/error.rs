//! The driver's error: which step failed, with the failing layer's own error inside.

use crate::dns::DnsError;
use crate::firewall::FirewallError;
use crate::ipam::IpamError;
use crate::netlink::NetlinkError;
use crate::netns::NetnsError;
use crate::ports::PortError;
use crate::sysctl::SysctlError;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Ipam(#[from] IpamError),
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Dns(#[from] DnsError),
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error("invalid interface name {0:?}: 1 to 15 characters, no '/', ':' or whitespace")]
    InvalidInterfaceName(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("bridge {bridge} of network {network} does not exist")]
    NoSuchBridge { network: String, bridge: String },
}

impl NetError {
    /// True for errors caused by the request (dockerd answers 400/403/409), not the host.
    pub fn is_invalid_request(&self) -> bool {
        match self {
            NetError::Ipam(e) => e.is_invalid_request(),
            NetError::Port(_) | NetError::InvalidInterfaceName(_) => true,
            _ => false,
        }
    }
}
