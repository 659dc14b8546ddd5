//! One service of the merged file turned into a `Service`: every key checked against the
//! Compose Specification, every value in one normal form.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::dotenv;
use crate::error::{invalid, Error, Result};
use crate::model::{
    Build, Condition, Dependency, Healthcheck, Logging, Service, ServiceNetwork, Ulimit,
};
use crate::values::{
    absolute, bool_value, check_keys, command, duration, float_value, int_value, key_values, kind,
    object, opt_string, size, string, string_list, string_map,
};
use crate::{mounts, ports};

/// Keys a service may have. `net`, `log_driver` and `log_opt` are version-1 spellings.
const KEYS: &[&str] = &[
    "build",
    "cap_add",
    "cap_drop",
    "command",
    "container_name",
    "cpus",
    "cpu_shares",
    "cpuset",
    "cpu_quota",
    "cpu_period",
    "depends_on",
    "deploy",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "external_links",
    "extra_hosts",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "labels",
    "links",
    "logging",
    "log_driver",
    "log_opt",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "net",
    "network_mode",
    "networks",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "scale",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// Keys of the specification Berth does not implement: refused by name, not as unknown.
const UNSUPPORTED: &[&str] = &[
    "secrets",
    "configs",
    "extends",
    "develop",
    "blkio_config",
    "credential_spec",
    "isolation",
    "storage_opt",
    "runtime",
    "cgroup",
    "cgroup_parent",
    "annotations",
    "attach",
    "post_start",
    "pre_stop",
    "provider",
    "models",
    "uts",
    "label_file",
    "gpus",
    "device_cgroup_rules",
    "links_from",
    "oom_kill_disable",
    "mem_swappiness",
    "cpu_count",
    "cpu_percent",
    "cpu_rt_runtime",
    "cpu_rt_period",
    "use_api_socket",
    "volume_driver",
];

pub struct Context<'a> {
    pub base: &'a Path,
    /// The project's variables (for `env_file` lines without a value).
    pub env: &'a BTreeMap<String, String>,
}

