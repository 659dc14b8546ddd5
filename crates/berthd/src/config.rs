//! The daemon configuration: flags merged with `daemon.json`, validated the way dockerd
//! validates it (unknown keys and keys set in both places are refused at start).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::parser::ValueSource;
use clap::ArgMatches;
use serde_json::Value;

use crate::flags::{Flags, DEFAULT_SOCKET};

/// `daemon.json` keys dockerd understands. Keys whose services are not built yet are still
/// accepted and kept, so a dockerd configuration file can be reused unchanged.
const KNOWN_KEYS: &[&str] = &[
    "allow-nondistributable-artifacts",
    "api-cors-header",
    "authorization-plugins",
    "bip",
    "bip6",
    "bridge",
    "builder",
    "cdi-spec-dirs",
    "cgroup-parent",
    "containerd",
    "containerd-namespace",
    "containerd-plugins-namespace",
    "cpu-rt-period",
    "cpu-rt-runtime",
    "cri-containerd",
    "data-root",
    "debug",
    "default-address-pools",
    "default-cgroupns-mode",
    "default-gateway",
    "default-gateway-v6",
    "default-ipc-mode",
    "default-network-opts",
    "default-runtime",
    "default-shm-size",
    "default-ulimits",
    "dns",
    "dns-opts",
    "dns-search",
    "exec-opts",
    "exec-root",
    "experimental",
    "features",
    "fixed-cidr",
    "fixed-cidr-v6",
    "group",
    "host-gateway-ip",
    "hosts",
    "icc",
    "init",
    "init-path",
    "insecure-registries",
    "ip",
    "ip-forward",
    "ip-masq",
    "ip6tables",
    "iptables",
    "ipv6",
    "labels",
    "live-restore",
    "log-driver",
    "log-format",
    "log-level",
    "log-opts",
    "max-concurrent-downloads",
    "max-concurrent-uploads",
    "max-download-attempts",
    "metrics-addr",
    "mtu",
    "no-new-privileges",
    "node-generic-resources",
    "oom-score-adjust",
    "pidfile",
    "proxies",
    "raw-logs",
    "registry-certs-dir",
    "registry-mirrors",
    "runtimes",
    "seccomp-profile",
    "selinux-enabled",
    "shutdown-timeout",
    "storage-driver",
    "storage-opts",
    "swarm-default-advertise-addr",
    "tls",
    "tlscacert",
    "tlscert",
    "tlskey",
    "tlsverify",
    "userland-proxy",
    "userland-proxy-path",
    "userns-remap",
];

/// Flags that have a `daemon.json` twin: (clap argument id, file key).
const FLAG_KEYS: &[(&str, &str)] = &[
    ("hosts", "hosts"),
    ("data_root", "data-root"),
    ("exec_root", "exec-root"),
    ("pidfile", "pidfile"),
    ("debug", "debug"),
    ("log_level", "log-level"),
    ("tls", "tls"),
    ("tlsverify", "tlsverify"),
    ("tlscacert", "tlscacert"),
    ("tlscert", "tlscert"),
    ("tlskey", "tlskey"),
    ("group", "group"),
    ("labels", "labels"),
    ("dns", "dns"),
    ("live_restore", "live-restore"),
    ("iptables", "iptables"),
    ("registry_mirrors", "registry-mirrors"),
    ("insecure_registries", "insecure-registries"),
    ("registry_certs_dir", "registry-certs-dir"),
    ("log_driver", "log-driver"),
    ("bridge", "bridge"),
    ("bip", "bip"),
    ("fixed_cidr", "fixed-cidr"),
    ("mtu", "mtu"),
    ("icc", "icc"),
    ("ip_forward", "ip-forward"),
];

/// TLS settings for TCP listeners.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Set with `--tlsverify`: clients must present a certificate signed by this CA.
    pub client_ca: Option<PathBuf>,
}

/// The merged configuration the daemon runs with.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub hosts: Vec<String>,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub config_file: PathBuf,
    pub debug: bool,
    pub log_level: String,
    pub tls: Option<TlsSettings>,
    pub group: String,
    /// Whether the group was asked for explicitly (a missing default group is no error).
    pub group_explicit: bool,
    pub labels: Vec<String>,
    pub live_restore: bool,
    pub iptables: bool,
    pub registry_mirrors: Vec<String>,
    pub insecure_registries: Vec<String>,
    pub registry_certs_dir: PathBuf,
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
    pub network: berth_engine::networks::NetworkConfig,
    pub default_address_pools: Vec<(String, u32)>,
}

