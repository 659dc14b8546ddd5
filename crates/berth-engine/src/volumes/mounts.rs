//! A container's mounts as the daemon records them (moby's `MountPoints`): `-v` specs
//! (`HostConfig.Binds`), `--mount` (`HostConfig.Mounts`), `--volumes-from` and the
//! anonymous volumes of `Config.Volumes` (`-v /path` and the image's `VOLUME`).
//!
//! `plan` checks everything and touches nothing, so bad input is refused before any
//! volume exists; `Engine::volumes_attach` (in `usage`) then creates the volumes and
//! takes the container's references on them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use berth_api::types::container::{CreateRequest, Mount};
use berth_api::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{validate_name, LOCAL_DRIVER};
use crate::containers::Containers;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Volume => "volume",
            MountType::Tmpfs => "tmpfs",
        }
    }
}

/// One mount of a container, resolved at create and kept in its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRecord {
    #[serde(rename = "Type")]
    pub kind: MountType,
    /// The volume's name (volumes only).
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Host path: the bind source, or the volume's `_data`.
    #[serde(rename = "Source", default)]
    pub source: String,
    #[serde(rename = "Destination")]
    pub destination: String,
    #[serde(rename = "Driver", default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// The `-v` mode text (`ro`, `rw,z`, ...), as inspect shows it.
    #[serde(rename = "Mode", default)]
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    #[serde(rename = "Propagation", default)]
    pub propagation: String,
    /// Fill the volume with the image's content at the destination while it is empty.
    #[serde(rename = "CopyData", default)]
    pub copy_data: bool,
    /// The user gave no source: `rm -v` and `--rm` remove the volume.
    #[serde(rename = "Anonymous", default)]
    pub anonymous: bool,
    /// `-v` binds create a missing host folder at start (`--mount` refuses it at create).
    #[serde(rename = "CreateSource", default)]
    pub create_source: bool,
    #[serde(rename = "NonRecursive", default)]
    pub non_recursive: bool,
    #[serde(
        rename = "TmpfsOptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tmpfs_options: Option<String>,
}

impl MountRecord {
    pub fn is_volume(&self) -> bool {
        self.kind == MountType::Volume
    }

    /// The API's `MountPoint`, in moby's field order (`Name` and `Driver` for volumes).
    pub fn to_json(&self) -> Value {
        let mut value = json!({ "Type": self.kind.as_str() });
        let object = value.as_object_mut().expect("object");
        if !self.name.is_empty() {
            object.insert("Name".into(), json!(self.name));
        }
        object.insert("Source".into(), json!(self.source));
        object.insert("Destination".into(), json!(self.destination));
        if !self.driver.is_empty() {
            object.insert("Driver".into(), json!(self.driver));
        }
        object.insert("Mode".into(), json!(self.mode));
        object.insert("RW".into(), json!(self.rw));
        object.insert("Propagation".into(), json!(self.propagation));
        value
    }
}

/// A mount whose volume does not exist yet, or must be referenced.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub record: MountRecord,
    /// Labels and driver options for a volume this mount may create (`--mount
    /// volume-label=`, `volume-opt=`).
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Copied from another container (`--volumes-from`): its volume must exist.
    pub inherited: bool,
}

/// Every mount of a container-to-be, checked.
#[derive(Debug, Default)]
pub(crate) struct MountPlan {
    pub mounts: Vec<Planned>,
}

const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];
const CONSISTENCIES: &[&str] = &["consistent", "cached", "delegated", "default"];
/// Files under /proc that lxcfs-style binds may cover (runc's list).
const PROC_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// moby's `ValidMountMode`: at most one of each kind (rw, label, propagation, copy,
/// consistency), nothing else.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for option in mode.split(',') {
        let slot = match option {
            "ro" | "rw" => 0,
            "z" | "Z" => 1,
            o if PROPAGATIONS.contains(&o) => 2,
            "nocopy" => 3,
            o if CONSISTENCIES.contains(&o) => 4,
            _ => return false,
        };
        counts[slot] += 1;
    }
    counts.iter().all(|c| *c <= 1)
}

fn mode_has(mode: &str, option: &str) -> bool {
    mode.split(',').any(|o| o == option)
}

fn mode_propagation(mode: &str) -> Option<&str> {
    mode.split(',').find(|o| PROPAGATIONS.contains(o))
}

fn invalid_spec(raw: &str) -> String {
    format!("invalid volume specification: '{raw}'")
}