pub fn parse(name: &str, value: &Value, ctx: &Context<'_>) -> Result<Service> {
    let place = format!("services.{name}");
    let map = match value {
        Value::Null => &Map::new(),
        other => object(other, &place)?,
    };
    for key in map.keys() {
        if UNSUPPORTED.contains(&key.as_str()) {
            return Err(invalid(
                &place,
                format!("{key} is not supported by berth compose"),
            ));
        }
    }
    check_keys(map, KEYS, &place)?;
    let at = |key: &str| format!("{place}.{key}");
    let get = |key: &str| map.get(key);
    let mut s = Service {
        name: name.to_string(),
        scale: 1,
        ..Service::default()
    };
    s.image = opt_string(get("image"), &at("image"))?;
    if let Some(build) = get("build") {
        s.build = Some(parse_build(build, ctx.base, &at("build"))?);
    }
    if s.image.is_none() && s.build.is_none() {
        return Err(invalid(
            &place,
            "service has neither an image nor a build context specified",
        ));
    }
    s.cap_add = string_list(get("cap_add"), &at("cap_add"))?;
    s.cap_drop = string_list(get("cap_drop"), &at("cap_drop"))?;
    s.command = command(get("command"), &at("command"))?;
    s.entrypoint = command(get("entrypoint"), &at("entrypoint"))?;
    s.container_name = opt_string(get("container_name"), &at("container_name"))?;
    s.cpus = float_value(get("cpus"), &at("cpus"))?;
    s.depends_on = parse_depends_on(get("depends_on"), &at("depends_on"))?;
    s.devices = string_list(get("devices"), &at("devices"))?;
    s.dns = string_list(get("dns"), &at("dns"))?;
    s.dns_search = string_list(get("dns_search"), &at("dns_search"))?;
    s.dns_opt = string_list(get("dns_opt"), &at("dns_opt"))?;
    s.domainname = opt_string(get("domainname"), &at("domainname"))?;
    s.environment = environment(map, ctx, &place)?;
    s.expose = string_list(get("expose"), &at("expose"))?;
    s.external_links = string_list(get("external_links"), &at("external_links"))?;
    s.extra_hosts = extra_hosts(get("extra_hosts"), &at("extra_hosts"))?;
    s.group_add = string_list(get("group_add"), &at("group_add"))?;
    if let Some(h) = get("healthcheck") {
        s.healthcheck = Some(parse_healthcheck(h, &at("healthcheck"))?);
    }
    s.hostname = opt_string(get("hostname"), &at("hostname"))?;
    s.init = bool_value(get("init"), &at("init"))?;
    s.ipc = opt_string(get("ipc"), &at("ipc"))?;
    s.labels = string_map(get("labels"), &at("labels"))?;
    s.links = string_list(get("links"), &at("links"))?;
    s.logging = parse_logging(map, &place)?;
    s.mac_address = opt_string(get("mac_address"), &at("mac_address"))?;
    s.mem_limit = size(get("mem_limit"), &at("mem_limit"))?;
    s.mem_reservation = size(get("mem_reservation"), &at("mem_reservation"))?;
    s.memswap_limit = size(get("memswap_limit"), &at("memswap_limit"))?;
    s.network_mode = match opt_string(get("network_mode"), &at("network_mode"))? {
        Some(mode) => Some(mode),
        None => opt_string(get("net"), &at("net"))?,
    };
    s.networks = parse_networks(get("networks"), &at("networks"))?;
    if s.network_mode.is_some() && !s.networks.is_empty() {
        return Err(invalid(
            &place,
            "network_mode and networks cannot be combined",
        ));
    }
    s.pid = opt_string(get("pid"), &at("pid"))?;
    s.pids_limit = int_value(get("pids_limit"), &at("pids_limit"))?;
    s.platform = opt_string(get("platform"), &at("platform"))?;
    if let Some(Value::Array(items)) = get("ports") {
        for (i, item) in items.iter().enumerate() {
            s.ports
                .extend(ports::parse(item, &format!("{place}.ports[{i}]"))?);
        }
    } else if let Some(other) = get("ports").filter(|v| !v.is_null()) {
        return Err(invalid(
            at("ports"),
            format!("must be a list, not {}", kind(other)),
        ));
    }
    s.privileged = bool_value(get("privileged"), &at("privileged"))?.unwrap_or(false);
    s.profiles = string_list(get("profiles"), &at("profiles"))?;
    s.pull_policy = opt_string(get("pull_policy"), &at("pull_policy"))?;
    s.read_only = bool_value(get("read_only"), &at("read_only"))?.unwrap_or(false);
    s.restart = opt_string(get("restart"), &at("restart"))?;
    if let Some(r) = &s.restart {
        let policy = r.split(':').next().unwrap_or("");
        if !["no", "always", "on-failure", "unless-stopped"].contains(&policy) {
            return Err(invalid(
                at("restart"),
                format!("invalid restart policy {r:?}"),
            ));
        }
    }
    s.security_opt = string_list(get("security_opt"), &at("security_opt"))?;
    s.shm_size = size(get("shm_size"), &at("shm_size"))?;
    s.stdin_open = bool_value(get("stdin_open"), &at("stdin_open"))?.unwrap_or(false);
    s.stop_grace_period = duration(get("stop_grace_period"), &at("stop_grace_period"))?;
    s.stop_signal = opt_string(get("stop_signal"), &at("stop_signal"))?;
    s.sysctls = string_map(get("sysctls"), &at("sysctls"))?;
    s.tmpfs = string_list(get("tmpfs"), &at("tmpfs"))?;
    s.tty = bool_value(get("tty"), &at("tty"))?.unwrap_or(false);
    s.ulimits = parse_ulimits(get("ulimits"), &at("ulimits"))?;
    s.user = opt_string(get("user"), &at("user"))?;
    s.userns_mode = opt_string(get("userns_mode"), &at("userns_mode"))?;
    if let Some(Value::Array(items)) = get("volumes") {
        for (i, item) in items.iter().enumerate() {
            s.volumes.push(mounts::parse(
                item,
                ctx.base,
                &format!("{place}.volumes[{i}]"),
            )?);
        }
    } else if let Some(other) = get("volumes").filter(|v| !v.is_null()) {
        return Err(invalid(
            at("volumes"),
            format!("must be a list, not {}", kind(other)),
        ));
    }
    s.volumes_from = string_list(get("volumes_from"), &at("volumes_from"))?;
    s.working_dir = opt_string(get("working_dir"), &at("working_dir"))?;
    if let Some(n) = int_value(get("scale"), &at("scale"))? {
        s.scale = u32::try_from(n).map_err(|_| invalid(at("scale"), "must be 0 or more"))?;
    }
    if let Some(deploy) = get("deploy") {
        apply_deploy(&mut s, deploy, &at("deploy"))?;
    }
    Ok(s)
}

