//! The bridge driver: what the engine calls to give containers Docker-style networking.
//!
//! A network is a Linux bridge with the gateway address, an IPAM pool and firewall rules.
//! A container joins it through a veth pair: the host side is attached to the bridge, the
//! container side is created directly inside the container's namespace under its final
//! name (`eth0`, `eth1`, ...), gets the address, the MAC derived from it and, for the first
//! network, the default route via the gateway. Published ports are a reserved host socket
//! plus DNAT rules (see [`crate::firewall::rules`] for why no userland proxy is needed).
//!
//! All methods must be called from threads in the host's network namespace (any daemon
//! thread): host-side netlink, sysctls and iptables act on the caller's namespace. The
//! driver is `Sync`; concurrent connects to the same network are safe (IPAM locks).

mod connect;
mod create;
mod delete;
mod disconnect;
mod publish;
mod reconcile;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::dns::Dns;
use crate::error::NetError;
use crate::firewall::{Firewall, FirewallConfig, PortRule};
use crate::ipam::{default_pools, AddressPool, Ipam};
use crate::mac::MacAddr;
use crate::netlink::Netlink;
use crate::ports::{PortAllocator, PublishedPort, Reservation, DEFAULT_EPHEMERAL};
use crate::subnet::Subnet;

/// Driver settings (from daemon flags and daemon.json).
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Where IPAM keeps `<network-id>.json` (e.g. `/var/lib/berth/network/ipam`).
    pub ipam_dir: PathBuf,
    /// `default-address-pools`.
    pub address_pools: Vec<AddressPool>,
    pub firewall: FirewallConfig,
    /// `ip-forward`: enable `net.ipv4.ip_forward` when a non-internal network is created.
    pub ip_forward: bool,
    /// Host ports for `-p CPORT` / `-P`.
    pub ephemeral_ports: RangeInclusive<u16>,
    /// Upstream resolvers of the embedded DNS server (the host's resolv.conf nameservers).
    /// The server starts with the first container on a DNS-enabled network.
    pub dns_upstreams: Vec<SocketAddrV4>,
}

impl DriverConfig {
    /// Docker's defaults, with IPAM state under `ipam_dir`.
    pub fn new(ipam_dir: impl Into<PathBuf>) -> DriverConfig {
        DriverConfig {
            ipam_dir: ipam_dir.into(),
            address_pools: default_pools(),
            firewall: FirewallConfig::default(),
            ip_forward: true,
            ephemeral_ports: DEFAULT_EPHEMERAL,
            dns_upstreams: Vec::new(),
        }
    }
}

/// What `network create` (or the daemon, for the default bridge) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub id: String,
    pub name: String,
    /// Linux interface name of the bridge (`berth0`, `br-<id12>`).
    pub bridge: String,
    pub subnet: Option<Subnet>,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Subnet>,
    pub internal: bool,
    pub icc: bool,
    pub masquerade: bool,
    pub mtu: Option<u32>,
    /// Embedded DNS for containers of this network (user-defined networks).
    pub dns: bool,
    /// `com.docker.network.bridge.host_binding_ipv4`: default host IP of published ports.
    pub host_binding_ipv4: Option<Ipv4Addr>,
}

impl NetworkSpec {
    /// A user-defined network with Docker's defaults: bridge `br-<id12>`, icc, masquerade,
    /// embedded DNS, subnet from the pools.
    pub fn user(id: &str, name: &str) -> NetworkSpec {
        NetworkSpec {
            id: id.to_string(),
            name: name.to_string(),
            bridge: format!("br-{}", &id[..id.len().min(12)]),
            subnet: None,
            gateway: None,
            ip_range: None,
            internal: false,
            icc: true,
            masquerade: true,
            mtu: None,
            dns: true,
            host_binding_ipv4: None,
        }
    }
}

/// A created network, as the engine persists it (`networks/<id>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    pub id: String,
    pub name: String,
    pub bridge: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    pub ip_range: Option<Subnet>,
    pub internal: bool,
    pub icc: bool,
    pub masquerade: bool,
    pub mtu: Option<u32>,
    pub dns: bool,
    pub host_binding_ipv4: Option<Ipv4Addr>,
    /// The driver made the bridge (and removes it with the network).
    pub created_bridge: bool,
}

impl NetworkState {
    /// The spec that re-creates this network (with its subnet and gateway pinned).
    pub fn spec(&self) -> NetworkSpec {
        NetworkSpec {
            id: self.id.clone(),
            name: self.name.clone(),
            bridge: self.bridge.clone(),
            subnet: Some(self.subnet),
            gateway: Some(self.gateway),
            ip_range: self.ip_range,
            internal: self.internal,
            icc: self.icc,
            masquerade: self.masquerade,
            mtu: self.mtu,
            dns: self.dns,
            host_binding_ipv4: self.host_binding_ipv4,
        }
    }

