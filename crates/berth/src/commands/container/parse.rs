//! Parsers for the values of `run`/`create` flags, each with the docker CLI's rules and
//! error wording: port specs, volume specs, `--mount`, ulimits, env and label files,
//! restart policies, devices, durations and the small validators.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

/// Go's `strconv.ParseInt`/`ParseUint` errors, as docker prints them.
pub fn parse_int(value: &str) -> Result<i64, String> {
    value.parse::<i64>().map_err(|e| {
        let reason = if matches!(
            e.kind(),
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
        ) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        format!("strconv.ParseInt: parsing \"{value}\": {reason}")
    })
}

pub fn parse_uint(value: &str, bits: u32) -> Result<u64, String> {
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    match value.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        Ok(_) => Err(format!(
            "strconv.ParseUint: parsing \"{value}\": value out of range"
        )),
        Err(e)
            if matches!(e.kind(), std::num::IntErrorKind::PosOverflow)
                && value.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Err(format!(
                "strconv.ParseUint: parsing \"{value}\": value out of range"
            ))
        }
        Err(_) => Err(format!(
            "strconv.ParseUint: parsing \"{value}\": invalid syntax"
        )),
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `time.ParseDuration` in nanoseconds, with its error messages.
pub fn parse_duration(value: &str) -> Result<i64, String> {
    if let Some(nanos) = berth_api::query::parse_go_duration(value) {
        return Ok(nanos);
    }
    let digits = value.trim_start_matches(['-', '+']);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("time: missing unit in duration \"{value}\""));
    }
    Err(format!("time: invalid duration \"{value}\""))
}

// ---------------------------------------------------------------------------------------
// Ports

/// One `-p` entry after parsing: the container port key (`80/tcp`) and its host binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub port: String,
    pub host_ip: String,
    pub host_port: String,
}

/// `8000-9000` → (8000, 9000); a single port → (p, p).
pub fn parse_port_range(ports: &str) -> Result<(u64, u64), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".to_string());
    }
    let Some((start, end)) = ports.split_once('-') else {
        let port = parse_uint(ports, 16)?;
        return Ok((port, port));
    };
    let end = end.split('-').next().unwrap_or(end);
    let start = parse_uint(start, 16)?;
    let end = parse_uint(end, 16)?;
    if end < start {
        return Err(format!("invalid range specified for port: {ports}"));
    }
    Ok((start, end))
}

/// `80/udp` → (`udp`, `80`); no protocol is tcp.
pub fn split_proto_port(raw: &str) -> (String, String) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), String::new());
    }
    if parts.len() == 1 || parts[1].is_empty() {
        return ("tcp".to_string(), parts[0].to_string());
    }
    (parts[1].to_string(), parts[0].to_string())
}

/// docker's `nat.ParsePortSpec`: `[ip:][hostPort[-end]:]containerPort[-end][/proto]`.
pub fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (mut ip, host_port, container_port) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        3 => (parts[0].to_string(), parts[1], parts[2]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container_port) = split_proto_port(container_port);
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Some(inner) => ip = inner.to_string(),
            None => {
                return Err(format!(
                    "invalid IP address {ip}: address {ip}:: missing ']' in address"
                ))
            }
        }
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container_port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) = parse_port_range(&container_port)
        .map_err(|_| format!("invalid containerPort: {container_port}"))?;
    let (mut host_start, mut host_end) = (0, 0);
    if !host_port.is_empty() {
        (host_start, host_end) =
            parse_port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?;
    }
    if !host_port.is_empty() && (end - start) != (host_end - host_start) && end != start {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
        ));
    }
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let count = end - start + 1;
    let mut mappings = Vec::new();
    for i in 0..count {
        let mut host = String::new();
        if !host_port.is_empty() {
            host = (host_start + i).to_string();
            if count == 1 && host_start != host_end {
                host.push_str(&format!("-{host_end}"));
            }
        }
        mappings.push(PortMapping {
            port: format!("{}/{proto}", start + i),
            host_ip: ip.clone(),
            host_port: host,
        });
    }
    Ok(mappings)
}

/// docker 28's long `-p` syntax (`target=80,published=8080,protocol=udp`) turned into the
/// short one; short specs pass through.
pub fn publish_to_short(value: &str) -> Result<String, String> {
    if !value.contains('=') {
        return Ok(value.to_string());
    }
    let (mut target, mut published, mut protocol, mut host_ip) =
        (String::new(), String::new(), String::new(), String::new());
    for field in value.split(',') {
        let Some((key, val)) = field.split_once('=') else {
            return Err(format!("invalid field {field}"));
        };
        match key.to_ascii_lowercase().as_str() {
            "target" => target = val.to_string(),
            "published" => published = val.to_string(),
            "protocol" => protocol = val.to_string(),
            "host-ip" | "host_ip" => host_ip = val.to_string(),
            "mode" => {}
            _ => return Err(format!("invalid field key {key}")),
        }
    }
    if target.is_empty() {
        return Err("missing mandatory field \"target\"".to_string());
    }
    let mut spec = String::new();
    if !host_ip.is_empty() {
        spec.push_str(&host_ip);
        spec.push(':');
    }
    if !published.is_empty() || !host_ip.is_empty() {
        spec.push_str(&published);
        spec.push(':');
    }
    spec.push_str(&target);
    if !protocol.is_empty() {
        spec.push('/');
        spec.push_str(&protocol);
    }
    Ok(spec)
}