fn parse_build(value: &Value, base: &Path, place: &str) -> Result<Build> {
    let mut build = Build {
        dockerfile: "Dockerfile".into(),
        ..Build::default()
    };
    let context = match value {
        Value::Object(map) => {
            check_keys(
                map,
                &[
                    "context",
                    "dockerfile",
                    "args",
                    "target",
                    "labels",
                    "cache_from",
                    "network",
                    "shm_size",
                    "extra_hosts",
                    "pull",
                    "no_cache",
                    "tags",
                    "platforms",
                    "ssh",
                    "secrets",
                    "additional_contexts",
                    "dockerfile_inline",
                    "isolation",
                    "privileged",
                    "cache_to",
                    "ulimits",
                    "entitlements",
                    "provenance",
                    "sbom",
                ],
                place,
            )?;
            if let Some(d) = opt_string(map.get("dockerfile"), &format!("{place}.dockerfile"))? {
                build.dockerfile = d;
            }
            build.args = key_values(map.get("args"), &format!("{place}.args"))?;
            build.target = opt_string(map.get("target"), &format!("{place}.target"))?;
            build.labels = string_map(map.get("labels"), &format!("{place}.labels"))?;
            build.cache_from = string_list(map.get("cache_from"), &format!("{place}.cache_from"))?;
            build.network = opt_string(map.get("network"), &format!("{place}.network"))?;
            build.shm_size = size(map.get("shm_size"), &format!("{place}.shm_size"))?;
            build.extra_hosts =
                extra_hosts(map.get("extra_hosts"), &format!("{place}.extra_hosts"))?;
            opt_string(map.get("context"), &format!("{place}.context"))?
                .unwrap_or_else(|| ".".into())
        }
        other => string(other, place)?,
    };
    build.context = if context.contains("://") || context.starts_with("git@") {
        context
    } else {
        absolute(base, &context).display().to_string()
    };
    Ok(build)
}

fn parse_depends_on(value: Option<&Value>, place: &str) -> Result<BTreeMap<String, Dependency>> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, dep) in map {
                let at = format!("{place}.{name}");
                let dep = match dep {
                    Value::Null => &Map::new(),
                    other => object(other, &at)?,
                };
                check_keys(dep, &["condition", "restart", "required"], &at)?;
                let condition = match opt_string(dep.get("condition"), &at)?.as_deref() {
                    None | Some("service_started") => Condition::ServiceStarted,
                    Some("service_healthy") => Condition::ServiceHealthy,
                    Some("service_completed_successfully") => Condition::ServiceCompletedSuccessfully,
                    Some(other) => {
                        return Err(invalid(
                            &at,
                            format!("invalid condition {other:?} (service_started, service_healthy or service_completed_successfully)"),
                        ))
                    }
                };
                out.insert(
                    name.clone(),
                    Dependency {
                        condition,
                        restart: bool_value(dep.get("restart"), &at)?.unwrap_or(false),
                        required: bool_value(dep.get("required"), &at)?.unwrap_or(true),
                    },
                );
            }
        }
        Some(list) => {
            for name in string_list(Some(list), place)? {
                out.insert(
                    name,
                    Dependency {
                        condition: Condition::ServiceStarted,
                        restart: false,
                        required: true,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// `env_file` entries first, then `environment` over them. A name without a value takes
/// the project's variable of that name, or stays unset.
fn environment(
    map: &Map<String, Value>,
    ctx: &Context<'_>,
    place: &str,
) -> Result<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    let lookup = |k: &str| ctx.env.get(k).cloned();
    let files: Vec<(String, bool)> = match map.get("env_file") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(entry) => {
                    let at = format!("{place}.env_file[{i}]");
                    check_keys(entry, &["path", "required", "format"], &at)?;
                    let path = opt_string(entry.get("path"), &at)?
                        .ok_or_else(|| invalid(&at, "path is required"))?;
                    Ok((
                        path,
                        bool_value(entry.get("required"), &at)?.unwrap_or(true),
                    ))
                }
                other => Ok((string(other, &format!("{place}.env_file[{i}]"))?, true)),
            })
            .collect::<Result<_>>()?,
        Some(other) => vec![(string(other, &format!("{place}.env_file"))?, true)],
    };
    for (file, required) in files {
        let path = absolute(ctx.base, &file);
        if !required && !path.exists() {
            continue;
        }
        for (k, v) in dotenv::read(&path, &lookup)? {
            out.insert(k, v);
        }
    }
    for (k, v) in key_values(map.get("environment"), &format!("{place}.environment"))? {
        let v = v.or_else(|| lookup(&k));
        out.insert(k, v);
    }
    Ok(out)
}