fn mount_config_error(kind: &str, detail: impl std::fmt::Display) -> String {
    format!("invalid mount config for type \"{kind}\": {detail}")
}

/// `path.Clean` for absolute container paths.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or("")),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// Target checks shared by every kind: present, absolute, not `/`, not over `/proc`.
fn check_target(kind: &str, target: &str, bind: bool) -> Result<String, String> {
    if target.is_empty() {
        return Err(mount_config_error(kind, "field Target must not be empty"));
    }
    if !target.starts_with('/') {
        return Err(mount_config_error(
            kind,
            format!("invalid mount path: '{target}' mount path must be absolute"),
        ));
    }
    let clean = clean_path(target);
    if clean == "/" {
        return Err(mount_config_error(
            kind,
            "invalid specification: destination can't be '/'",
        ));
    }
    check_not_proc(kind, &clean, bind)?;
    Ok(clean)
}

/// runc refuses to mount over the container's `/proc` (and inside it, but for the files
/// lxcfs emulates); Berth says so at create instead of at start.
fn check_not_proc(kind: &str, clean: &str, bind: bool) -> Result<(), String> {
    if clean == "/proc" {
        return Err(mount_config_error(
            kind,
            "\"/proc\" cannot be mounted because it is not of type proc",
        ));
    }
    if clean.starts_with("/proc/") && !(bind && PROC_ALLOWED.contains(&clean)) {
        return Err(mount_config_error(
            kind,
            format!("\"{clean}\" cannot be mounted because it is inside /proc"),
        ));
    }
    Ok(())
}

fn check_driver(name: &str, driver: &str) -> Result<(), ApiError> {
    if driver.is_empty() || driver == LOCAL_DRIVER {
        return Ok(());
    }
    Err(ApiError::not_found(format!(
        "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
    )))
}

/// Parses one `-v` spec (`HostConfig.Binds`) like moby's `ParseMountRaw`.
pub(crate) fn parse_bind(raw: &str, volume_driver: &str) -> Result<Planned, ApiError> {
    let parts: Vec<&str> = raw.splitn(4, ':').collect();
    if parts[0].is_empty() {
        return Err(ApiError::invalid(invalid_spec(raw)));
    }
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, ""),
        [source, target] => {
            // `/foo:rw` names no source: a mode cannot stand in for a target.
            if valid_mode(target) {
                return Err(ApiError::invalid(invalid_spec(raw)));
            }
            (*source, *target, "")
        }
        [source, target, mode] => (*source, *target, *mode),
        _ => return Err(ApiError::invalid(invalid_spec(raw))),
    };
    if !valid_mode(mode) {
        return Err(ApiError::invalid(format!("invalid mode: {mode}")));
    }
    let bind = source.starts_with('/');
    let kind = if bind { "bind" } else { "volume" };
    let wrap = |detail: String| ApiError::invalid(format!("{}: {detail}", invalid_spec(raw)));
    let destination = check_target(kind, target, bind).map_err(wrap)?;
    let propagation = mode_propagation(mode).unwrap_or("").to_string();
    let rw = !mode_has(mode, "ro");
    let record = if bind {
        MountRecord {
            kind: MountType::Bind,
            name: String::new(),
            source: clean_path(source),
            destination,
            driver: String::new(),
            mode: mode.to_string(),
            rw,
            propagation: if propagation.is_empty() {
                "rprivate".into()
            } else {
                propagation
            },
            copy_data: false,
            anonymous: false,
            create_source: true,
            non_recursive: false,
            tmpfs_options: None,
        }
    } else {
        if !source.is_empty() {
            validate_name(source)?;
        }
        check_driver(source, volume_driver)?;
        if !propagation.is_empty() {
            return Err(wrap(mount_config_error(
                "volume",
                "propagation mode is only supported for bind mounts",
            )));
        }
        MountRecord {
            kind: MountType::Volume,
            name: source.to_string(),
            source: String::new(),
            destination,
            driver: LOCAL_DRIVER.into(),
            // moby marks named volumes given with -v as shareable (`z`).
            mode: if mode.is_empty() && !source.is_empty() {
                "z".into()
            } else {
                mode.to_string()
            },
            rw,
            propagation: String::new(),
            copy_data: !mode_has(mode, "nocopy"),
            anonymous: source.is_empty(),
            create_source: false,
            non_recursive: false,
            tmpfs_options: None,
        }
    };
    Ok(Planned {
        record,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
        inherited: false,
    })
}