impl DaemonConfig {
    /// Merges flags with the configuration file. `matches` tells which flags were given.
    pub fn load(flags: Flags, matches: &ArgMatches) -> anyhow::Result<DaemonConfig> {
        let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        let file_explicit = given("config_file");
        let file = read_config_file(&flags.config_file, file_explicit)?;
        check_file_against_flags(&flags.config_file, &file, matches)?;

        let string = |key: &str| file.get(key).and_then(Value::as_str).map(str::to_string);
        let boolean = |key: &str| file.get(key).and_then(Value::as_bool);
        let file_name = flags.config_file.display().to_string();
        let list = |key: &str| -> anyhow::Result<Option<Vec<String>>> {
            match file.get(key) {
                None => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).with_context(|| {
                            format!("{key} in {file_name} must be a list of strings")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
                    .map(Some),
                Some(_) => bail!("{key} in {file_name} must be a list of strings"),
            }
        };

        let mut hosts = list("hosts")?.unwrap_or(flags.hosts);
        if hosts.is_empty() {
            hosts.push(DEFAULT_SOCKET.to_string());
        }
        let debug = boolean("debug").unwrap_or(flags.debug);
        let tlsverify = boolean("tlsverify").unwrap_or(flags.tlsverify);
        let tls_on = tlsverify || boolean("tls").unwrap_or(flags.tls);
        let path = |key: &str, flag: Option<PathBuf>, default_name: &str| {
            string(key)
                .map(PathBuf::from)
                .or(flag)
                .unwrap_or_else(|| default_cert_dir().join(default_name))
        };
        let tls = tls_on.then(|| TlsSettings {
            cert: path("tlscert", flags.tlscert.clone(), "cert.pem"),
            key: path("tlskey", flags.tlskey.clone(), "key.pem"),
            client_ca: tlsverify.then(|| path("tlscacert", flags.tlscacert.clone(), "ca.pem")),
        });
        let log_level = string("log-level").unwrap_or(flags.log_level);
        validate_log_level(&log_level)?;

        Ok(DaemonConfig {
            hosts,
            data_root: string("data-root")
                .map(PathBuf::from)
                .unwrap_or(flags.data_root),
            exec_root: string("exec-root")
                .map(PathBuf::from)
                .unwrap_or(flags.exec_root),
            pidfile: string("pidfile")
                .map(PathBuf::from)
                .unwrap_or(flags.pidfile),
            config_file: flags.config_file,
            debug,
            log_level: if debug { "debug".into() } else { log_level },
            tls,
            group_explicit: given("group") || file.contains_key("group"),
            group: string("group").unwrap_or(flags.group),
            labels: list("labels")?.unwrap_or(flags.labels),
            live_restore: boolean("live-restore").unwrap_or(flags.live_restore),
            iptables: boolean("iptables").unwrap_or(flags.iptables),
            registry_mirrors: list("registry-mirrors")?.unwrap_or(flags.registry_mirrors),
            insecure_registries: list("insecure-registries")?.unwrap_or(flags.insecure_registries),
            registry_certs_dir: string("registry-certs-dir")
                .map(PathBuf::from)
                .unwrap_or(flags.registry_certs_dir),
            log_driver: string("log-driver").unwrap_or(flags.log_driver),
            log_opts: string_map(file.get("log-opts"), "log-opts")?,
            network: berth_engine::networks::NetworkConfig {
                bridge: string("bridge").unwrap_or(flags.bridge),
                bip: string("bip").or(flags.bip),
                fixed_cidr: string("fixed-cidr").or(flags.fixed_cidr),
                mtu: file
                    .get("mtu")
                    .and_then(Value::as_u64)
                    .map(|m| m as u32)
                    .or(flags.mtu),
                iptables: boolean("iptables").unwrap_or(flags.iptables),
                ip_forward: boolean("ip-forward").unwrap_or(flags.ip_forward),
                icc: boolean("icc").unwrap_or(flags.icc),
                firewall_prefix: flags.firewall_prefix,
                dns: validate_dns(list("dns")?.unwrap_or(flags.dns))?,
            },
            default_address_pools: parse_address_pools(file.get("default-address-pools"))?,
        })
    }

    /// Re-reads what SIGHUP reloads: debug, labels and log level (flags still apply where
    /// the file is silent).
    pub fn reload(&self) -> anyhow::Result<(bool, Vec<String>, String)> {
        let file = read_config_file(&self.config_file, false)?;
        let debug = file
            .get("debug")
            .and_then(Value::as_bool)
            .unwrap_or(self.debug);
        let labels = match file.get("labels") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => self.labels.clone(),
        };
        let level = file
            .get("log-level")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| self.log_level.clone());
        validate_log_level(&level)?;
        Ok((debug, labels, if debug { "debug".into() } else { level }))
    }
}

/// A `{"key": "value"}` object of strings, such as `log-opts`.
fn string_map(value: Option<&Value>, key: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let object = value
        .as_object()
        .with_context(|| format!("{key} must be an object of strings"))?;
    object
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => bail!("{key}.{k} must be a string"),
        })
        .collect()
}

fn default_cert_dir() -> PathBuf {
    std::env::var_os("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".docker")
        })
}

