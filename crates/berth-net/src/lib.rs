#![doc = include_str!("../README.md")]

mod atomic;
pub mod bridge;
pub mod dns;
mod error;
pub mod firewall;
pub mod ipam;
pub mod mac;
pub mod netlink;
pub mod netns;
pub mod ports;
pub mod subnet;
pub mod sysctl;

pub use bridge::{
    BridgeDriver, DriverConfig, Endpoint, EndpointOptions, NetworkSpec, NetworkState,
    PublishedPorts,
};
pub use error::NetError;
pub use mac::MacAddr;
pub use netns::NetNs;
pub use subnet::Subnet;
