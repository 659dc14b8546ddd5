//! The network service: the default bridge and user-defined bridge networks on
//! `berth-net`'s driver, their records (`<data-root>/networks/<id>.json`), and the
//! attachment of containers when they start.

mod attach;
mod manage;
pub(crate) mod view;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use berth_api::ApiError;
use berth_net::{BridgeDriver, NetworkState, PublishedPorts};
use serde::{Deserialize, Serialize};

pub use attach::ContainerNetworking;

/// Name of the default bridge network, as docker calls it.
pub const DEFAULT_NETWORK: &str = "bridge";

/// A network as persisted and listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub state: NetworkState,
    pub created: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub attachable: bool,
}

pub struct Networks {
    /// None when the bridge driver could not start (then only host/none work).
    pub(crate) driver: Option<BridgeDriver>,
    records: RwLock<BTreeMap<String, NetworkRecord>>,
    dir: PathBuf,
    /// Published ports of running containers, by container ID (they hold the host port
    /// reservations).
    published: Mutex<HashMap<String, Vec<PublishedPorts>>>,
    /// IDs of the predefined `host` and `none` networks (stable per daemon).
    pub(crate) host_id: String,
    pub(crate) none_id: String,
    /// The daemon's `--dns` servers (containers' resolv.conf on the default bridge, and
    /// the embedded server's upstreams).
    pub(crate) daemon_dns: Vec<String>,
}

impl Networks {
    pub(crate) fn get(&self, reference: &str) -> Result<NetworkRecord, ApiError> {
        let records = self.records.read().expect("networks poisoned");
        if let Some(r) = records.get(reference) {
            return Ok(r.clone());
        }
        if let Some(r) = records.values().find(|r| r.state.name == reference) {
            return Ok(r.clone());
        }
        let mut matches = records
            .values()
            .filter(|r| r.state.id.starts_with(reference));
        match (matches.next(), matches.next()) {
            (Some(r), None) if !reference.is_empty() => Ok(r.clone()),
            (Some(_), Some(_)) => Err(ApiError::invalid(format!(
                "network {reference} is ambiguous ({} matches found based on ID prefix)",
                records
                    .values()
                    .filter(|r| r.state.id.starts_with(reference))
                    .count()
            ))),
            _ => Err(ApiError::not_found(format!(
                "network {reference} not found"
            ))),
        }
    }

    pub(crate) fn all(&self) -> Vec<NetworkRecord> {
        self.records
            .read()
            .expect("networks poisoned")
            .values()
            .cloned()
            .collect()
    }

    fn insert(&self, record: NetworkRecord) -> Result<(), ApiError> {
        save(&self.dir, &record)?;
        self.records
            .write()
            .expect("networks poisoned")
            .insert(record.state.id.clone(), record);
        Ok(())
    }

    fn remove_record(&self, id: &str) {
        let _ = std::fs::remove_file(self.dir.join(format!("{id}.json")));
        self.records.write().expect("networks poisoned").remove(id);
    }

    pub(crate) fn driver(&self) -> Result<&BridgeDriver, ApiError> {
        self.driver
            .as_ref()
            .ok_or_else(|| ApiError::system("bridge networking is not available on this daemon"))
    }
}

fn save(dir: &Path, record: &NetworkRecord) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| ApiError::system(e.to_string()))?;
    crate::atomic::write_file(&dir.join(format!("{}.json", record.state.id)), &bytes)
        .map_err(|e| ApiError::system(format!("saving network {}: {e}", record.state.name)))
}

/// A stable pseudo ID for a predefined network, derived from the daemon ID.
fn predefined_id(daemon_id: &str, name: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        format!("{daemon_id}/{name}").as_bytes(),
    ))
}