fn field<'a>(options: &'a Option<Value>, key: &str) -> Option<&'a Value> {
    options
        .as_ref()
        .and_then(|o| o.get(key))
        .filter(|v| !v.is_null())
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one `--mount` (`HostConfig.Mounts`) like moby's `ValidateMountConfig`.
pub(crate) fn parse_mount(mount: &Mount) -> Result<Planned, ApiError> {
    let kind = mount.kind.as_str();
    let err = |detail: String| ApiError::invalid(mount_config_error(kind, detail));
    let extra = |name: &str| err(format!("field {name} must not be specified"));
    let known = matches!(kind, "bind" | "volume" | "tmpfs");
    if !known {
        // Target problems are reported first, as moby does.
        check_target(kind, &mount.target, false).map_err(ApiError::invalid)?;
        return Err(err(if matches!(kind, "image" | "npipe" | "cluster") {
            format!("mounts of type \"{kind}\" are not supported")
        } else {
            "mount type unknown".to_string()
        }));
    }
    let destination =
        check_target(kind, &mount.target, kind == "bind").map_err(ApiError::invalid)?;
    let planned = |record| Planned {
        record,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
        inherited: false,
    };
    match kind {
        "bind" => {
            if mount.source.is_empty() {
                return Err(err("field Source must not be empty".into()));
            }
            if mount.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            if mount.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            let propagation = field(&mount.bind_options, "Propagation")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !propagation.is_empty() && !PROPAGATIONS.contains(&propagation) {
                return Err(err(format!("invalid propagation mode: {propagation}")));
            }
            if !mount.source.starts_with('/') {
                return Err(err(format!(
                    "invalid mount path: '{}' mount path must be absolute",
                    mount.source
                )));
            }
            let create = field(&mount.bind_options, "CreateMountpoint")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !create && std::fs::symlink_metadata(&mount.source).is_err() {
                return Err(err(format!(
                    "bind source path does not exist: {}",
                    mount.source
                )));
            }
            Ok(planned(MountRecord {
                kind: MountType::Bind,
                name: String::new(),
                source: clean_path(&mount.source),
                destination,
                driver: String::new(),
                mode: String::new(),
                rw: !mount.read_only,
                propagation: if propagation.is_empty() {
                    "rprivate".into()
                } else {
                    propagation.to_string()
                },
                copy_data: false,
                anonymous: false,
                create_source: create,
                non_recursive: field(&mount.bind_options, "NonRecursive")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                tmpfs_options: None,
            }))
        }
        "volume" => {
            if mount.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if mount.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            let options = &mount.volume_options;
            if field(options, "Subpath")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
            {
                return Err(err("volume subpaths are not supported".into()));
            }
            let name = mount.source.as_str();
            if !name.is_empty() {
                validate_name(name)?;
            }
            let driver = field(options, "DriverConfig");
            let driver_name = driver
                .and_then(|d| d.get("Name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            check_driver(name, driver_name)?;
            let driver_options = string_map(driver.and_then(|d| d.get("Options")));
            super::local::validate_options(&driver_options)
                .map_err(|e| ApiError::invalid(format!("create {name}: {e}")))?;
            let no_copy = field(options, "NoCopy")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(Planned {
                record: MountRecord {
                    kind: MountType::Volume,
                    name: name.to_string(),
                    source: String::new(),
                    destination,
                    driver: LOCAL_DRIVER.into(),
                    mode: String::new(),
                    rw: !mount.read_only,
                    propagation: String::new(),
                    copy_data: !no_copy,
                    anonymous: name.is_empty(),
                    create_source: false,
                    non_recursive: false,
                    tmpfs_options: None,
                },
                labels: string_map(field(options, "Labels")),
                options: driver_options,
                inherited: false,
            })
        }
        _ => {
            if mount.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if mount.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            if !mount.source.is_empty() {
                return Err(extra("Source"));
            }
            let options = tmpfs_options(&mount.tmpfs_options, mount.read_only).map_err(err)?;
            Ok(planned(MountRecord {
                kind: MountType::Tmpfs,
                name: String::new(),
                source: String::new(),
                destination,
                driver: String::new(),
                mode: String::new(),
                rw: !mount.read_only,
                propagation: String::new(),
                copy_data: false,
                anonymous: false,
                create_source: false,
                non_recursive: false,
                tmpfs_options: (!options.is_empty()).then_some(options),
            }))
        }
    }
}

/// `TmpfsOptions` → mount data (moby's `ConvertTmpfsOptions`).
fn tmpfs_options(options: &Option<Value>, read_only: bool) -> Result<String, String> {
    let mut out = Vec::new();
    if read_only {
        out.push("ro".to_string());
    }
    if let Some(mode) = field(options, "Mode")
        .and_then(Value::as_u64)
        .filter(|m| *m != 0)
    {
        out.push(format!("mode={mode:o}"));
    }
    if let Some(size) = field(options, "SizeBytes")
        .and_then(Value::as_i64)
        .filter(|s| *s != 0)
    {
        let mut text = size.to_string();
        for (suffix, divisor) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
            if size % divisor == 0 {
                text = format!("{}{suffix}", size / divisor);
                break;
            }
        }
        out.push(format!("size={text}"));
    }
    if let Some(pairs) = field(options, "Options").and_then(Value::as_array) {
        for pair in pairs {
            let items: Vec<&str> = pair
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match items.as_slice() {
                [key] | [key, _] if !matches!(*key, "exec" | "noexec") => {
                    return Err(format!("invalid option: {key}"))
                }
                [key] => out.push(key.to_string()),
                [key, value] => out.push(format!("{key}={value}")),
                _ => return Err("invalid option array length".into()),
            }
        }
    }
    Ok(out.join(","))
}

/// Splits `CONTAINER[:ro|rw]` (moby's `ParseVolumesFrom`).
pub(crate) fn parse_volumes_from(spec: &str) -> Result<(&str, bool), ApiError> {
    if spec.is_empty() {
        return Err(ApiError::invalid(
            "volumes-from specification cannot be an empty string",
        ));
    }
    let (id, mode) = spec.split_once(':').unwrap_or((spec, ""));
    if mode.is_empty() {
        return Ok((id, true));
    }
    if !valid_mode(mode) || mode_propagation(mode).is_some() || mode_has(mode, "nocopy") {
        return Err(ApiError::invalid(format!("invalid mode: {mode}")));
    }
    Ok((id, !mode_has(mode, "ro")))
}

/// Adds or replaces the mount at `planned`'s destination, keeping first-seen order.
fn put(planned: Planned, order: &mut Vec<String>, map: &mut BTreeMap<String, Planned>) {
    let key = planned.record.destination.clone();
    if map.insert(key.clone(), planned).is_none() {
        order.push(key);
    }
}

/// Checks every mount of a create request, in moby's order: `--volumes-from` first,
/// then `-v` and `--mount` (which replace inherited mounts at the same place but may not
/// collide with each other), then an anonymous volume for every `Config.Volumes` path
/// nothing else covers.
pub(crate) fn plan(
    request: &CreateRequest,
    containers: &Containers,
) -> Result<MountPlan, ApiError> {
    let host = &request.host_config;
    let mut by_destination: BTreeMap<String, Planned> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();

    for spec in host.volumes_from.clone().unwrap_or_default() {
        let (reference, rw) = parse_volumes_from(&spec)?;
        let source = containers.get(reference)?;
        for mount in source.snapshot().mount_points {
            let record = MountRecord {
                rw: mount.rw && rw,
                mode: String::new(),
                copy_data: false,
                ..mount
            };
            put(
                Planned {
                    record,
                    labels: BTreeMap::new(),
                    options: BTreeMap::new(),
                    inherited: true,
                },
                &mut order,
                &mut by_destination,
            );
        }
    }

    let mut explicit: BTreeSet<String> = BTreeSet::new();
    let mut add_explicit = |planned: Planned,
                            order: &mut Vec<String>,
                            map: &mut BTreeMap<String, Planned>|
     -> Result<(), ApiError> {
        let destination = planned.record.destination.clone();
        if !explicit.insert(destination.clone()) {
            return Err(ApiError::invalid(format!(
                "Duplicate mount point: {destination}"
            )));
        }
        put(planned, order, map);
        Ok(())
    };
    for bind in host.binds.clone().unwrap_or_default() {
        let planned = parse_bind(&bind, &host.volume_driver)?;
        add_explicit(planned, &mut order, &mut by_destination)?;
    }
    for mount in host.mounts.clone().unwrap_or_default() {
        let planned = parse_mount(&mount)?;
        add_explicit(planned, &mut order, &mut by_destination)?;
    }

    let tmpfs: BTreeSet<String> = host
        .tmpfs
        .clone()
        .unwrap_or_default()
        .keys()
        .map(|dest| {
            check_target("tmpfs", dest, false).map_err(|e| {
                ApiError::invalid(e.replace("invalid mount config for type \"tmpfs\": ", ""))
            })
        })
        .collect::<Result<_, _>>()?;

    for path in request.config.volumes.clone().unwrap_or_default().keys() {
        let destination = check_target("volume", path, false)
            .map_err(|e| ApiError::invalid(format!("{}: {e}", invalid_spec(path))))?;
        if by_destination.contains_key(&destination) || tmpfs.contains(&destination) {
            continue;
        }
        check_driver("", &host.volume_driver)?;
        put(
            Planned {
                record: MountRecord {
                    kind: MountType::Volume,
                    name: String::new(),
                    source: String::new(),
                    destination,
                    driver: LOCAL_DRIVER.into(),
                    mode: String::new(),
                    rw: true,
                    propagation: String::new(),
                    copy_data: true,
                    anonymous: true,
                    create_source: false,
                    non_recursive: false,
                    tmpfs_options: None,
                },
                labels: BTreeMap::new(),
                options: BTreeMap::new(),
                inherited: false,
            },
            &mut order,
            &mut by_destination,
        );
    }
    let mounts = order
        .into_iter()
        .filter_map(|d| by_destination.remove(&d))
        .collect();
    Ok(MountPlan { mounts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_parse_like_moby() {
        let p = parse_bind("/host:/ctr:ro", "").unwrap().record;
        assert_eq!(p.kind, MountType::Bind);
        assert_eq!(
            (p.source.as_str(), p.destination.as_str(), p.rw),
            ("/host", "/ctr", false)
        );
        assert_eq!(p.propagation, "rprivate");
        let p = parse_bind("data:/data", "").unwrap().record;
        assert_eq!(
            (p.kind, p.name.as_str(), p.mode.as_str(), p.copy_data),
            (MountType::Volume, "data", "z", true)
        );
        let p = parse_bind("data:/data:ro,nocopy", "").unwrap().record;
        assert!(!p.rw && !p.copy_data);
        let p = parse_bind("/anon", "").unwrap().record;
        assert!(p.anonymous && p.name.is_empty());
        let p = parse_bind("/h:/c:rshared", "").unwrap().record;
        assert_eq!(p.propagation, "rshared");
    }

    #[test]
    fn bad_binds_get_mobys_errors() {
        let e = |s: &str| parse_bind(s, "").unwrap_err().message;
        assert_eq!(e("/foo:rw"), "invalid volume specification: '/foo:rw'");
        assert_eq!(e(":/x"), "invalid volume specification: ':/x'");
        assert_eq!(
            e("/a:/b:/c:/d"),
            "invalid volume specification: '/a:/b:/c:/d'"
        );
        assert_eq!(e("/a:/b:bogus"), "invalid mode: bogus");
        assert_eq!(
            e("/a:rel"),
            "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            e("name:rel"),
            "invalid volume specification: 'name:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert!(e("foo/bar:/x").contains("includes invalid characters for a local volume name"));
        assert!(e("./rel:/x").starts_with("create ./rel: \"./rel\" includes invalid characters"));
        assert!(e("/tmp:/proc").contains("\"/proc\" cannot be mounted"));
        assert!(e("/tmp:/proc/sys").contains("inside /proc"));
        assert!(parse_bind("/tmp:/proc/cpuinfo", "").is_ok());
        assert!(e("/tmp:/").contains("destination can't be '/'"));
        assert!(parse_bind("v1:/x", "").is_ok());
        assert!(e("v:/x").contains("too short"));
    }

    #[test]
    fn volumes_from_modes() {
        assert_eq!(parse_volumes_from("db").unwrap(), ("db", true));
        assert_eq!(parse_volumes_from("db:ro").unwrap(), ("db", false));
        assert!(parse_volumes_from("db:rshared").is_err());
        assert!(parse_volumes_from("db:nocopy").is_err());
        assert!(parse_volumes_from("").is_err());
    }

    #[test]
    fn tmpfs_options_convert() {
        let o = Some(json!({"SizeBytes": 64 * 1024 * 1024, "Mode": 0o1777}));
        assert_eq!(tmpfs_options(&o, true).unwrap(), "ro,mode=1777,size=64m");
        let bad = Some(json!({"Options": [["uid", "1"]]}));
        assert!(tmpfs_options(&bad, false).is_err());
    }

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(clean_path("/a/./b/../c/"), "/a/c");
        assert_eq!(clean_path("/../.."), "/");
    }
}
