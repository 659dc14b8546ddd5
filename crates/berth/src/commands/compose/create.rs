//! A service's `POST /containers/create` body: its configuration in Engine API terms,
//! with Compose's labels and the network aliases by which other services find it.

use std::collections::BTreeMap;

use berth_compose::{nanos, MountType, Project, Service};
use serde_json::{json, Map, Value};

use super::{labels, COMPOSE_VERSION};

/// What a container of a service needs beyond the service itself.
pub struct Instance<'a> {
    pub project: &'a Project,
    pub service: &'a Service,
    pub name: String,
    pub number: u32,
    pub oneoff: bool,
    /// The image ID (recorded so that a new image recreates the container).
    pub image_id: String,
    /// Container names of other services (`network_mode: service:x`, `volumes_from`).
    pub service_containers: BTreeMap<String, String>,
}

/// The container name of replica `number` of `service`.
pub fn container_name(project: &str, service: &Service, number: u32) -> String {
    match &service.container_name {
        Some(name) => name.clone(),
        None => format!("{project}-{}-{number}", service.name),
    }
}

/// The labels of a container of `service`.
pub fn container_labels(i: &Instance<'_>, hash: &str) -> Map<String, Value> {
    let mut l = Map::new();
    for (k, v) in &i.service.labels {
        l.insert(k.clone(), json!(v));
    }
    let project = i.project;
    let files: Vec<String> = project
        .config_files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let depends: Vec<String> = i
        .service
        .depends_on
        .iter()
        .map(|(name, d)| {
            let condition = serde_json::to_value(d.condition)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{name}:{condition}:{}", d.restart)
        })
        .collect();
    for (k, v) in [
        (labels::PROJECT, project.name.clone()),
        (labels::SERVICE, i.service.name.clone()),
        (labels::NUMBER, i.number.to_string()),
        (labels::HASH, hash.to_string()),
        (
            labels::ONEOFF,
            if i.oneoff { "True" } else { "False" }.to_string(),
        ),
        (
            labels::WORKING_DIR,
            project.working_dir.display().to_string(),
        ),
        (labels::CONFIG_FILES, files.join(",")),
        (labels::VERSION, COMPOSE_VERSION.to_string()),
        (labels::IMAGE, i.image_id.clone()),
        (labels::DEPENDS_ON, depends.join(",")),
    ] {
        l.insert(k.to_string(), json!(v));
    }
    l
}

fn seconds(text: &Option<String>) -> Option<i64> {
    text.as_deref().map(|t| nanos(t) / 1_000_000_000)
}