fn extra_hosts(value: Option<&Value>, place: &str) -> Result<Vec<String>> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(host, ip)| {
                Ok(format!(
                    "{host}:{}",
                    string(ip, &format!("{place}.{host}"))?
                ))
            })
            .collect(),
        other => Ok(string_list(other, place)?
            .into_iter()
            // Compose also accepts `host=ip`.
            .map(|h| match h.split_once('=') {
                Some((host, ip)) if !h.contains(':') || host.len() < h.find(':').unwrap_or(0) => {
                    format!("{host}:{ip}")
                }
                _ => h,
            })
            .collect()),
    }
}

fn parse_healthcheck(value: &Value, place: &str) -> Result<Healthcheck> {
    let map = object(value, place)?;
    check_keys(
        map,
        &[
            "test",
            "interval",
            "timeout",
            "retries",
            "start_period",
            "start_interval",
            "disable",
        ],
        place,
    )?;
    let mut h = Healthcheck {
        interval: duration(map.get("interval"), &format!("{place}.interval"))?,
        timeout: duration(map.get("timeout"), &format!("{place}.timeout"))?,
        start_period: duration(map.get("start_period"), &format!("{place}.start_period"))?,
        start_interval: duration(
            map.get("start_interval"),
            &format!("{place}.start_interval"),
        )?,
        retries: int_value(map.get("retries"), &format!("{place}.retries"))?
            .map(|r| r.max(0) as u64),
        disable: bool_value(map.get("disable"), place)?.unwrap_or(false),
        test: None,
    };
    h.test = match map.get("test") {
        None | Some(Value::Null) => None,
        Some(Value::Array(_)) => {
            let test = string_list(map.get("test"), &format!("{place}.test"))?;
            match test.first().map(String::as_str) {
                Some("NONE" | "CMD" | "CMD-SHELL") => Some(test),
                _ => {
                    return Err(invalid(
                        format!("{place}.test"),
                        "a list must start with NONE, CMD or CMD-SHELL",
                    ))
                }
            }
        }
        Some(other) => Some(vec![
            "CMD-SHELL".into(),
            string(other, &format!("{place}.test"))?,
        ]),
    };
    if h.disable {
        h.test = Some(vec!["NONE".into()]);
    }
    Ok(h)
}

fn parse_logging(map: &Map<String, Value>, place: &str) -> Result<Option<Logging>> {
    if let Some(value) = map.get("logging") {
        let at = format!("{place}.logging");
        let logging = object(value, &at)?;
        check_keys(logging, &["driver", "options"], &at)?;
        return Ok(Some(Logging {
            driver: opt_string(logging.get("driver"), &at)?,
            options: string_map(logging.get("options"), &format!("{at}.options"))?,
        }));
    }
    let driver = opt_string(map.get("log_driver"), &format!("{place}.log_driver"))?;
    let options = string_map(map.get("log_opt"), &format!("{place}.log_opt"))?;
    Ok((driver.is_some() || !options.is_empty()).then_some(Logging { driver, options }))
}

fn parse_networks(value: Option<&Value>, place: &str) -> Result<BTreeMap<String, ServiceNetwork>> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, net) in map {
                let at = format!("{place}.{name}");
                let mut n = ServiceNetwork::default();
                if let Some(net) = net.as_object() {
                    check_keys(
                        net,
                        &[
                            "aliases",
                            "ipv4_address",
                            "ipv6_address",
                            "priority",
                            "link_local_ips",
                            "mac_address",
                            "driver_opts",
                            "gw_priority",
                            "interface_name",
                        ],
                        &at,
                    )?;
                    n.aliases = string_list(net.get("aliases"), &format!("{at}.aliases"))?;
                    n.ipv4_address = opt_string(net.get("ipv4_address"), &at)?;
                    n.ipv6_address = opt_string(net.get("ipv6_address"), &at)?;
                    n.priority = int_value(net.get("priority"), &at)?;
                } else if !net.is_null() {
                    return Err(invalid(
                        &at,
                        format!("must be a mapping, not {}", kind(net)),
                    ));
                }
                out.insert(name.clone(), n);
            }
        }
        Some(list) => {
            for name in string_list(Some(list), place)? {
                out.insert(name, ServiceNetwork::default());
            }
        }
    }
    Ok(out)
}

