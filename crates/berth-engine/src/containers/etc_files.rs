//! `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` of a container, written in its
//! folder and bind-mounted over the image's files.

use std::path::{Path, PathBuf};

use berth_api::ApiError;

use super::record::Record;

pub struct EtcFiles {
    pub hosts: PathBuf,
    pub hostname: PathBuf,
    pub resolv_conf: PathBuf,
}

pub fn paths(container_dir: &Path) -> EtcFiles {
    EtcFiles {
        hosts: container_dir.join("hosts"),
        hostname: container_dir.join("hostname"),
        resolv_conf: container_dir.join("resolv.conf"),
    }
}

/// Adds `IP hostname` lines for the container's own addresses once its networks are
/// joined; the file is rewritten in place so the bind mount inside sees it.
pub fn add_own_addresses(
    container_dir: &Path,
    record: &Record,
    networks: &[crate::networks::ContainerNetworking],
) {
    if networks.is_empty() {
        return;
    }
    let path = paths(container_dir).hosts;
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut names = record.config.hostname.clone();
    if !record.config.domainname.is_empty() {
        names = format!("{names}.{} {names}", record.config.domainname);
    }
    for attached in networks {
        text.push_str(&format!("{}\t{names}\n", attached.endpoint.ip));
    }
    if let Err(e) = std::fs::write(&path, text) {
        tracing::warn!("writing {}: {e}", path.display());
    }
}

/// What the files say besides the record.
pub struct Inputs<'a> {
    /// The container's network runs the embedded DNS server, so resolv.conf points at
    /// 127.0.0.11 (which forwards other names).
    pub embedded_dns: bool,
    /// Legacy links: (address, names) lines for `/etc/hosts`.
    pub link_hosts: &'a [(String, String)],
    /// The daemon's `--dns`: nameservers for containers without their own.
    pub daemon_dns: &'a [String],
}

/// Writes the files.
pub fn write(
    container_dir: &Path,
    record: &Record,
    inputs: &Inputs<'_>,
) -> Result<EtcFiles, ApiError> {
    let embedded_dns = inputs.embedded_dns;
    let files = paths(container_dir);
    let host_network = record.host_config.network_mode == "host";
    let hostname = if host_network {
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        record.config.hostname.clone()
    };
    let write = |path: &Path, text: String| {
        std::fs::write(path, text)
            .map_err(|e| ApiError::system(format!("writing {}: {e}", path.display())))
    };
    write(&files.hostname, format!("{hostname}\n"))?;
    let hosts = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        hosts_file(record, inputs.link_hosts)
    };
    write(&files.hosts, hosts)?;
    let resolv = if embedded_dns {
        embedded_resolv_conf(record)
    } else {
        resolv_conf(record, host_network, inputs.daemon_dns)
    };
    write(&files.resolv_conf, resolv)?;
    Ok(files)
}

/// resolv.conf of a container using the embedded DNS server (its `--dns` servers become
/// the server's upstreams for it).
fn embedded_resolv_conf(record: &Record) -> String {
    let options = record.host_config.dns_options.clone().unwrap_or_default();
    let mut text = String::from("nameserver 127.0.0.11\n");
    let search = record.host_config.dns_search.clone().unwrap_or_default();
    if !search.is_empty() {
        text = format!("search {}\n{text}", search.join(" "));
    }
    text.push_str(&format!(
        "options ndots:0{}\n",
        options.iter().map(|o| format!(" {o}")).collect::<String>()
    ));
    text
}

/// Points a running container's resolv.conf at the embedded DNS server (it joined a
/// user-defined network); written in place so the bind mount inside sees it.
pub fn switch_to_embedded_dns(container_dir: &Path, record: &Record) {
    let path = paths(container_dir).resolv_conf;
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["nameserver", "127.0.0.11"])
    {
        return;
    }
    if let Err(e) = std::fs::write(&path, embedded_resolv_conf(record)) {
        tracing::warn!("writing {}: {e}", path.display());
    }
}

fn hosts_file(record: &Record, link_hosts: &[(String, String)]) -> String {
    let mut text = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for entry in record.host_config.extra_hosts.clone().unwrap_or_default() {
        // `name:ip` (docker also accepts `name=ip`).
        if let Some((name, ip)) = entry.split_once(['=', ':']) {
            text.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    for (ip, names) in link_hosts {
        text.push_str(&format!("{ip}\t{names}\n"));
    }
    text
}

/// The host's resolver configuration with loopback nameservers removed (they are not
/// reachable from a container's network namespace), or the user's `--dns*` settings.
fn resolv_conf(record: &Record, host_network: bool, daemon_dns: &[String]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if host_network {
        return host;
    }
    let hc = &record.host_config;
    let user_dns = hc.dns.clone().unwrap_or_default();
    let user_search = hc.dns_search.clone().unwrap_or_default();
    let user_options = hc.dns_options.clone().unwrap_or_default();
    let mut out = String::new();
    let mut nameservers = Vec::new();
    let mut search = String::new();
    let mut options = String::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ip) = words.next() {
                    if !ip.starts_with("127.") && ip != "::1" {
                        nameservers.push(ip.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => search = line.to_string(),
            Some("options") => options = line.to_string(),
            _ => {}
        }
    }
    if !user_dns.is_empty() {
        nameservers = user_dns;
    } else if !daemon_dns.is_empty() {
        nameservers = daemon_dns.to_vec();
    }
    if !user_search.is_empty() {
        search = format!("search {}", user_search.join(" "));
    }
    if !user_options.is_empty() {
        options = format!("options {}", user_options.join(" "));
    }
    if !search.is_empty() {
        out.push_str(&search);
        out.push('\n');
    }
    for ns in nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !options.is_empty() {
        out.push_str(&options);
        out.push('\n');
    }
    out
}