/// `ExposedPorts` (port → `{}`) and `PortBindings` (port → bindings), sorted by port key.
pub type PortMaps = (BTreeMap<String, Value>, BTreeMap<String, Vec<Value>>);

/// Resolves a bare `NAME` line of an env file (`None`: left out).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// All `-p` specs into `ExposedPorts` and `PortBindings`, plus `--expose` ranges.
pub fn ports(publish: &[String], expose: &[String]) -> Result<PortMaps, String> {
    let mut exposed = BTreeMap::new();
    let mut bindings: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for spec in publish {
        let spec = publish_to_short(spec)?;
        for mapping in parse_port_spec(&spec)? {
            exposed.insert(mapping.port.clone(), json!({}));
            bindings
                .entry(mapping.port)
                .or_default()
                .push(json!({"HostIp": mapping.host_ip, "HostPort": mapping.host_port}));
        }
    }
    for spec in expose {
        let (proto, port) = split_proto_port(spec);
        let (start, end) = parse_port_range(&port)
            .map_err(|e| format!("invalid range format for --expose: {spec}, error: {e}"))?;
        for p in start..=end {
            exposed.insert(format!("{p}/{proto}"), json!({}));
        }
    }
    Ok((exposed, bindings))
}

// ---------------------------------------------------------------------------------------
// Volumes and mounts

/// What docker's compose loader makes of a `-v` spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSpec {
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub bind: bool,
}

/// docker's `loader.ParseVolume` (Linux paths only): `[source:]target[:options]`.
pub fn parse_volume(spec: &str) -> Result<VolumeSpec, String> {
    let mut volume = VolumeSpec::default();
    match spec.chars().count() {
        0 => return Err("invalid empty volume spec".to_string()),
        1 | 2 => {
            volume.target = spec.to_string();
            return Ok(volume);
        }
        _ => {}
    }
    let sections: Vec<&str> = spec.split(':').collect();
    let last = sections.len() - 1;
    for (i, section) in sections.iter().enumerate() {
        let at_end = i == last;
        if section.is_empty() {
            return Err(format!(
                "invalid spec: {spec}: empty section between colons"
            ));
        }
        if volume.source.is_empty() && at_end && volume.target.is_empty() {
            volume.target = section.to_string();
        } else if volume.source.is_empty() && volume.target.is_empty() {
            volume.source = section.to_string();
        } else if volume.target.is_empty() {
            volume.target = section.to_string();
        } else if !at_end {
            return Err(format!("invalid spec: {spec}: too many colons"));
        } else {
            for option in section.split(',') {
                match option {
                    "ro" => volume.read_only = true,
                    "rw" => volume.read_only = false,
                    _ => {}
                }
            }
        }
    }
    volume.bind = volume.source.starts_with(['.', '/', '~']);
    Ok(volume)
}

/// `-v` specs split as docker does: specs with a source become `HostConfig.Binds` (relative
/// `./x` sources made absolute), the rest anonymous `Config.Volumes`.
pub fn volumes(specs: &[String]) -> Result<(Vec<String>, BTreeMap<String, Value>), String> {
    let mut binds = Vec::new();
    let mut anonymous = BTreeMap::new();
    for spec in specs {
        let parsed = parse_volume(spec)?;
        if parsed.source.is_empty() {
            anonymous.insert(spec.clone(), json!({}));
            continue;
        }
        let mut bind = spec.clone();
        if parsed.bind {
            if let Some((host, rest)) = spec.split_once(':') {
                if host.starts_with('.') {
                    if let Ok(cwd) = std::env::current_dir() {
                        bind = format!("{}:{rest}", clean_path(&cwd.join(host)));
                    }
                }
            }
        }
        binds.push(bind);
    }
    Ok((binds, anonymous))
}

