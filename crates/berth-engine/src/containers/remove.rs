//! `DELETE /containers/{id}` and `POST /containers/prune`.

use std::sync::Arc;

use berth_api::{ApiError, Filters};
use serde_json::{json, Value};

use super::record::Status;
use super::rootfs;
use crate::Engine;

impl Engine {
    pub async fn container_remove(
        self: &Arc<Self>,
        reference: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        if record.state.status.is_live() {
            if !force {
                return Err(ApiError::conflict(format!(
                    "cannot remove container \"{}\": container is running: stop the container before removing or force remove",
                    record.name
                )));
            }
            container.update(|r| r.state.manually_stopped = true)?;
            self.signal_container_kill(&container)?;
            self.wait_not_live(&container, None).await;
        }
        if self.containers.get(&record.id).is_err() {
            return Ok(()); // --rm got there first
        }
        container.update(|r| r.state.status = Status::Removing)?;
        rootfs::unmount(&container.dir)?;
        let _ = std::fs::remove_dir_all(&container.state_dir);
        std::fs::remove_dir_all(&container.dir)
            .map_err(|e| ApiError::system(format!("removing {}: {e}", container.dir.display())))?;
        self.containers.remove(&record.id);
        self.containers.release_name(&record.name);
        // In-memory state kept per container goes with it.
        self.stats_cache.forget(&record.id);
        self.execs.forget_container(&record.id);
        // References go; `rm -v` and `--rm` also take the anonymous volumes (moby's order:
        // before the container's `destroy`).
        self.volumes_unmount(&record.id, &record.mount_points);
        self.volumes_detach(&record.id, &record.mount_points, volumes);
        container.notify();
        self.container_event(&record, "destroy", &[]);
        Ok(())
    }

    fn signal_container_kill(&self, container: &super::Container) -> Result<(), ApiError> {
        let record = container.snapshot();
        if record.state.pid != 0 {
            // SAFETY: sends SIGKILL to the container's init process.
            unsafe {
                libc::kill(record.state.pid as libc::pid_t, libc::SIGKILL);
            }
            // moby's `rm -f` goes through Kill, which reports it.
            self.container_event(&record, "kill", &[("signal", libc::SIGKILL.to_string())]);
        }
        Ok(())
    }

    /// `POST /containers/prune`: removes stopped containers matching `until`/`label`.
    pub async fn container_prune(self: &Arc<Self>, filters: Filters) -> Result<Value, ApiError> {
        filters.validate(&["until", "label", "label!"])?;
        let until = filters
            .get("until")
            .first()
            .map(|u| super::list::parse_time_filter(u))
            .transpose()?;
        let mut deleted = Vec::new();
        let mut reclaimed: u64 = 0;
        for container in self.containers.all() {
            let record = container.snapshot();
            if record.state.status.is_live() || record.state.status == Status::Restarting {
                continue;
            }
            let labels = record.config.labels.clone().unwrap_or_default();
            if !filters.matches_labels("label", &labels) {
                continue;
            }
            if filters
                .get("label!")
                .iter()
                .any(|l| match l.split_once('=') {
                    Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
                    None => labels.contains_key(l),
                })
            {
                continue;
            }
            if let Some(until) = until {
                let created = chrono::DateTime::parse_from_rfc3339(&record.created)
                    .map(|t| t.timestamp())
                    .unwrap_or(0);
                if created >= until {
                    continue;
                }
            }
            reclaimed += dir_size(&container.dir.join("upper"));
            if self
                .container_remove(&record.id, false, false)
                .await
                .is_ok()
            {
                deleted.push(record.id.clone());
            }
        }
        let attributes = [("reclaimed".to_string(), reclaimed.to_string())]
            .into_iter()
            .collect();
        self.events.publish("container", "prune", "", attributes);
        Ok(json!({
            "ContainersDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
            "SpaceReclaimed": reclaimed,
        }))
    }
}

/// Bytes used below `path` (regular files, not following symlinks).
pub(crate) fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}