fn validate_log_level(level: &str) -> anyhow::Result<()> {
    match level {
        "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "panic" => Ok(()),
        other => bail!("unable to parse logging level: {other}"),
    }
}

/// Reads the file; a missing default file means "no settings", a missing file the user
/// named is an error.
fn read_config_file(path: &Path, explicit: bool) -> anyhow::Result<BTreeMap<String, Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(BTreeMap::new())
        }
        Err(e) => bail!(
            "unable to configure the Berth daemon with file {}: {e}",
            path.display()
        ),
    };
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "unable to configure the Berth daemon with file {}: {e}",
            path.display()
        )
    })?;
    let Value::Object(map) = value else {
        bail!(
            "unable to configure the Berth daemon with file {}: the configuration must be a JSON object",
            path.display()
        );
    };
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN_KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "unable to configure the Berth daemon with file {}: the following directives don't match any configuration option: {}",
            path.display(),
            unknown.join(", ")
        );
    }
    Ok(map.into_iter().collect())
}

/// dockerd refuses a setting given both as a flag and in the file, naming both values.
/// `--dns` / `dns` entries must be IP addresses (dockerd's check).
fn validate_dns(servers: Vec<String>) -> anyhow::Result<Vec<String>> {
    for server in &servers {
        if server.parse::<std::net::IpAddr>().is_err() {
            bail!("{server} is not an ip address");
        }
    }
    Ok(servers)
}

fn check_file_against_flags(
    path: &Path,
    file: &BTreeMap<String, Value>,
    matches: &ArgMatches,
) -> anyhow::Result<()> {
    let mut conflicts = Vec::new();
    for (id, key) in FLAG_KEYS {
        if matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        if let Some(from_file) = file.get(*key) {
            let from_flag = flag_text(matches, id);
            let from_file = match from_file {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            conflicts.push(format!(
                "{key}: (from flag: {from_flag}, from file: {from_file})"
            ));
        }
    }
    if !conflicts.is_empty() {
        bail!(
            "unable to configure the Berth daemon with file {}: the following directives are specified both as a flag and in the configuration file: {}",
            path.display(),
            conflicts.join(", ")
        );
    }
    Ok(())
}

fn flag_text(matches: &ArgMatches, id: &str) -> String {
    if let Ok(Some(values)) = matches.try_get_raw(id) {
        let values: Vec<String> = values.map(|v| v.to_string_lossy().into_owned()).collect();
        if values.is_empty() {
            return "true".into();
        }
        if values.len() == 1 {
            return values[0].clone();
        }
        return format!("[{}]", values.join(" "));
    }
    "true".into()
}

fn parse_address_pools(value: Option<&Value>) -> anyhow::Result<Vec<(String, u32)>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .context("default-address-pools must be a list of {\"base\": CIDR, \"size\": N}")?;
    items
        .iter()
        .map(|item| {
            let base = item.get("base").and_then(Value::as_str);
            let size = item.get("size").and_then(Value::as_u64);
            match (base, size) {
                (Some(b), Some(s)) if s <= 32 => Ok((b.to_string(), s as u32)),
                _ => bail!("invalid default-address-pools entry {item}: needs \"base\" (CIDR) and \"size\" (prefix length)"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    fn load(args: &[&str], file: &str) -> anyhow::Result<DaemonConfig> {
        let dir = std::env::temp_dir().join(format!(
            "berthd-config-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("daemon.json");
        std::fs::write(&path, file).unwrap();
        let mut argv = vec!["berthd", "--config-file", path.to_str().unwrap()];
        argv.extend_from_slice(args);
        let matches = Flags::command().get_matches_from(argv);
        let flags = Flags::from_arg_matches(&matches).unwrap();
        let result = DaemonConfig::load(flags, &matches);
        std::fs::remove_dir_all(&dir).unwrap();
        result
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = load(&[], r#"{"debug": true, "bogus": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("don't match any configuration option: bogus"),
            "{err}"
        );
    }

    #[test]
    fn flag_and_file_conflict() {
        let err = load(&["--debug"], r#"{"debug": false}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("specified both as a flag and in the configuration file: debug: (from flag: true, from file: false)"),
            "{err}"
        );
    }

    #[test]
    fn file_values_apply() {
        let config = load(
            &["--data-root", "/tmp/x"],
            r#"{"labels": ["a=b"], "hosts": ["unix:///tmp/s.sock"], "registry-mirrors": ["http://127.0.0.1:5000"]}"#,
        )
        .unwrap();
        assert_eq!(config.labels, vec!["a=b"]);
        assert_eq!(config.hosts, vec!["unix:///tmp/s.sock"]);
        assert_eq!(config.data_root, PathBuf::from("/tmp/x"));
        assert_eq!(config.registry_mirrors.len(), 1);
    }

    #[test]
    fn bad_json_names_the_file() {
        let err = load(&[], "{nope").unwrap_err().to_string();
        assert!(err.contains("daemon.json"), "{err}");
    }
}