pub fn body(i: &Instance<'_>, hash: &str) -> Value {
    let s = i.service;
    let project = i.project;
    let mut config = Map::new();
    let mut host = Map::new();

    config.insert("Image".into(), json!(s.image_name(&project.name)));
    if let Some(h) = &s.hostname {
        config.insert("Hostname".into(), json!(h));
    }
    if let Some(d) = &s.domainname {
        config.insert("Domainname".into(), json!(d));
    }
    if let Some(u) = &s.user {
        config.insert("User".into(), json!(u));
    }
    if let Some(w) = &s.working_dir {
        config.insert("WorkingDir".into(), json!(w));
    }
    if let Some(c) = &s.command {
        config.insert("Cmd".into(), json!(c));
    }
    if let Some(e) = &s.entrypoint {
        config.insert("Entrypoint".into(), json!(e));
    }
    let env: Vec<String> = s
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    config.insert("Env".into(), json!(env));
    config.insert("Tty".into(), json!(s.tty));
    config.insert("OpenStdin".into(), json!(s.stdin_open));
    config.insert("AttachStdin".into(), json!(false));
    config.insert("AttachStdout".into(), json!(true));
    config.insert("AttachStderr".into(), json!(true));
    config.insert("Labels".into(), Value::Object(container_labels(i, hash)));
    if let Some(sig) = &s.stop_signal {
        config.insert("StopSignal".into(), json!(sig));
    }
    if let Some(t) = seconds(&s.stop_grace_period) {
        config.insert("StopTimeout".into(), json!(t));
    }
    if let Some(m) = &s.mac_address {
        config.insert("MacAddress".into(), json!(m));
    }
    if let Some(h) = &s.healthcheck {
        let mut hc = Map::new();
        if let Some(t) = &h.test {
            hc.insert("Test".into(), json!(t));
        }
        for (key, value) in [
            ("Interval", &h.interval),
            ("Timeout", &h.timeout),
            ("StartPeriod", &h.start_period),
            ("StartInterval", &h.start_interval),
        ] {
            if let Some(v) = value {
                hc.insert(key.into(), json!(nanos(v)));
            }
        }
        if let Some(r) = h.retries {
            hc.insert("Retries".into(), json!(r));
        }
        config.insert("Healthcheck".into(), Value::Object(hc));
    }

    // Ports: exposed and published.
    let mut exposed = Map::new();
    let mut bindings: Map<String, Value> = Map::new();
    for p in &s.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        exposed.insert(key.clone(), json!({}));
        let list = bindings.entry(key).or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.push(json!({
                "HostIp": p.host_ip.clone().unwrap_or_default(),
                "HostPort": p.published.clone().unwrap_or_default(),
            }));
        }
    }
    for e in &s.expose {
        let key = if e.contains('/') {
            e.clone()
        } else {
            format!("{e}/tcp")
        };
        exposed.insert(key, json!({}));
    }
    if !exposed.is_empty() {
        config.insert("ExposedPorts".into(), Value::Object(exposed));
    }
    host.insert("PortBindings".into(), Value::Object(bindings));

    // Volumes: binds and named volumes as `Binds`, anonymous ones as `Volumes`, tmpfs and
    // volumes without copy-up as `Mounts`.
    let mut binds = Vec::new();
    let mut anonymous = Map::new();
    let mut mounts = Vec::new();
    for m in &s.volumes {
        match (m.kind, &m.source) {
            (MountType::Volume | MountType::Bind, None) => {
                anonymous.insert(m.target.clone(), json!({}));
            }
            (MountType::Tmpfs, _) => {
                let mut options = Map::new();
                if let Some(size) = m.tmpfs_size {
                    options.insert("SizeBytes".into(), json!(size));
                }
                mounts.push(json!({"Type": "tmpfs", "Target": m.target, "ReadOnly": m.read_only, "TmpfsOptions": options}));
            }
            (MountType::Volume, Some(source)) if m.nocopy => {
                let name = project
                    .volumes
                    .get(source)
                    .map(|v| v.name.clone())
                    .unwrap_or_else(|| source.clone());
                mounts.push(json!({"Type": "volume", "Source": name, "Target": m.target, "ReadOnly": m.read_only, "VolumeOptions": {"NoCopy": true}}));
            }
            (kind, Some(source)) => {
                let source = if kind == MountType::Volume {
                    project
                        .volumes
                        .get(source)
                        .map(|v| v.name.clone())
                        .unwrap_or_else(|| source.clone())
                } else {
                    source.clone()
                };
                let mut options = Vec::new();
                if m.read_only {
                    options.push("ro".to_string());
                }
                if let Some(z) = &m.selinux {
                    options.push(z.clone());
                }
                if let Some(p) = &m.propagation {
                    options.push(p.clone());
                }
                let mut bind = format!("{source}:{}", m.target);
                if !options.is_empty() {
                    bind.push(':');
                    bind.push_str(&options.join(","));
                }
                binds.push(bind);
            }
        }
    }
    if !anonymous.is_empty() {
        config.insert("Volumes".into(), Value::Object(anonymous));
    }
    host.insert("Binds".into(), json!(binds));
    if !mounts.is_empty() {
        host.insert("Mounts".into(), json!(mounts));
    }
    if !s.tmpfs.is_empty() {
        let map: Map<String, Value> = s
            .tmpfs
            .iter()
            .map(|t| match t.split_once(':') {
                Some((path, opts)) => (path.to_string(), json!(opts)),
                None => (t.clone(), json!("")),
            })
            .collect();
        host.insert("Tmpfs".into(), Value::Object(map));
    }
    // `links: [svc[:alias]]`: a legacy link to the service's first container; on a user
    // network it goes in each endpoint (a private alias), as docker's clients send it.
    let links: Vec<String> = s
        .links
        .iter()
        .chain(s.external_links.iter())
        .map(|l| {
            let (target, alias) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
            let container = i
                .service_containers
                .get(target)
                .cloned()
                .unwrap_or_else(|| target.to_string());
            format!("{container}:{alias}")
        })
        .collect();
    if !links.is_empty() && s.network_mode.is_some() {
        host.insert("Links".into(), json!(links));
    }
    if !s.volumes_from.is_empty() {
        let from: Vec<String> = s
            .volumes_from
            .iter()
            .map(|v| {
                if let Some(c) = v.strip_prefix("container:") {
                    return c.to_string();
                }
                let (svc, mode) = match v.split_once(':') {
                    Some((svc, mode)) => (svc, Some(mode)),
                    None => (v.as_str(), None),
                };
                let name = i
                    .service_containers
                    .get(svc)
                    .cloned()
                    .unwrap_or_else(|| svc.to_string());
                match mode {
                    Some(mode) => format!("{name}:{mode}"),
                    None => name,
                }
            })
            .collect();
        host.insert("VolumesFrom".into(), json!(from));
    }

    // Resources and security.
    if let Some(r) = &s.restart {
        let (name, count) = match r.split_once(':') {
            Some((n, c)) => (n.to_string(), c.parse::<i64>().unwrap_or(0)),
            None => (r.clone(), 0),
        };
        host.insert(
            "RestartPolicy".into(),
            json!({"Name": name, "MaximumRetryCount": count}),
        );
    }
    for (key, list) in [
        ("CapAdd", &s.cap_add),
        ("CapDrop", &s.cap_drop),
        ("Dns", &s.dns),
        ("DnsSearch", &s.dns_search),
        ("DnsOptions", &s.dns_opt),
        ("ExtraHosts", &s.extra_hosts),
        ("SecurityOpt", &s.security_opt),
        ("GroupAdd", &s.group_add),
    ] {
        if !list.is_empty() {
            host.insert(key.into(), json!(list));
        }
    }
    host.insert("Privileged".into(), json!(s.privileged));
    host.insert("ReadonlyRootfs".into(), json!(s.read_only));
    if let Some(init) = s.init {
        host.insert("Init".into(), json!(init));
    }
    if let Some(m) = s.mem_limit {
        host.insert("Memory".into(), json!(m));
    }
    if let Some(m) = s.mem_reservation {
        host.insert("MemoryReservation".into(), json!(m));
    }
    if let Some(m) = s.memswap_limit {
        host.insert("MemorySwap".into(), json!(m));
    }
    if let Some(c) = s.cpus {
        host.insert("NanoCpus".into(), json!((c * 1e9) as i64));
    }
    if let Some(p) = s.pids_limit {
        host.insert("PidsLimit".into(), json!(p));
    }
    if let Some(sz) = s.shm_size {
        host.insert("ShmSize".into(), json!(sz));
    }
    if !s.sysctls.is_empty() {
        host.insert("Sysctls".into(), json!(s.sysctls));
    }
    if !s.ulimits.is_empty() {
        let list: Vec<Value> = s
            .ulimits
            .iter()
            .map(|(name, u)| json!({"Name": name, "Soft": u.soft, "Hard": u.hard}))
            .collect();
        host.insert("Ulimits".into(), json!(list));
    }
    if !s.devices.is_empty() {
        let list: Vec<Value> = s
            .devices
            .iter()
            .map(|d| {
                let parts: Vec<&str> = d.split(':').collect();
                let host_path = parts[0];
                let container = parts.get(1).copied().unwrap_or(host_path);
                let perms = parts.get(2).copied().unwrap_or("rwm");
                json!({"PathOnHost": host_path, "PathInContainer": container, "CgroupPermissions": perms})
            })
            .collect();
        host.insert("Devices".into(), json!(list));
    }
    for (key, value) in [
        ("PidMode", &s.pid),
        ("IpcMode", &s.ipc),
        ("UsernsMode", &s.userns_mode),
    ] {
        if let Some(v) = value {
            host.insert(key.into(), json!(v));
        }
    }
    if let Some(l) = &s.logging {
        host.insert(
            "LogConfig".into(),
            json!({"Type": l.driver.clone().unwrap_or_default(), "Config": l.options}),
        );
    }

    // Networks: the first (by priority) is the network mode; every one gets an endpoint
    // with the service name (and link aliases) as aliases.
    let mut endpoints = Map::new();
    match &s.network_mode {
        Some(mode) => {
            let mode = match mode.strip_prefix("service:") {
                Some(svc) => format!(
                    "container:{}",
                    i.service_containers
                        .get(svc)
                        .cloned()
                        .unwrap_or_else(|| svc.to_string())
                ),
                None => mode.clone(),
            };
            host.insert("NetworkMode".into(), json!(mode));
        }
        None => {
            let ordered = s.networks_in_order();
            if let Some((first, _)) = ordered.first() {
                let name = project
                    .networks
                    .get(*first)
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| (*first).clone());
                host.insert("NetworkMode".into(), json!(name));
            }
            for (key, net) in ordered {
                let name = project
                    .networks
                    .get(key)
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| key.clone());
                let mut aliases = Vec::new();
                if !i.oneoff {
                    aliases.push(s.name.clone());
                }
                aliases.extend(net.aliases.iter().cloned());
                let mut endpoint = json!({"Aliases": aliases});
                if !links.is_empty() {
                    endpoint["Links"] = json!(links);
                }
                if net.ipv4_address.is_some() || net.ipv6_address.is_some() {
                    endpoint["IPAMConfig"] = json!({
                        "IPv4Address": net.ipv4_address.clone().unwrap_or_default(),
                        "IPv6Address": net.ipv6_address.clone().unwrap_or_default(),
                    });
                }
                endpoints.insert(name, endpoint);
            }
        }
    }
    config.insert("HostConfig".into(), Value::Object(host));
    config.insert(
        "NetworkingConfig".into(),
        json!({"EndpointsConfig": endpoints}),
    );
    Value::Object(config)
}