/// Lexical `filepath.Clean` of an absolute path.
fn clean_path(path: &std::path::Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        use std::path::Component;
        match component {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// Splits one CSV record as Go's `encoding/csv` does for `--mount` (quotes allowed).
fn csv_fields(value: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = value.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            _ => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("extraneous or missing \" in quoted-field".to_string());
    }
    fields.push(field);
    Ok(fields)
}

/// docker's `MountOpt.Set`: one `--mount` value into an API `Mount` object.
pub fn parse_mount(value: &str) -> Result<Value, String> {
    let mut mount_type = "volume".to_string();
    let mut source: Option<String> = None;
    let mut target = String::new();
    let mut read_only = false;
    let mut consistency: Option<String> = None;
    let mut volume_options: Option<Map<String, Value>> = None;
    let mut bind_options: Option<Map<String, Value>> = None;
    let mut tmpfs_options: Option<Map<String, Value>> = None;
    fn volume(o: &mut Option<Map<String, Value>>) -> &mut Map<String, Value> {
        o.get_or_insert_with(|| {
            let mut m = Map::new();
            m.insert("DriverConfig".to_string(), json!({}));
            m
        })
    }
    fn opts(o: &mut Option<Map<String, Value>>) -> &mut Map<String, Value> {
        o.get_or_insert_with(Map::new)
    }
    fn set_on_map(map: &mut Map<String, Value>, key: &str, pair: &str) {
        let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let Value::Object(m) = entry {
            m.insert(k.to_string(), json!(v));
        }
    }
    for field in csv_fields(value)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (field.to_ascii_lowercase(), None),
        };
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => read_only = true,
                "volume-nocopy" => {
                    volume(&mut volume_options).insert("NoCopy".into(), json!(true));
                }
                "bind-nonrecursive" => {
                    return Err(
                        "bind-nonrecursive is deprecated, use bind-recursive=disabled instead"
                            .to_string(),
                    )
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let invalid = || format!("invalid value for {key}: {val}");
        match key.as_str() {
            "type" => mount_type = val.to_ascii_lowercase(),
            "source" | "src" => {
                let mut src = val.clone();
                if src.starts_with('.') {
                    if let Ok(cwd) = std::env::current_dir() {
                        src = clean_path(&cwd.join(&src));
                    }
                }
                source = Some(src);
            }
            "target" | "dst" | "destination" => target = val.clone(),
            "readonly" | "ro" => read_only = parse_bool(&val).ok_or_else(invalid)?,
            "consistency" => consistency = Some(val.to_ascii_lowercase()),
            "bind-propagation" => {
                opts(&mut bind_options).insert("Propagation".into(), json!(val.to_lowercase()));
            }
            "bind-recursive" => {
                let b = opts(&mut bind_options);
                match val.as_str() {
                    "enabled" => {}
                    "disabled" => {
                        b.insert("NonRecursive".into(), json!(true));
                    }
                    "writable" => {
                        b.insert("ReadOnlyNonRecursive".into(), json!(true));
                    }
                    "readonly" => {
                        b.insert("ReadOnlyForceRecursive".into(), json!(true));
                    }
                    _ => return Err(format!(
                        "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                    )),
                }
            }
            "bind-create-mountpoint" => {
                let on = parse_bool(&val).ok_or_else(invalid)?;
                opts(&mut bind_options).insert("CreateMountpoint".into(), json!(on));
            }
            "volume-subpath" => {
                volume(&mut volume_options).insert("Subpath".into(), json!(val));
            }
            "volume-nocopy" => {
                let on = parse_bool(&val)
                    .ok_or_else(|| format!("invalid value for volume-nocopy: {val}"))?;
                volume(&mut volume_options).insert("NoCopy".into(), json!(on));
            }
            "volume-label" => set_on_map(volume(&mut volume_options), "Labels", &val),
            "volume-driver" => {
                let v = volume(&mut volume_options);
                if let Some(Value::Object(d)) = v.get_mut("DriverConfig") {
                    d.insert("Name".into(), json!(val));
                }
            }
            "volume-opt" => {
                let v = volume(&mut volume_options);
                if let Some(d) = v.get_mut("DriverConfig").and_then(Value::as_object_mut) {
                    set_on_map(d, "Options", &val);
                }
            }
            "tmpfs-size" => {
                let size = berth_format::units::ram_in_bytes(&val).map_err(|_| invalid())?;
                opts(&mut tmpfs_options).insert("SizeBytes".into(), json!(size));
            }
            "tmpfs-mode" => {
                let mode = u32::from_str_radix(&val, 8).map_err(|_| invalid())?;
                opts(&mut tmpfs_options).insert("Mode".into(), json!(mode));
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if mount_type.is_empty() {
        return Err("type is required".to_string());
    }
    if target.is_empty() {
        return Err("target is required".to_string());
    }
    for (present, kind) in [
        (volume_options.is_some() && mount_type != "volume", "volume"),
        (bind_options.is_some() && mount_type != "bind", "bind"),
        (tmpfs_options.is_some() && mount_type != "tmpfs", "tmpfs"),
    ] {
        if present {
            return Err(format!(
                "cannot mix '{kind}-*' options with mount type '{mount_type}'"
            ));
        }
    }
    let mut mount = Map::new();
    mount.insert("Type".into(), json!(mount_type));
    if let Some(source) = source.filter(|s| !s.is_empty()) {
        mount.insert("Source".into(), json!(source));
    }
    mount.insert("Target".into(), json!(target));
    if read_only {
        mount.insert("ReadOnly".into(), json!(true));
    }
    if let Some(c) = consistency.filter(|c| !c.is_empty()) {
        mount.insert("Consistency".into(), json!(c));
    }
    if let Some(b) = bind_options {
        mount.insert("BindOptions".into(), Value::Object(b));
    }
    if let Some(v) = volume_options {
        mount.insert("VolumeOptions".into(), Value::Object(v));
    }
    if let Some(t) = tmpfs_options {
        mount.insert("TmpfsOptions".into(), Value::Object(t));
    }
    Ok(Value::Object(mount))
}

// ---------------------------------------------------------------------------------------
// Limits, env, labels

const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// go-units' `ParseUlimit`: `name=soft[:hard]`.
pub fn parse_ulimit(value: &str) -> Result<(String, i64, i64), String> {
    let Some((name, limits)) = value.split_once('=') else {
        return Err(format!("invalid ulimit argument: {value}"));
    };
    if !ULIMIT_NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let parts: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [soft] => {
            let soft = parse_int(soft)?;
            (soft, soft)
        }
        [soft, hard] => {
            let hard = parse_int(hard)?;
            (parse_int(soft)?, hard)
        }
        _ => {
            return Err(format!(
                "too many limit value arguments - [{}], can only have up to two, `soft[:hard]`",
                parts.join(" ")
            ))
        }
    };
    if hard != -1 && soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok((name.to_string(), soft, hard))
}

/// Ulimits in flag order, a later flag for the same name replacing the earlier.
pub fn ulimits(values: &[String]) -> Result<Vec<Value>, (String, String)> {
    let mut list: Vec<(String, i64, i64)> = Vec::new();
    for value in values {
        let parsed = parse_ulimit(value).map_err(|e| (value.clone(), e))?;
        match list.iter_mut().find(|(n, _, _)| *n == parsed.0) {
            Some(slot) => *slot = parsed,
            None => list.push(parsed),
        }
    }
    Ok(list
        .into_iter()
        .map(|(name, soft, hard)| json!({"Name": name, "Hard": hard, "Soft": soft}))
        .collect())
}

/// `-e NAME=value` kept; `-e NAME` takes the value from this environment when set.
pub fn validate_env(value: &str) -> Result<String, String> {
    let (key, has_value) = match value.split_once('=') {
        Some((k, _)) => (k, true),
        None => (value, false),
    };
    if key.is_empty() {
        return Err(format!("invalid environment variable: {value}"));
    }
    if has_value {
        return Ok(value.to_string());
    }
    Ok(match std::env::var(key) {
        Ok(v) => format!("{key}={v}"),
        Err(_) => value.to_string(),
    })
}

/// docker's `parseKeyValueFile`: `#` comments and blank lines skipped, `KEY=value` kept
/// verbatim, a bare `KEY` looked up with `lookup` (dropped when it gives nothing).
pub fn parse_kv_file(path: &str, lookup: Option<Lookup<'_>>) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("open {path}: {}", io_reason(&e)))?;
    parse_kv_text(path, &bytes, lookup)
}

pub fn parse_kv_text(
    path: &str,
    bytes: &[u8],
    lookup: Option<Lookup<'_>>,
) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for (number, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let mut raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if number == 0 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        let text = std::str::from_utf8(raw).map_err(|_| {
            format!(
                "env file {path} contains invalid utf8 bytes at line {}: {:?}",
                number + 1,
                raw
            )
        })?;
        let line = text.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (variable, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        let variable = variable.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
        if variable.contains([' ', '\t', '\n', '\x0b', '\x0c', '\r']) {
            return Err(format!(
                "poorly formatted environment: variable '{variable}' contains whitespaces"
            ));
        }
        if variable.is_empty() {
            return Err(format!(
                "poorly formatted environment: no variable name on line '{line}'"
            ));
        }
        match value {
            Some(value) => lines.push(format!("{variable}={value}")),
            None => {
                if let Some(found) = lookup.and_then(|f| f(line)) {
                    lines.push(format!("{}={found}", variable.trim()));
                }
            }
        }
    }
    Ok(lines)
}

/// Go's `*PathError` reason text for common errno values.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_ascii_lowercase(),
                None => text,
            }
        }
    }
}

