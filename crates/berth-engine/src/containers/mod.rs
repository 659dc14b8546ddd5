//! The container service: records, lookup, and one file per verb (create, start, stop,
//! remove, ...). Container processes run under `berth-shim`; this service prepares the
//! rootfs and OCI bundle, launches the shim, and follows the container's life from its
//! state files.

mod attach;
pub(crate) mod create;
mod etc_files;
pub(crate) use etc_files::{add_own_addresses, switch_to_embedded_dns};
pub(crate) use list::parse_time_filter;
pub mod exec;
mod exit;
pub mod health;
mod inspect;
pub mod introspect;
mod link_rules;
pub(crate) mod links;
mod list;
mod logs;
mod names;
mod record;
mod remove;
pub(crate) mod rootfs;
mod spec;
mod start;
mod stop;
mod wait;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use berth_api::ApiError;
use tokio::sync::watch;

pub use attach::{AttachOptions, AttachStream};
pub use introspect::{CommitRequest, UpdateRequest};
pub use list::{ListOptions, LIST_FILTERS};
pub use logs::LogOptions;
pub use record::{Record, Status};
pub use wait::WaitCondition;

/// One container: its persisted record, a change signal for waiters, and a lock that
/// serializes lifecycle operations (start, stop, remove) on it.
pub struct Container {
    pub id: String,
    /// `<data-root>/containers/<id>`: record, overlay upper/work, etc files, log.
    pub dir: PathBuf,
    /// `<exec-root>/containers/<id>`: bundle and shim state.
    pub state_dir: PathBuf,
    record: Mutex<Record>,
    changed: watch::Sender<u64>,
    pub(crate) op: tokio::sync::Mutex<()>,
    /// Attachers waiting for the next start (`docker run` attaches first).
    pub(crate) attach_waiters: Mutex<Vec<attach::AttachWaiter>>,
}

impl Container {
    fn new(record: Record, dir: PathBuf, state_dir: PathBuf) -> Arc<Container> {
        let (changed, _) = watch::channel(0);
        Arc::new(Container {
            id: record.id.clone(),
            dir,
            state_dir,
            record: Mutex::new(record),
            changed,
            op: tokio::sync::Mutex::new(()),
            attach_waiters: Mutex::new(Vec::new()),
        })
    }

    /// A copy of the current record.
    pub fn snapshot(&self) -> Record {
        self.record
            .lock()
            .expect("container record poisoned")
            .clone()
    }

    /// Reads the current record in place, without copying it (scans over every
    /// container that look at one field).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Record) -> R) -> R {
        f(&self.record.lock().expect("container record poisoned"))
    }

    /// Changes the record, persists it, and wakes waiters.
    pub fn update(&self, change: impl FnOnce(&mut Record)) -> Result<Record, ApiError> {
        let mut record = self.record.lock().expect("container record poisoned");
        change(&mut record);
        record
            .save(&self.dir)
            .map_err(|e| ApiError::system(format!("saving container {}: {e}", self.id)))?;
        let snapshot = record.clone();
        drop(record);
        self.changed.send_modify(|n| *n += 1);
        Ok(snapshot)
    }

    /// Changes the record and wakes waiters; persists it only when `change` says so
    /// (frequent, low-value changes such as health probe results).
    pub(crate) fn update_persisting_if(
        &self,
        change: impl FnOnce(&mut Record) -> bool,
    ) -> Result<Record, ApiError> {
        let mut record = self.record.lock().expect("container record poisoned");
        if change(&mut record) {
            record
                .save(&self.dir)
                .map_err(|e| ApiError::system(format!("saving container {}: {e}", self.id)))?;
        }
        let snapshot = record.clone();
        drop(record);
        self.changed.send_modify(|n| *n += 1);
        Ok(snapshot)
    }

    pub fn status(&self) -> Status {
        self.record
            .lock()
            .expect("container record poisoned")
            .state
            .status
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Wakes waiters without changing the record (removal).
    fn notify(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// All containers, by ID and by name.
#[derive(Default)]
pub struct Containers {
    by_id: RwLock<HashMap<String, Arc<Container>>>,
    /// `/name` → ID.
    names: RwLock<HashMap<String, String>>,
}

impl Containers {
    /// Finds a container by full ID, name, or unique ID prefix (docker's order).
    pub fn get(&self, reference: &str) -> Result<Arc<Container>, ApiError> {
        let not_found = || ApiError::not_found(format!("No such container: {reference}"));
        if reference.is_empty() {
            return Err(not_found());
        }
        let by_id = self.by_id.read().expect("containers poisoned");
        if let Some(c) = by_id.get(reference) {
            return Ok(c.clone());
        }
        let name = format!("/{}", reference.trim_start_matches('/'));
        if let Some(id) = self.names.read().expect("names poisoned").get(&name) {
            if let Some(c) = by_id.get(id) {
                return Ok(c.clone());
            }
        }
        let mut matches = by_id.values().filter(|c| c.id.starts_with(reference));
        match (matches.next(), matches.next()) {
            (Some(c), None) => Ok(c.clone()),
            (Some(_), Some(_)) => Err(ApiError::invalid(format!(
                "Multiple IDs found with provided prefix: {reference}"
            ))),
            _ => Err(not_found()),
        }
    }

    pub fn all(&self) -> Vec<Arc<Container>> {
        self.by_id
            .read()
            .expect("containers poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// Reserves `name` for `id`, with docker's conflict message when taken.
    fn reserve_name(&self, name: &str, id: &str) -> Result<(), ApiError> {
        let mut names = self.names.write().expect("names poisoned");
        if let Some(owner) = names.get(name) {
            return Err(ApiError::conflict(format!(
                "Conflict. The container name \"{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
            )));
        }
        names.insert(name.to_string(), id.to_string());
        Ok(())
    }

    fn release_name(&self, name: &str) {
        self.names.write().expect("names poisoned").remove(name);
    }

    fn insert(&self, container: Arc<Container>) {
        self.by_id
            .write()
            .expect("containers poisoned")
            .insert(container.id.clone(), container);
    }

    fn remove(&self, id: &str) -> Option<Arc<Container>> {
        self.by_id.write().expect("containers poisoned").remove(id)
    }

    /// Whether any container uses an image, and whether it runs (for `rmi`).
    pub fn image_user(&self, image_id: &str) -> Option<(String, bool)> {
        self.all().into_iter().find_map(|c| {
            let record = c.snapshot();
            (record.image_id == image_id)
                .then(|| (record.id.clone(), record.state.status.is_live()))
        })
    }
}

/// Where a container's files live.
pub(crate) fn container_dirs(data_root: &Path, exec_root: &Path, id: &str) -> (PathBuf, PathBuf) {
    (
        data_root.join("containers").join(id),
        exec_root.join("containers").join(id),
    )
}

/// Loads every container record from the data root (at daemon start).
pub(crate) fn load_all(data_root: &Path, exec_root: &Path) -> Containers {
    let containers = Containers::default();
    let Ok(entries) = std::fs::read_dir(data_root.join("containers")) else {
        return containers;
    };
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let (dir, state_dir) = container_dirs(data_root, exec_root, &id);
        match Record::load(&dir) {
            Ok(record) => {
                let _ = containers.reserve_name(&record.name, &record.id);
                containers.insert(Container::new(record, dir, state_dir));
            }
            Err(e) => {
                // A create that crashed before its record was written leaves only a
                // folder; nothing refers to it.
                tracing::warn!(
                    "removing container folder {} without a usable record: {e}",
                    dir.display()
                );
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    containers
}

/// The current time as moby prints it (RFC 3339, nanoseconds, UTC).
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
