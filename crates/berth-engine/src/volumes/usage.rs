//! What the container service asks of volumes: attach at create (create the volumes,
//! take references), mount at start (device mounts, copy-up, `mount` events), unmount
//! when the container stops (`unmount`), detach at removal (`rm -v` and `--rm` remove
//! anonymous volumes).

use std::collections::BTreeSet;
use std::path::Path;

use berth_api::{ApiError, ErrorKind};

use super::mounts::{MountPlan, MountRecord};
use super::{copyup, event_attributes, local, LOCAL_DRIVER};
use crate::containers::Container;
use crate::Engine;

impl Engine {
    /// Creates the volumes a new container names (or that `VOLUME` asks for) and records
    /// its references on them. On failure, nothing it created anonymously is left.
    pub(crate) fn volumes_attach(
        &self,
        container_id: &str,
        plan: MountPlan,
    ) -> Result<Vec<MountRecord>, ApiError> {
        let mut done: Vec<MountRecord> = Vec::with_capacity(plan.mounts.len());
        for planned in plan.mounts {
            let mut record = planned.record;
            if record.is_volume() {
                let volume = if planned.inherited {
                    self.volumes.add_reference(&record.name, container_id)
                } else {
                    self.volume_get_or_create(
                        &record.name,
                        LOCAL_DRIVER,
                        planned.options,
                        planned.labels,
                        Some(container_id),
                    )
                    .map(|(volume, _)| volume)
                };
                match volume {
                    Ok(volume) => {
                        record.name = volume.name.clone();
                        record.source = volume.data_path().display().to_string();
                    }
                    Err(e) => {
                        self.volumes_detach(container_id, &done, true);
                        return Err(e);
                    }
                }
            }
            done.push(record);
        }
        Ok(done)
    }

    /// Drops a container's references; with `remove_anonymous` (`rm -v`, `--rm`, a failed
    /// create) also removes the anonymous volumes no other container uses.
    pub(crate) fn volumes_detach(
        &self,
        container_id: &str,
        mounts: &[MountRecord],
        remove_anonymous: bool,
    ) {
        for mount in mounts.iter().filter(|m| m.is_volume()) {
            self.volumes.release_reference(&mount.name, container_id);
            if !(remove_anonymous && mount.anonymous) {
                continue;
            }
            match self.volumes.remove(&mount.name) {
                Ok(volume) => self.volume_destroyed(&volume),
                // Still used by another container, or already gone: not an error.
                Err(e) if matches!(e.kind, ErrorKind::Conflict | ErrorKind::NotFound) => {}
                Err(e) => tracing::warn!("removing volume {}: {}", mount.name, e.message),
            }
        }
    }

    /// Mounts a starting container's volumes: a volume with device options gets its
    /// filesystem on first use. Publishes `mount` for each.
    pub(crate) fn volumes_mount(
        &self,
        container_id: &str,
        mounts: &[MountRecord],
    ) -> Result<(), ApiError> {
        for mount in mounts.iter().filter(|m| m.is_volume()) {
            let result = self.volumes.get(&mount.name).and_then(|volume| {
                let mut state = volume.state();
                if local::needs_mount(&volume.meta) && !state.device_mounted {
                    local::mount_device(&volume.meta, &volume.data_path())?;
                    state.device_mounted = true;
                }
                state.mounted_by.insert(container_id.to_string());
                Ok(volume.meta.driver.clone())
            });
            match result {
                Ok(driver) => {
                    let attributes = event_attributes(
                        &driver,
                        &[
                            ("container", container_id.to_string()),
                            ("destination", mount.destination.clone()),
                            ("propagation", mount.propagation.clone()),
                            ("read/write", mount.rw.to_string()),
                        ],
                    );
                    self.events
                        .publish("volume", "mount", &mount.name, attributes);
                }
                Err(e) => {
                    self.volumes_unmount(container_id, mounts);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The container no longer runs: the last user of a device-backed volume unmounts
    /// it. Publishes `unmount` for each volume it had mounted. Safe to call twice.
    pub(crate) fn volumes_unmount(&self, container_id: &str, mounts: &[MountRecord]) {
        let names: BTreeSet<&str> = mounts
            .iter()
            .filter(|m| m.is_volume())
            .map(|m| m.name.as_str())
            .collect();
        for name in names {
            let Some(volume) = self.volumes.find(name) else {
                continue;
            };
            let was_mounted = {
                let mut state = volume.state();
                let was = state.mounted_by.remove(container_id);
                if state.mounted_by.is_empty() && state.device_mounted {
                    match local::unmount_device(&volume.data_path()) {
                        Ok(()) => state.device_mounted = false,
                        Err(e) => tracing::warn!("volume {name}: {}", e.message),
                    }
                }
                was
            };
            if was_mounted {
                let attributes = event_attributes(
                    &volume.meta.driver,
                    &[("container", container_id.to_string())],
                );
                self.events.publish("volume", "unmount", name, attributes);
            }
        }
    }

    /// `volumes_unmount` for a container that stopped or failed to start.
    pub(crate) fn release_volume_mounts(&self, container: &Container) {
        let record = container.snapshot();
        self.volumes_unmount(&container.id, &record.mount_points);
    }

    /// Copy-up, once the container's rootfs is mounted: every empty volume that allows it
    /// receives the image's content at its destination. Blocking.
    pub(crate) fn volumes_copy_up(
        &self,
        rootfs: &Path,
        mounts: &[MountRecord],
    ) -> Result<(), ApiError> {
        for mount in mounts.iter().filter(|m| m.is_volume() && m.copy_data) {
            let volume = self.volumes.get(&mount.name)?;
            let _copying = volume.copy_lock.lock().expect("volume copy lock poisoned");
            let data = volume.data_path();
            let failed = |e: std::io::Error| {
                ApiError::system(format!(
                    "copying image data at {} into volume {}: {e}",
                    mount.destination, mount.name
                ))
            };
            if !copyup::is_empty_dir(&data).map_err(failed)? {
                continue;
            }
            let from = copyup::scoped_path(rootfs, &mount.destination).map_err(failed)?;
            match std::fs::symlink_metadata(&from) {
                Ok(meta) if meta.is_dir() => {}
                _ => continue,
            }
            if let Err(e) = copyup::copy_into(&from, &data) {
                // A half-filled volume would never be filled again: empty it.
                if let Ok(entries) = std::fs::read_dir(&data) {
                    for entry in entries.flatten() {
                        let path = entry.path();
                        let _ = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                            std::fs::remove_dir_all(&path)
                        } else {
                            std::fs::remove_file(&path)
                        };
                    }
                }
                return Err(failed(e));
            }
        }
        Ok(())
    }
}
