//! `volumes:` entries of a service: short (`[SOURCE:]TARGET[:MODE]`) and long syntax.
//! A source starting with `.`, `/` or `~` is a bind (made absolute against the project
//! directory); any other source names a top-level volume; no source is anonymous.

use std::path::Path;

use serde_json::Value;

use crate::error::{invalid, Result};
use crate::model::{Mount, MountType};
use crate::values::{absolute, bool_value, check_keys, object, opt_string, size, string};

pub fn parse(value: &Value, base: &Path, place: &str) -> Result<Mount> {
    match value {
        Value::Object(map) => long(map, base, place),
        other => short(&string(other, place)?, base, place),
    }
}

fn is_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

fn short(text: &str, base: &Path, place: &str) -> Result<Mount> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => {
            return Err(invalid(
                place,
                format!("invalid volume specification {text:?}"),
            ))
        }
    };
    if target.is_empty() || !target.starts_with('/') {
        return Err(invalid(
            place,
            format!(
                "invalid volume specification {text:?}: the mount point must be an absolute path"
            ),
        ));
    }
    let mut mount = Mount {
        kind: MountType::Volume,
        source: None,
        target: target.to_string(),
        read_only: false,
        propagation: None,
        create_host_path: true,
        nocopy: false,
        tmpfs_size: None,
        selinux: None,
    };
    if let Some(source) = source.filter(|s| !s.is_empty()) {
        if is_path(source) {
            mount.kind = MountType::Bind;
            mount.source = Some(absolute(base, source).display().to_string());
        } else {
            mount.source = Some(source.to_string());
            mount.create_host_path = false;
        }
    } else {
        mount.create_host_path = false;
    }
    for option in mode.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" => mount.read_only = true,
            "rw" => mount.read_only = false,
            "z" | "Z" => mount.selinux = Some(option.to_string()),
            "nocopy" => mount.nocopy = true,
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                mount.propagation = Some(option.to_string())
            }
            other => {
                return Err(invalid(
                    place,
                    format!("invalid mode {other:?} in volume specification {text:?}"),
                ))
            }
        }
    }
    Ok(mount)
}

fn long(map: &serde_json::Map<String, Value>, base: &Path, place: &str) -> Result<Mount> {
    check_keys(
        map,
        &[
            "type",
            "source",
            "target",
            "read_only",
            "bind",
            "volume",
            "tmpfs",
            "consistency",
        ],
        place,
    )?;
    let kind = match opt_string(map.get("type"), place)?.as_deref() {
        Some("volume") | None => MountType::Volume,
        Some("bind") => MountType::Bind,
        Some("tmpfs") => MountType::Tmpfs,
        Some(other) => return Err(invalid(place, format!("unsupported mount type {other:?}"))),
    };
    let target = opt_string(map.get("target"), &format!("{place}.target"))?
        .ok_or_else(|| invalid(place, "target is required"))?;
    let mut source =
        opt_string(map.get("source"), &format!("{place}.source"))?.filter(|s| !s.is_empty());
    if kind == MountType::Bind {
        let s = source.ok_or_else(|| invalid(place, "a bind mount needs a source"))?;
        source = Some(absolute(base, &s).display().to_string());
    }
    if kind == MountType::Tmpfs && source.is_some() {
        return Err(invalid(place, "a tmpfs mount has no source"));
    }
    let mut mount = Mount {
        kind,
        source,
        target,
        read_only: bool_value(map.get("read_only"), place)?.unwrap_or(false),
        propagation: None,
        create_host_path: false,
        nocopy: false,
        tmpfs_size: None,
        selinux: None,
    };
    if let Some(bind) = map.get("bind") {
        let bind = object(bind, &format!("{place}.bind"))?;
        check_keys(
            bind,
            &["propagation", "create_host_path", "selinux"],
            &format!("{place}.bind"),
        )?;
        mount.propagation = opt_string(bind.get("propagation"), place)?;
        mount.create_host_path = bool_value(bind.get("create_host_path"), place)?.unwrap_or(true);
        mount.selinux = opt_string(bind.get("selinux"), place)?;
    } else if kind == MountType::Bind {
        mount.create_host_path = true;
    }
    if let Some(volume) = map.get("volume") {
        let volume = object(volume, &format!("{place}.volume"))?;
        check_keys(volume, &["nocopy", "subpath"], &format!("{place}.volume"))?;
        mount.nocopy = bool_value(volume.get("nocopy"), place)?.unwrap_or(false);
    }
    if let Some(tmpfs) = map.get("tmpfs") {
        let tmpfs = object(tmpfs, &format!("{place}.tmpfs"))?;
        check_keys(tmpfs, &["size", "mode"], &format!("{place}.tmpfs"))?;
        mount.tmpfs_size = size(tmpfs.get("size"), place)?;
    }
    Ok(mount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms() {
        let base = Path::new("/proj");
        let m = parse(&json!("/data"), base, "v").unwrap();
        assert_eq!((m.kind, m.source), (MountType::Volume, None));
        let m = parse(&json!("db:/var/lib/db:ro"), base, "v").unwrap();
        assert_eq!(
            (m.kind, m.source.as_deref(), m.read_only),
            (MountType::Volume, Some("db"), true)
        );
        let m = parse(&json!(".:/code"), base, "v").unwrap();
        assert_eq!(
            (m.kind, m.source.as_deref()),
            (MountType::Bind, Some("/proj"))
        );
        assert!(parse(&json!("a:b"), base, "v").is_err());
    }
}