    /// The tag of this network's firewall rules (its short ID).
    pub fn firewall_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    pub(crate) fn firewall_rules(&self) -> crate::firewall::NetworkRules {
        crate::firewall::NetworkRules {
            id: self.firewall_id().to_string(),
            bridge: self.bridge.clone(),
            subnet: self.subnet,
            internal: self.internal,
            icc: self.icc,
            masquerade: self.masquerade,
        }
    }
}

/// How a container joins a network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointOptions {
    /// The container ID: owner of the address in IPAM and key of its DNS sockets.
    pub container: String,
    /// Interface name inside the container (`eth0` for the first network).
    pub ifname: String,
    /// `--ip`.
    pub ip: Option<Ipv4Addr>,
    /// `--mac-address`; derived from the IP (02:42:…) when None.
    pub mac: Option<MacAddr>,
    /// Names other containers of the network resolve to this one: container name,
    /// `--network-alias`es, short ID.
    pub dns_names: Vec<String>,
    /// Install the default route via this network's gateway (the first network).
    pub default_route: bool,
}

/// A container's attachment to a network, as the engine persists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network: String,
    pub container: String,
    /// Name inside the container (`eth0`).
    pub ifname: String,
    /// Name of the host side on the bridge (`veth1a2b3c4`): also tags its port rules.
    pub host_ifname: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub mac: MacAddr,
    pub gateway: Ipv4Addr,
    pub dns_names: Vec<String>,
}

/// Ports published for one endpoint. Holds the host port reservations: keep it while the
/// container runs and give it back to [`BridgeDriver::unpublish`].
#[derive(Debug)]
pub struct PublishedPorts {
    endpoint: String,
    rules: Vec<PortRule>,
    // Proxies drop (stop) before the reservations whose sockets they serve.
    proxies: Vec<crate::ports::Proxy>,
    reservations: Vec<Reservation>,
}

impl PublishedPorts {
    /// The ports as published (`docker port`).
    pub fn ports(&self) -> Vec<PublishedPort> {
        self.reservations.iter().map(|r| r.port).collect()
    }

    /// The endpoint (host interface name) they belong to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The bridge driver of one daemon.
pub struct BridgeDriver {
    config: DriverConfig,
    host: Mutex<Netlink>,
    ipam: Ipam,
    firewall: Firewall,
    ports: PortAllocator,
    dns: Mutex<Option<std::sync::Arc<Dns>>>,
}

impl BridgeDriver {
    /// Opens IPAM, a netlink socket in the caller's (host) namespace, and sets up the base
    /// firewall chains (nothing when iptables is disabled).
    pub fn new(config: DriverConfig) -> Result<BridgeDriver, NetError> {
        let ipam = Ipam::open(&config.ipam_dir, config.address_pools.clone())?;
        let firewall = Firewall::new(config.firewall.clone())?;
        firewall.setup()?;
        let host = Netlink::open()?;
        Ok(BridgeDriver {
            ports: PortAllocator::new(config.ephemeral_ports.clone()),
            config,
            host: Mutex::new(host),
            ipam,
            firewall,
            dns: Mutex::new(None),
        })
    }

    pub fn ipam(&self) -> &Ipam {
        &self.ipam
    }

    pub fn firewall(&self) -> &Firewall {
        &self.firewall
    }

    /// Sets a container's own DNS upstreams (`--dns`) and link aliases on the embedded
    /// server (nothing to do while no container uses it).
    pub fn configure_dns(&self, container: &str, resolver: crate::dns::ContainerResolver) {
        if let Some(dns) = self.dns() {
            dns.configure(container, resolver);
        }
    }

    /// The embedded DNS server, if it has been started.
    pub fn dns(&self) -> Option<std::sync::Arc<Dns>> {
        self.dns.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn dns_or_start(&self) -> Result<std::sync::Arc<Dns>, NetError> {
        let mut slot = self.dns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dns) = slot.as_ref() {
            return Ok(dns.clone());
        }
        let dns = std::sync::Arc::new(Dns::start(self.config.dns_upstreams.clone())?);
        *slot = Some(dns.clone());
        Ok(dns)
    }

    fn host(&self) -> MutexGuard<'_, Netlink> {
        self.host.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes every firewall rule and chain of this daemon (clean stop with no container
    /// left running).
    pub fn teardown_firewall(&self) -> Result<(), NetError> {
        Ok(self.firewall.teardown()?)
    }
}

pub(crate) fn check_ifname(name: &str) -> Result<(), NetError> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidInterfaceName(name.to_string()))
    }
}
