//! The `local` driver: a volume is a folder; with `type`/`device`/`o` options its `_data`
//! gets a filesystem mounted on it (a tmpfs, a bind of a host folder, a device) from the
//! first container that uses it until the last one stops.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_api::ApiError;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{VolumeMeta, DATA_DIR, META_FILE};

/// The options `volume create -o` takes, as moby's local driver.
const VALID_OPTIONS: &[&str] = &["type", "o", "device", "size"];
/// Option → the options it cannot go without.
const REQUIRED_WITH: &[(&str, &[&str])] = &[
    ("device", &["type"]),
    ("type", &["device"]),
    ("o", &["device", "type"]),
];

/// Checks `-o` options before anything is created (moby's wording).
pub(crate) fn validate_options(options: &BTreeMap<String, String>) -> Result<(), String> {
    for key in options.keys() {
        if !VALID_OPTIONS.contains(&key.as_str()) {
            return Err(format!("invalid option: \"{key}\""));
        }
    }
    if let Some(size) = options.get("size") {
        let bytes = berth_format::units::ram_in_bytes(size).map_err(|e| e.to_string())?;
        if bytes > 0 {
            // Quotas need XFS project quotas on the data root; Berth has none.
            return Err("quota size requested but no quota support".into());
        }
    }
    for (option, required) in REQUIRED_WITH {
        if options.contains_key(*option) {
            for needed in *required {
                if !options.contains_key(*needed) {
                    return Err(format!("missing required option: \"{needed}\""));
                }
            }
        }
    }
    Ok(())
}

/// Whether the volume's `_data` gets a filesystem mounted while it is in use.
pub(crate) fn needs_mount(meta: &VolumeMeta) -> bool {
    meta.options.contains_key("type") || meta.options.contains_key("device")
}