/// `k=v` strings into a map (a bare `k` maps to an empty value).
pub fn kv_map(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) => (k.to_string(), val.to_string()),
            None => (v.clone(), String::new()),
        })
        .collect()
}

/// Labels from `--label-file`s then `-l` flags (later wins), as `ReadKVStrings`.
pub fn labels(files: &[String], flags: &[String]) -> Result<Map<String, Value>, String> {
    let mut all = Vec::new();
    for file in files {
        all.extend(parse_kv_file(file, None)?);
    }
    all.extend(flags.iter().cloned());
    let mut map = Map::new();
    for (k, v) in kv_map(&all) {
        map.insert(k, json!(v));
    }
    Ok(map)
}

/// Env from `--env-file`s (bare names looked up here) then `-e` flags.
pub fn env(files: &[String], flags: &[String]) -> Result<Vec<String>, (Option<String>, String)> {
    let lookup = |name: &str| std::env::var(name.trim()).ok();
    let mut all = Vec::new();
    for file in files {
        all.extend(parse_kv_file(file, Some(&lookup)).map_err(|e| (None, e))?);
    }
    for flag in flags {
        all.push(validate_env(flag).map_err(|e| (Some(flag.clone()), e))?);
    }
    Ok(all)
}

// ---------------------------------------------------------------------------------------
// Restart policy, devices, hosts and other small values

/// docker's `ParseRestartPolicy`: `name[:max-retries]`.
pub fn parse_restart_policy(policy: &str) -> Result<(String, i64), String> {
    if policy.is_empty() {
        return Ok((String::new(), 0));
    }
    let (name, count) = match policy.split_once(':') {
        Some(("", _)) => {
            return Err(
                "invalid restart policy format: no policy provided before colon".to_string(),
            )
        }
        Some((name, count)) => (name, count),
        None => (policy, ""),
    };
    let mut max = 0;
    if !count.is_empty() {
        max = count.parse::<i64>().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?;
    }
    Ok((name.to_string(), max))
}

