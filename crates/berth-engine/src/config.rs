//! The engine's view of the daemon configuration (flags and `daemon.json` merged by
//! `berthd`). Keys owned by later services are carried here already so that `/info`
//! reports them and they survive a reload.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub debug: bool,
    pub log_level: String,
    pub labels: Vec<String>,
    pub registry_mirrors: Vec<String>,
    pub insecure_registries: Vec<String>,
    /// `<dir>/<host:port>/ca.crt` (+ `client.cert`/`client.key`) per registry.
    pub registry_certs_dir: PathBuf,
    pub live_restore: bool,
    pub iptables: bool,
    pub log_driver: String,
    /// `log-opts` of daemon.json: defaults for containers without their own.
    pub log_opts: std::collections::BTreeMap<String, String>,
    /// `default-address-pools` as (base CIDR, size) pairs.
    pub default_address_pools: Vec<(String, u32)>,
    /// The per-container supervisor and the `--init` binary (next to berthd by default).
    pub shim_binary: PathBuf,
    pub init_binary: PathBuf,
    pub network: crate::networks::NetworkConfig,
}

/// A binary installed next to the running executable (`target/debug/berth-shim`).
fn sibling_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

impl EngineConfig {
    pub fn new(data_root: PathBuf, exec_root: PathBuf) -> Self {
        EngineConfig {
            data_root,
            exec_root,
            debug: false,
            log_level: "info".into(),
            labels: Vec::new(),
            registry_mirrors: Vec::new(),
            insecure_registries: Vec::new(),
            registry_certs_dir: PathBuf::from("/etc/berth/certs.d"),
            live_restore: false,
            iptables: true,
            log_driver: "json-file".into(),
            log_opts: Default::default(),
            default_address_pools: Vec::new(),
            shim_binary: sibling_binary("berth-shim"),
            init_binary: sibling_binary("berth-init"),
            network: Default::default(),
        }
    }
}

/// The subset of settings that `SIGHUP` re-reads, as dockerd.
#[derive(Debug, Clone)]
pub struct Reloadable {
    pub debug: bool,
    pub labels: Vec<String>,
    pub log_level: String,
}
