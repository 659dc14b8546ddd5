//! The volume service: named and anonymous volumes of the `local` driver, kept as
//! `<data-root>/volumes/<name>/_data` plus `meta.json`, with the references containers
//! hold on them and the mounts they have active.
//!
//! One file per verb (`create`, `remove`, `list`, `inspect`, `prune`); `local` is the
//! driver (folders, options, device mounts), `copyup` fills a fresh volume from the image,
//! `mounts` turns a container's `-v`/`--mount`/`--volumes-from`/`VOLUME` into mount
//! records, and `usage` serves the container service (mount at start, release at exit
//! and removal).

mod copyup;
mod create;
mod inspect;
mod list;
mod local;
pub(crate) mod mounts;
mod prune;
mod remove;
mod usage;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use berth_api::ApiError;

use crate::containers::Containers;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use copyup::scoped_path;
pub use create::CreateRequest;
pub use list::LIST_FILTERS;
pub use mounts::{MountRecord, MountType};

/// The one driver Berth has.
pub const LOCAL_DRIVER: &str = "local";
/// Set (empty value) on volumes created without a name, as moby does.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
/// The folder inside a volume's folder that holds its data (moby's name).
pub const DATA_DIR: &str = "_data";
const META_FILE: &str = "meta.json";

/// What `meta.json` keeps about a volume.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VolumeMeta {
    #[serde(rename = "Driver")]
    pub driver: String,
    #[serde(rename = "Labels", default)]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "Options", default)]
    pub options: BTreeMap<String, String>,
    /// RFC 3339, seconds, as `volume inspect` prints it.
    #[serde(rename = "CreatedAt", default)]
    pub created_at: String,
}

/// One volume: its folder, metadata, and who uses it.
pub struct Volume {
    pub name: String,
    /// `<data-root>/volumes/<name>`.
    pub dir: PathBuf,
    pub meta: VolumeMeta,
    state: Mutex<UseState>,
    /// Held while copy-up fills the volume, so two first starts do not both copy.
    copy_lock: Mutex<()>,
}

#[derive(Default)]
struct UseState {
    /// Containers whose configuration names this volume (any state): `volume rm` refuses
    /// while one exists.
    refs: BTreeSet<String>,
    /// Containers that have it mounted right now (running).
    mounted_by: BTreeSet<String>,
    /// A volume with `type`/`device` options is mounted on `_data` while in use.
    device_mounted: bool,
}

impl Volume {
    /// Where the data lives on the host (`Mountpoint`).
    pub fn data_path(&self) -> PathBuf {
        self.dir.join(DATA_DIR)
    }

    pub fn is_anonymous(&self) -> bool {
        self.meta.labels.contains_key(ANONYMOUS_LABEL)
    }

    /// Containers referencing this volume, sorted.
    pub fn references(&self) -> Vec<String> {
        self.state().refs.iter().cloned().collect()
    }