fn valid_device_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return false;
    }
    let mut seen = [false; 3];
    for c in mode.chars() {
        let i = match c {
            'r' => 0,
            'w' => 1,
            'm' => 2,
            _ => return false,
        };
        if seen[i] {
            return false;
        }
        seen[i] = true;
    }
    true
}

/// docker's `validateLinuxPath` for `--device`.
pub fn validate_device(value: &str) -> Result<(), String> {
    if value.matches(':').count() > 2 {
        return Err(format!("bad format for path: {value}"));
    }
    let split: Vec<&str> = value.splitn(3, ':').collect();
    if split[0].is_empty() {
        return Err(format!("bad format for path: {value}"));
    }
    let container_path = match split.len() {
        1 => split[0],
        2 if valid_device_mode(split[1]) => split[0],
        2 => split[1],
        _ => {
            if !valid_device_mode(split[2]) {
                return Err(format!("bad mode specified: {}", split[2]));
            }
            split[1]
        }
    };
    if !container_path.starts_with('/') {
        return Err(format!("{container_path} is not an absolute path"));
    }
    Ok(())
}

/// `--device src[:dst][:perms]` into a `DeviceMapping`.
pub fn parse_device(value: &str) -> Result<Value, String> {
    let parts: Vec<&str> = value.splitn(4, ':').collect();
    let mut permissions = "rwm".to_string();
    let mut dst = String::new();
    match parts.len() {
        1 => {}
        2 => {
            if valid_device_mode(parts[1]) {
                permissions = parts[1].to_string();
            } else {
                dst = parts[1].to_string();
            }
        }
        3 => {
            permissions = parts[2].to_string();
            if valid_device_mode(parts[1]) {
                permissions = parts[1].to_string();
            } else {
                dst = parts[1].to_string();
            }
        }
        _ => return Err(format!("invalid device specification: {value}")),
    }
    let src = parts[0];
    if dst.is_empty() {
        dst = src.to_string();
    }
    Ok(json!({"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": permissions}))
}

/// `--add-host name:ip` (or `name=ip`); `host-gateway` is the daemon's to resolve.
pub fn validate_extra_host(value: &str) -> Result<String, String> {
    let (name, ip) = match value.split_once('=') {
        Some(parts) => parts,
        None => match value.split_once(':') {
            Some(parts) => parts,
            None => return Err(format!("bad format for add-host: \"{value}\"")),
        },
    };
    if name.is_empty() {
        return Err(format!("bad format for add-host: \"{value}\""));
    }
    let bare = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip);
    if ip != "host-gateway" && bare.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address in add-host: \"{ip}\""));
    }
    Ok(format!("{name}:{bare}"))
}

pub fn validate_ip(value: &str) -> Result<String, String> {
    value
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("IP address is not correctly formatted: {value}"))
}