/// Settings of the network service, from daemon flags and daemon.json.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// `--bridge`: interface of the default network; `none` disables it.
    pub bridge: String,
    /// `--bip`: gateway address and prefix of the default bridge (`10.1.0.1/16`).
    pub bip: Option<String>,
    /// `--fixed-cidr`.
    pub fixed_cidr: Option<String>,
    pub mtu: Option<u32>,
    pub iptables: bool,
    pub ip_forward: bool,
    pub icc: bool,
    /// Prefix of the firewall chains (`BERTH`), so several daemons can coexist.
    pub firewall_prefix: String,
    /// `--dns` / daemon.json `dns`: default nameservers of containers.
    pub dns: Vec<String>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            bridge: "berth0".into(),
            bip: None,
            fixed_cidr: None,
            mtu: None,
            iptables: true,
            ip_forward: true,
            icc: true,
            firewall_prefix: "BERTH".into(),
            dns: Vec::new(),
        }
    }
}

/// Opens the driver, restores saved networks and creates the default bridge.
pub(crate) fn open(
    data_root: &Path,
    daemon_id: &str,
    config: &NetworkConfig,
    pools: &[(String, u32)],
) -> Networks {
    let dir = data_root.join("networks");
    let _ = std::fs::create_dir_all(&dir);
    let mut driver_config = berth_net::DriverConfig::new(data_root.join("networks").join("ipam"));
    driver_config.firewall.enabled = config.iptables;
    driver_config.firewall.prefix = config.firewall_prefix.clone();
    driver_config.ip_forward = config.ip_forward;
    // As dockerd: the daemon's `--dns` servers replace the host's as upstreams.
    let daemon_upstreams = dns_upstreams(&config.dns);
    driver_config.dns_upstreams = if daemon_upstreams.is_empty() {
        host_resolvers()
    } else {
        daemon_upstreams
    };
    let custom_pools: Vec<berth_net::ipam::AddressPool> = pools
        .iter()
        .filter_map(|(base, size)| {
            Some(berth_net::ipam::AddressPool {
                base: base.parse().ok()?,
                size: *size as u8,
            })
        })
        .collect();
    if !custom_pools.is_empty() {
        driver_config.address_pools = custom_pools;
    }
    let driver = match BridgeDriver::new(driver_config) {
        Ok(driver) => Some(driver),
        Err(e) => {
            tracing::warn!("bridge networking disabled: {e}");
            None
        }
    };
    let networks = Networks {
        driver,
        records: RwLock::new(BTreeMap::new()),
        dir: dir.clone(),
        published: Mutex::new(HashMap::new()),
        host_id: predefined_id(daemon_id, "host"),
        none_id: predefined_id(daemon_id, "none"),
        daemon_dns: config.dns.clone(),
    };
    let Some(driver) = networks.driver.as_ref() else {
        return networks;
    };
    // Saved networks come back with their subnets; the default one is re-made from the
    // current flags.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(record) = serde_json::from_slice::<NetworkRecord>(&bytes) else {
                continue;
            };
            if record.state.name == DEFAULT_NETWORK {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            match driver.restore_network(&record.state) {
                Ok(state) => {
                    let _ = networks.insert(NetworkRecord { state, ..record });
                }
                Err(e) => tracing::warn!("restoring network {}: {e}", record.state.name),
            }
        }
    }
    if config.bridge != "none" {
        if let Err(e) = networks.create_default(daemon_id, config) {
            tracing::warn!("default bridge network not available: {}", e.message);
        }
    }
    networks
}

/// `--dns` addresses as upstreams of the embedded server (IPv4 only: it forwards over
/// IPv4).
pub(crate) fn dns_upstreams(servers: &[String]) -> Vec<std::net::SocketAddrV4> {
    servers
        .iter()
        .filter_map(|s| s.parse::<std::net::Ipv4Addr>().ok())
        .map(|ip| std::net::SocketAddrV4::new(ip, 53))
        .collect()
}

/// The host's nameservers for the embedded DNS server to forward to (loopback ones
/// included: the forwarder runs in the daemon, on the host).
fn host_resolvers() -> Vec<std::net::SocketAddrV4> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next()?.parse::<std::net::Ipv4Addr>().ok())
                .flatten()
        })
        .map(|ip| std::net::SocketAddrV4::new(ip, 53))
        .collect()
}