    pub fn in_use(&self) -> bool {
        !self.state().refs.is_empty()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, UseState> {
        self.state.lock().expect("volume state poisoned")
    }

    /// The API's `Volume` object, in moby's field order.
    pub fn to_json(&self) -> Value {
        json!({
            "CreatedAt": self.meta.created_at,
            "Driver": self.meta.driver,
            "Labels": self.meta.labels,
            "Mountpoint": self.data_path(),
            "Name": self.name,
            "Options": self.meta.options,
            "Scope": "local",
        })
    }
}

/// All volumes, by name.
pub struct Volumes {
    /// `<data-root>/volumes`.
    root: PathBuf,
    by_name: Mutex<BTreeMap<String, Arc<Volume>>>,
    /// One prune at a time (moby's rule).
    pruning: AtomicBool,
}

impl Volumes {
    /// Loads every volume below `<data-root>/volumes`, removes half-done creations and
    /// removals, and restores references and active mounts from the containers.
    pub(crate) fn open(data_root: &Path, containers: &Containers) -> std::io::Result<Volumes> {
        let root = data_root.join("volumes");
        std::fs::create_dir_all(&root)?;
        let mut by_name = BTreeMap::new();
        for entry in std::fs::read_dir(&root)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') {
                // `.new-*` from an interrupted create, `.gone-*` from an interrupted rm.
                local::remove_tree(&path);
                continue;
            }
            if !path.is_dir() {
                continue;
            }
            match local::load(&path) {
                Ok(meta) => {
                    by_name.insert(name.clone(), Arc::new(new_volume(name, path, meta)));
                }
                Err(e) => tracing::warn!("skipping volume folder {}: {e}", path.display()),
            }
        }
        let volumes = Volumes {
            root,
            by_name: Mutex::new(by_name),
            pruning: AtomicBool::new(false),
        };
        for container in containers.all() {
            let record = container.snapshot();
            for mount in record.mount_points.iter().filter(|m| m.is_volume()) {
                let Some(volume) = volumes.find(&mount.name) else {
                    tracing::warn!(
                        "container {} uses volume {} which no longer exists",
                        container.id,
                        mount.name
                    );
                    continue;
                };
                let mut state = volume.state();
                state.refs.insert(container.id.clone());
                // The rootfs is mounted while it runs (or ran when the daemon went away).
                if record.state.mounted {
                    state.mounted_by.insert(container.id.clone());
                }
            }
        }
        // A device mount survives a daemon restart; keep it for its users, drop it if
        // nobody uses the volume any more.
        for volume in volumes.all() {
            if !local::needs_mount(&volume.meta) || !local::is_mountpoint(&volume.data_path()) {
                continue;
            }
            let mut state = volume.state();
            if state.mounted_by.is_empty() {
                if let Err(e) = local::unmount_device(&volume.data_path()) {
                    tracing::warn!("volume {}: {}", volume.name, e.message);
                }
            } else {
                state.device_mounted = true;
            }
        }
        Ok(volumes)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Volume>>> {
        self.by_name.lock().expect("volumes poisoned")
    }

    pub fn find(&self, name: &str) -> Option<Arc<Volume>> {
        self.map().get(name).cloned()
    }

    /// moby's `get NAME: no such volume` (404).
    pub fn get(&self, name: &str) -> Result<Arc<Volume>, ApiError> {
        self.find(name).ok_or_else(|| no_such_volume(name))
    }

    pub fn all(&self) -> Vec<Arc<Volume>> {
        self.map().values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bytes stored below `path`: every non-folder entry once (hard links counted once), not
/// following symlinks or crossing into other filesystems.
pub(crate) fn data_size(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(top) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let mut seen = std::collections::HashSet::new();
    let mut total = 0u64;
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                if meta.dev() == top.dev() {
                    pending.push(entry.path());
                }
            } else if meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

fn new_volume(name: String, dir: PathBuf, meta: VolumeMeta) -> Volume {
    Volume {
        name,
        dir,
        meta,
        state: Mutex::new(UseState::default()),
        copy_lock: Mutex::new(()),
    }
}

pub(crate) fn no_such_volume(name: &str) -> ApiError {
    ApiError::not_found(format!("get {name}: no such volume"))
}

/// docker's rule for local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() == 1 {
        return Err(ApiError::invalid(format!(
            "create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok {
        return Err(ApiError::invalid(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    Ok(())
}

/// Publishes a volume event (`create`, `mount`, `unmount`, `destroy`, `prune`) with the
/// driver among the attributes, as moby does.
pub(crate) fn event_attributes(driver: &str, extra: &[(&str, String)]) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    if !driver.is_empty() {
        attributes.insert("driver".to_string(), driver.to_string());
    }
    for (k, v) in extra {
        attributes.insert((*k).to_string(), v.clone());
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["ab", "a1", "my_vol.1-x", "0x"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["a", "_ab", "-ab", ".ab", "a/b", "a b", "ä1", "", "../x"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        let message = validate_name("foo/bar").unwrap_err().message;
        assert!(
            message.starts_with(
                "create foo/bar: \"foo/bar\" includes invalid characters for a local volume name"
            ),
            "{message}"
        );
    }
}