/// Go's `net.ParseMAC` for the 6-byte forms (`aa:bb:..`, `aa-bb-..`, `aabb.ccdd.eeff`).
pub fn valid_mac(value: &str) -> bool {
    let hex_pairs = |parts: Vec<&str>| {
        parts.len() == 6
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if value.contains(':') {
        return hex_pairs(value.split(':').collect());
    }
    if value.contains('-') {
        return hex_pairs(value.split('-').collect());
    }
    let groups: Vec<&str> = value.split('.').collect();
    groups.len() == 3
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// docker's `ValidateSysctl`: namespaced sysctls only.
pub fn validate_sysctl(value: &str) -> Result<(), String> {
    const ALLOWED: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let denied = || format!("sysctl '{value}' is not allowed");
    let Some((key, _)) = value.split_once('=') else {
        return Err(denied());
    };
    if key.is_empty() {
        return Err(denied());
    }
    if ALLOWED.contains(&key) || key.starts_with("net.") || key.starts_with("fs.mqueue.") {
        return Ok(());
    }
    Err(denied())
}

/// docker's `ValidateLink`.
pub fn validate_link(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("empty string specified for links".to_string());
    }
    if value.split(':').count() > 2 {
        return Err(format!("bad format for links: {value}"));
    }
    Ok(())
}

/// `--cpus 1.5` into NanoCPUs, exact like docker's big.Rat parsing.
pub fn parse_cpus(value: &str) -> Result<i64, String> {
    let bad = || format!("failed to parse {value} as a rational number");
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    if let Some((num, den)) = digits.split_once('/') {
        let num: i128 = num.parse().map_err(|_| bad())?;
        let den: i128 = den.parse().map_err(|_| bad())?;
        if den == 0 {
            return Err(bad());
        }
        let nanos = num * 1_000_000_000;
        if nanos % den != 0 {
            return Err("value is too precise".to_string());
        }
        let v = (nanos / den) as i64;
        return Ok(if negative { -v } else { v });
    }
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > 9 {
        return Err("value is too precise".to_string());
    }
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut frac_nanos: i64 = 0;
    if !frac_trimmed.is_empty() {
        frac_nanos = format!("{frac_trimmed:0<9}").parse().map_err(|_| bad())?;
    }
    let v = int
        .checked_mul(1_000_000_000)
        .and_then(|v| v.checked_add(frac_nanos))
        .ok_or_else(bad)?;
    Ok(if negative { -v } else { v })
}

/// `--security-opt`: `key=value` or `key:value`, `no-new-privileges` alone; a seccomp
/// profile path is replaced by its compacted JSON.
pub fn security_opts(values: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for opt in values {
        let (mut key, mut val, mut ok) = match opt.split_once('=') {
            Some((k, v)) => (k, v, true),
            None => (opt.as_str(), "", false),
        };
        if !ok && key != "no-new-privileges" {
            if let Some((k, v)) = opt.split_once(':') {
                (key, val, ok) = (k, v, true);
            }
        }
        if (!ok || val.is_empty()) && key != "no-new-privileges" {
            return Err(format!("Invalid --security-opt: \"{opt}\""));
        }
        if key == "seccomp" && val != "builtin" && val != "unconfined" {
            let text = std::fs::read(val).map_err(|e| {
                format!(
                    "opening seccomp profile ({val}) failed: open {val}: {}",
                    io_reason(&e)
                )
            })?;
            let parsed: Value = serde_json::from_slice(&text)
                .map_err(|e| format!("compacting json for seccomp profile ({val}) failed: {e}"))?;
            out.push(format!("seccomp={parsed}"));
            continue;
        }
        out.push(opt.clone());
    }
    Ok(out)
}

/// Capabilities as docker 28 normalizes them: upper case, `CAP_` prefix, `ALL` kept;
/// caps in both lists are only added; both lists sorted and de-duplicated.
pub fn effective_caps(add: &[String], drop: &[String]) -> (Vec<String>, Vec<String>) {
    let normalize = |caps: &[String]| -> std::collections::BTreeSet<String> {
        let set: std::collections::BTreeSet<String> = caps
            .iter()
            .map(|c| {
                let c = c.trim().to_ascii_uppercase();
                if c == "ALL" || c.starts_with("CAP_") {
                    c
                } else {
                    format!("CAP_{c}")
                }
            })
            .collect();
        if set.contains("ALL") {
            return ["ALL".to_string()].into_iter().collect();
        }
        set
    };
    let add = normalize(add);
    let mut drop = normalize(drop);
    drop.retain(|c| !add.contains(c));
    (add.into_iter().collect(), drop.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs() {
        let m = parse_port_spec("8080:80").unwrap();
        assert_eq!(
            m,
            vec![PortMapping {
                port: "80/tcp".into(),
                host_ip: "".into(),
                host_port: "8080".into()
            }]
        );
        let m = parse_port_spec("127.0.0.1:9000-9001:90-91/udp").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].port, "91/udp");
        assert_eq!(m[1].host_ip, "127.0.0.1");
        assert_eq!(m[1].host_port, "9001");
        let m = parse_port_spec("53").unwrap();
        assert_eq!(
            (m[0].port.as_str(), m[0].host_port.as_str()),
            ("53/tcp", "")
        );
        let m = parse_port_spec("8000-8010:80").unwrap();
        assert_eq!(m[0].host_port, "8000-8010");
        let m = parse_port_spec("[::1]:80:80/SCTP").unwrap();
        assert_eq!(
            (m[0].host_ip.as_str(), m[0].port.as_str()),
            ("::1", "80/sctp")
        );
        let m = parse_port_spec("::1:80:80").unwrap();
        assert_eq!(m[0].host_ip, "::1");
        assert_eq!(
            parse_port_spec("8080:80:90:1").unwrap_err(),
            "invalid IP address: 8080:80"
        );
        assert_eq!(
            parse_port_spec("abc").unwrap_err(),
            "invalid containerPort: abc"
        );
        assert_eq!(parse_port_spec("80/xyz").unwrap_err(), "invalid proto: xyz");
        assert_eq!(parse_port_spec("x:80").unwrap_err(), "invalid hostPort: x");
        assert_eq!(
            parse_port_spec("1-3:80-81").unwrap_err(),
            "invalid ranges specified for container and host Ports: 80-81 and 1-3"
        );
        assert_eq!(
            parse_port_spec("8080:").unwrap_err(),
            "no port specified: 8080:<empty>"
        );
    }

    #[test]
    fn ports_and_expose() {
        let (exposed, bindings) = ports(
            &[
                "8080:80".into(),
                "127.0.0.1:53:53/udp".into(),
                "8081:80".into(),
            ],
            &["7000-7001".into(), "9/udp".into()],
        )
        .unwrap();
        let keys: Vec<&String> = exposed.keys().collect();
        assert_eq!(keys, ["53/udp", "7000/tcp", "7001/tcp", "80/tcp", "9/udp"]);
        assert_eq!(bindings["80/tcp"].len(), 2);
        assert_eq!(
            bindings["53/udp"][0],
            json!({"HostIp": "127.0.0.1", "HostPort": "53"})
        );
        assert_eq!(
            ports(&[], &["abc".into()]).unwrap_err(),
            "invalid range format for --expose: abc, error: strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            publish_to_short("target=80,published=8080,protocol=udp").unwrap(),
            "8080:80/udp"
        );
    }

    #[test]
    fn volume_specs() {
        let v = parse_volume("/tmp:/data:ro").unwrap();
        assert_eq!(
            v,
            VolumeSpec {
                source: "/tmp".into(),
                target: "/data".into(),
                read_only: true,
                bind: true
            }
        );
        let v = parse_volume("named:/n").unwrap();
        assert!(!v.bind);
        assert_eq!(v.source, "named");
        let v = parse_volume("/anon").unwrap();
        assert_eq!((v.source.as_str(), v.target.as_str()), ("", "/anon"));
        assert_eq!(
            parse_volume(":/x").unwrap_err(),
            "invalid spec: :/x: empty section between colons"
        );
        assert_eq!(
            parse_volume("/a:/b:ro:x").unwrap_err(),
            "invalid spec: /a:/b:ro:x: too many colons"
        );
        let (binds, anon) =
            volumes(&["/tmp:/data:ro".into(), "named:/n".into(), "/anon".into()]).unwrap();
        assert_eq!(binds, ["/tmp:/data:ro", "named:/n"]);
        assert!(anon.contains_key("/anon"));
        let (binds, _) = volumes(&["./x:/y".into()]).unwrap();
        assert!(binds[0].starts_with('/') && binds[0].ends_with("/x:/y"));
    }

    #[test]
    fn mounts() {
        assert_eq!(
            parse_mount("type=bind,src=/tmp,dst=/m,readonly").unwrap(),
            json!({"Type": "bind", "Source": "/tmp", "Target": "/m", "ReadOnly": true})
        );
        assert_eq!(
            parse_mount("type=volume,src=v2,dst=/v2,volume-opt=a=b").unwrap(),
            json!({"Type": "volume", "Source": "v2", "Target": "/v2",
                   "VolumeOptions": {"DriverConfig": {"Options": {"a": "b"}}}})
        );
        assert_eq!(
            parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap(),
            json!({"Type": "tmpfs", "Target": "/t",
                   "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o1770}})
        );
        assert_eq!(
            parse_mount("dst=/vv,ro,volume-nocopy").unwrap(),
            json!({"Type": "volume", "Target": "/vv", "ReadOnly": true,
                   "VolumeOptions": {"DriverConfig": {}, "NoCopy": true}})
        );
        assert_eq!(parse_mount("src=/x").unwrap_err(), "target is required");
        assert_eq!(
            parse_mount("type=tmpfs,dst=/x,bind-propagation=shared").unwrap_err(),
            "cannot mix 'bind-*' options with mount type 'tmpfs'"
        );
        assert_eq!(
            parse_mount("type=bind,dst=/x,bogus").unwrap_err(),
            "invalid field 'bogus' must be a key=value pair"
        );
        assert_eq!(
            parse_mount("type=bind,dst=/x,foo=1").unwrap_err(),
            "unexpected key 'foo' in 'foo=1'"
        );
        assert_eq!(
            parse_mount("\"type=bind\",\"dst=/a,b\"").unwrap(),
            json!({"Type": "bind", "Target": "/a,b"})
        );
    }

    #[test]
    fn ulimit_values() {
        assert_eq!(
            parse_ulimit("nofile=1024:2048").unwrap(),
            ("nofile".into(), 1024, 2048)
        );
        assert_eq!(parse_ulimit("nproc=10").unwrap(), ("nproc".into(), 10, 10));
        assert_eq!(parse_ulimit("core=-1").unwrap(), ("core".into(), -1, -1));
        assert_eq!(
            parse_ulimit("nofile").unwrap_err(),
            "invalid ulimit argument: nofile"
        );
        assert_eq!(
            parse_ulimit("bogus=1").unwrap_err(),
            "invalid ulimit type: bogus"
        );
        assert_eq!(
            parse_ulimit("nofile=a").unwrap_err(),
            "strconv.ParseInt: parsing \"a\": invalid syntax"
        );
        assert_eq!(
            parse_ulimit("nofile=10:5").unwrap_err(),
            "ulimit soft limit must be less than or equal to hard limit: 10 > 5"
        );
        let list = ulimits(&["nofile=1".into(), "nproc=2".into(), "nofile=3:4".into()]).unwrap();
        assert_eq!(
            list,
            vec![
                json!({"Name": "nofile", "Hard": 4, "Soft": 3}),
                json!({"Name": "nproc", "Hard": 2, "Soft": 2})
            ]
        );
    }

    #[test]
    fn env_files() {
        let lookup = |name: &str| (name == "HOSTVAR").then(|| "fromhost".to_string());
        let text = b"\xEF\xBB\xBFA=1\n# comment\n  B=two words \nHOSTVAR\nMISSING\n\nC=x=y\r\n";
        assert_eq!(
            parse_kv_text("f", text, Some(&lookup)).unwrap(),
            ["A=1", "B=two words ", "HOSTVAR=fromhost", "C=x=y"]
        );
        assert_eq!(
            parse_kv_text("f", b"BAD KEY=1\n", None).unwrap_err(),
            "poorly formatted environment: variable 'BAD KEY' contains whitespaces"
        );
        assert_eq!(
            parse_kv_text("f", b"=1\n", None).unwrap_err(),
            "poorly formatted environment: no variable name on line '=1'"
        );
        // Label files never look names up.
        assert_eq!(parse_kv_text("f", b"a=b\nlonely\n", None).unwrap(), ["a=b"]);
        assert_eq!(
            validate_env("=x").unwrap_err(),
            "invalid environment variable: =x"
        );
        assert_eq!(validate_env("X=1").unwrap(), "X=1");
        assert_eq!(
            validate_env("BERTH_SURELY_UNSET_VAR").unwrap(),
            "BERTH_SURELY_UNSET_VAR"
        );
        let missing = env(&["/nonexistent/env".into()], &[]).unwrap_err();
        assert_eq!(
            missing.1,
            "open /nonexistent/env: no such file or directory"
        );
    }

    #[test]
    fn label_values() {
        let map = labels(
            &[],
            &["a=b".into(), "c".into(), "x=y=z".into(), "a=2".into()],
        )
        .unwrap();
        assert_eq!(Value::Object(map), json!({"a": "2", "c": "", "x": "y=z"}));
    }

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart_policy("no").unwrap(), ("no".into(), 0));
        assert_eq!(
            parse_restart_policy("always").unwrap(),
            ("always".into(), 0)
        );
        assert_eq!(
            parse_restart_policy("on-failure:3").unwrap(),
            ("on-failure".into(), 3)
        );
        assert_eq!(
            parse_restart_policy("on-failure:x").unwrap_err(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(
            parse_restart_policy(":3").unwrap_err(),
            "invalid restart policy format: no policy provided before colon"
        );
        // Unknown names are the daemon's to refuse.
        assert_eq!(parse_restart_policy("bogus").unwrap(), ("bogus".into(), 0));
    }

    #[test]
    fn devices_hosts_and_small_values() {
        assert_eq!(
            parse_device("/dev/null").unwrap(),
            json!({"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "rwm"})
        );
        assert_eq!(
            parse_device("/dev/null:/dev/mynull:rw").unwrap()["CgroupPermissions"],
            "rw"
        );
        assert_eq!(
            parse_device("/dev/zero:r").unwrap()["PathInContainer"],
            "/dev/zero"
        );
        assert_eq!(
            validate_device(":/x").unwrap_err(),
            "bad format for path: :/x"
        );
        assert_eq!(
            validate_device("/a:b").unwrap_err(),
            "b is not an absolute path"
        );
        assert_eq!(
            validate_device("/a:/b:x").unwrap_err(),
            "bad mode specified: x"
        );
        assert_eq!(validate_extra_host("h:1.2.3.4").unwrap(), "h:1.2.3.4");
        assert_eq!(validate_extra_host("h=::1").unwrap(), "h:::1");
        assert_eq!(
            validate_extra_host("h:host-gateway").unwrap(),
            "h:host-gateway"
        );
        assert_eq!(
            validate_extra_host("bad").unwrap_err(),
            "bad format for add-host: \"bad\""
        );
        assert_eq!(
            validate_extra_host("h:notanip").unwrap_err(),
            "invalid IP address in add-host: \"notanip\""
        );
        assert!(valid_mac("02:42:ac:11:00:02"));
        assert!(!valid_mac("zz"));
        assert!(validate_sysctl("net.ipv4.ip_forward=1").is_ok());
        assert!(validate_sysctl("kernel.shmmax=1").is_ok());
        assert_eq!(
            validate_sysctl("foo").unwrap_err(),
            "sysctl 'foo' is not allowed"
        );
        assert_eq!(
            validate_link("a:b:c").unwrap_err(),
            "bad format for links: a:b:c"
        );
        assert_eq!(parse_cpus("1.5").unwrap(), 1_500_000_000);
        assert_eq!(parse_cpus("0.000000001").unwrap(), 1);
        assert_eq!(parse_cpus("3/2").unwrap(), 1_500_000_000);
        assert_eq!(parse_cpus("-1").unwrap(), -1_000_000_000);
        assert_eq!(
            parse_cpus("abc").unwrap_err(),
            "failed to parse abc as a rational number"
        );
        assert_eq!(
            parse_cpus("0.0000000001").unwrap_err(),
            "value is too precise"
        );
        assert_eq!(
            security_opts(&["bogus".into()]).unwrap_err(),
            "Invalid --security-opt: \"bogus\""
        );
        assert_eq!(
            security_opts(&["no-new-privileges".into(), "label:disable".into()]).unwrap(),
            ["no-new-privileges", "label:disable"]
        );
        let (add, drop) = effective_caps(
            &["net_admin".into(), "CAP_SYS_TIME".into()],
            &["mknod".into(), "NET_ADMIN".into()],
        );
        assert_eq!(add, ["CAP_NET_ADMIN", "CAP_SYS_TIME"]);
        assert_eq!(drop, ["CAP_MKNOD"]);
        assert_eq!(parse_duration("5s").unwrap(), 5_000_000_000);
        assert_eq!(
            parse_duration("1").unwrap_err(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_duration("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            parse_uint("70000", 16).unwrap_err(),
            "strconv.ParseUint: parsing \"70000\": value out of range"
        );
    }
}