fn parse_ulimits(value: Option<&Value>, place: &str) -> Result<BTreeMap<String, Ulimit>> {
    let mut out = BTreeMap::new();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    for (name, limit) in object(value, place)? {
        let at = format!("{place}.{name}");
        let ulimit = match limit {
            Value::Object(m) => {
                check_keys(m, &["soft", "hard"], &at)?;
                let soft = int_value(m.get("soft"), &at)?
                    .ok_or_else(|| invalid(&at, "soft is required"))?;
                let hard = int_value(m.get("hard"), &at)?
                    .ok_or_else(|| invalid(&at, "hard is required"))?;
                Ulimit { soft, hard }
            }
            other => {
                let n = int_value(Some(other), &at)?.unwrap_or(0);
                Ulimit { soft: n, hard: n }
            }
        };
        out.insert(name.clone(), ulimit);
    }
    Ok(out)
}

/// `deploy`: replicas, resource limits and the restart policy apply to one engine;
/// placement and update settings belong to Swarm and are accepted and ignored.
fn apply_deploy(s: &mut Service, value: &Value, place: &str) -> Result<()> {
    let map = object(value, place)?;
    check_keys(
        map,
        &[
            "replicas",
            "resources",
            "restart_policy",
            "labels",
            "mode",
            "placement",
            "update_config",
            "rollback_config",
            "endpoint_mode",
        ],
        place,
    )?;
    if let Some(n) = int_value(map.get("replicas"), &format!("{place}.replicas"))? {
        s.scale = u32::try_from(n).map_err(|_| invalid(place, "replicas must be 0 or more"))?;
    }
    if let Some(resources) = map.get("resources") {
        let at = format!("{place}.resources");
        let resources = object(resources, &at)?;
        check_keys(resources, &["limits", "reservations"], &at)?;
        if let Some(limits) = resources.get("limits") {
            let at = format!("{at}.limits");
            let limits = object(limits, &at)?;
            check_keys(limits, &["cpus", "memory", "pids"], &at)?;
            if let Some(cpus) = float_value(limits.get("cpus"), &at)? {
                s.cpus = Some(cpus);
            }
            if let Some(memory) = size(limits.get("memory"), &at)? {
                s.mem_limit = Some(memory);
            }
            if let Some(pids) = int_value(limits.get("pids"), &at)? {
                s.pids_limit = Some(pids);
            }
        }
        if let Some(reservations) = resources.get("reservations") {
            let at = format!("{at}.reservations");
            let reservations = object(reservations, &at)?;
            check_keys(
                reservations,
                &["cpus", "memory", "devices", "generic_resources"],
                &at,
            )?;
            if let Some(memory) = size(reservations.get("memory"), &at)? {
                s.mem_reservation = Some(memory);
            }
        }
    }
    if let Some(policy) = map.get("restart_policy") {
        let at = format!("{place}.restart_policy");
        let policy = object(policy, &at)?;
        check_keys(
            policy,
            &["condition", "delay", "max_attempts", "window"],
            &at,
        )?;
        let attempts = int_value(policy.get("max_attempts"), &at)?;
        s.restart = match opt_string(policy.get("condition"), &at)?.as_deref() {
            Some("none") => Some("no".into()),
            Some("on-failure") => Some(match attempts {
                Some(n) => format!("on-failure:{n}"),
                None => "on-failure".into(),
            }),
            Some("any") | None => Some("always".into()),
            Some(other) => return Err(invalid(&at, format!("invalid condition {other:?}"))),
        };
    }
    Ok(())
}

/// A service name as used for containers and DNS: Compose's `[a-zA-Z0-9._-]+`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Error::Invalid {
            place: "services".into(),
            message: format!("invalid service name {name:?}: only [a-zA-Z0-9._-] are allowed"),
        });
    }
    Ok(())
}