/// Creates `<root>/<name>/{_data,meta.json}` under a temporary name and renames it into
/// place, so a crash leaves either nothing (the `.new-*` folder is removed at start) or
/// a whole volume.
pub(crate) fn create_on_disk(
    root: &Path,
    name: &str,
    meta: &VolumeMeta,
) -> std::io::Result<PathBuf> {
    let target = root.join(name);
    let staging = root.join(format!(
        ".new-{name}-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let result = (|| {
        make_dir(&staging, 0o701)?;
        make_dir(&staging.join(DATA_DIR), 0o755)?;
        let bytes = serde_json::to_vec_pretty(meta).map_err(std::io::Error::other)?;
        crate::atomic::write_file(&staging.join(META_FILE), &bytes)?;
        // rename(2) onto an existing non-empty folder fails, so a racing creator of the
        // same name cannot be overwritten.
        std::fs::rename(&staging, &target)?;
        std::fs::File::open(root)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.map(|()| target)
}

fn make_dir(path: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::DirBuilder::new().mode(mode).create(path)?;
    // The umask may have taken bits away.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Reads a volume folder's metadata. A folder with `_data` but no `meta.json` (copied in
/// from a docker data root, say) is a plain local volume.
pub(crate) fn load(dir: &Path) -> std::io::Result<VolumeMeta> {
    match std::fs::read(dir.join(META_FILE)) {
        Ok(bytes) => {
            let mut meta: VolumeMeta =
                serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
            if meta.driver.is_empty() {
                meta.driver = super::LOCAL_DRIVER.into();
            }
            Ok(meta)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let data = std::fs::metadata(dir.join(DATA_DIR))?;
            let created = data
                .modified()
                .map(chrono::DateTime::<chrono::Local>::from)
                .unwrap_or_else(|_| chrono::Local::now());
            Ok(VolumeMeta {
                driver: super::LOCAL_DRIVER.into(),
                created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ..VolumeMeta::default()
            })
        }
        Err(e) => Err(e),
    }
}

/// Removes a volume folder that is no longer listed, never through a filesystem still
/// mounted on its `_data` (that could be a user's host folder).
pub(crate) fn remove_tree(dir: &Path) {
    let data = dir.join(DATA_DIR);
    if is_mountpoint(&data) {
        let _ = umount2(&data, MntFlags::MNT_DETACH);
        if is_mountpoint(&data) {
            tracing::warn!(
                "leaving {} in place: something is still mounted on its data",
                dir.display()
            );
            return;
        }
    }
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("removing {}: {e}", dir.display());
        }
    }
}

/// Mounts the volume's filesystem (`type`, `device`, `o`) on its `_data`.
pub(crate) fn mount_device(meta: &VolumeMeta, data: &Path) -> Result<(), ApiError> {
    let kind = meta.options.get("type").map(String::as_str).unwrap_or("");
    let device = meta.options.get("device").map(String::as_str).unwrap_or("");
    let options = meta.options.get("o").map(String::as_str).unwrap_or("");
    let fail = |flags: MsFlags, data_text: &str, e: nix::errno::Errno| {
        ApiError::system(format!(
            "error while mounting volume '{}': failed to mount local volume: mount {device}:{}, flags: {:#x}{}: {}",
            data.display(),
            data.display(),
            flags.bits(),
            if data_text.is_empty() { String::new() } else { format!(", data: {data_text}") },
            e.desc().to_lowercase()
        ))
    };
    if device.is_empty() {
        return Err(ApiError::system(format!(
            "error while mounting volume '{}': missing device in volume options",
            data.display()
        )));
    }
    let (flags, data_text) = parse_options(options);
    let fstype = (!kind.is_empty() && kind != "none").then_some(kind);
    let data_arg = (!data_text.is_empty()).then_some(data_text.as_str());
    // A read-only bind takes a second, remounting call.
    let first = if flags.contains(MsFlags::MS_BIND) {
        flags & (MsFlags::MS_BIND | MsFlags::MS_REC)
    } else {
        flags
    };
    mount(Some(device), data, fstype, first, data_arg).map_err(|e| fail(first, &data_text, e))?;
    if flags.contains(MsFlags::MS_BIND) && flags != first {
        let again = flags | MsFlags::MS_REMOUNT;
        if let Err(e) = mount(None::<&str>, data, None::<&str>, again, None::<&str>) {
            let _ = umount2(data, MntFlags::MNT_DETACH);
            return Err(fail(again, &data_text, e));
        }
    }
    Ok(())
}

pub(crate) fn unmount_device(data: &Path) -> Result<(), ApiError> {
    match umount2(data, MntFlags::MNT_DETACH) {
        Ok(()) => Ok(()),
        Err(_) if !is_mountpoint(data) => Ok(()),
        Err(e) => Err(ApiError::system(format!(
            "unmounting volume data {}: {e}",
            data.display()
        ))),
    }
}

/// Splits `o=` into mount flags and the filesystem's own data, as `mount(8)` does.
fn parse_options(text: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for option in text.split(',').filter(|o| !o.is_empty()) {
        let (set, clear) = match option {
            "defaults" | "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            other => {
                data.push(other.to_string());
                continue;
            }
        };
        flags = (flags | set) & !clear;
    }
    (flags, data.join(","))
}

/// Whether `path` is itself a mount point (listed in this process's mountinfo).
pub(crate) fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = path.to_string_lossy();
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .any(|field| unescape_mountinfo(field) == wanted)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_are_checked_like_moby() {
        assert!(validate_options(&options(&[])).is_ok());
        assert!(validate_options(&options(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m")
        ]))
        .is_ok());
        assert_eq!(
            validate_options(&options(&[("foo", "bar")])).unwrap_err(),
            "invalid option: \"foo\""
        );
        assert_eq!(
            validate_options(&options(&[("type", "tmpfs")])).unwrap_err(),
            "missing required option: \"device\""
        );
        assert_eq!(
            validate_options(&options(&[("o", "bind")])).unwrap_err(),
            "missing required option: \"device\""
        );
        assert!(validate_options(&options(&[("size", "10m")])).is_err());
    }

    #[test]
    fn mount_options_split_into_flags_and_data() {
        let (flags, data) = parse_options("bind,ro,size=10m,uid=1000");
        assert!(flags.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY));
        assert_eq!(data, "size=10m,uid=1000");
        let (flags, data) = parse_options("ro,rw");
        assert!(flags.is_empty());
        assert!(data.is_empty());
    }

    #[test]
    fn mountinfo_fields_are_unescaped() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }
}
