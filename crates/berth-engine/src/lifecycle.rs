//! Daemon start and stop as they concern containers: re-adopting running containers
//! after a restart (or crash) of berthd, restarting `always` containers, and stopping
//! containers on a clean shutdown unless `live-restore` is set.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::containers::Status;
use crate::Engine;

impl Engine {
    /// Reconciles recorded containers with their shims. Called once after `open`.
    pub async fn restore(self: &Arc<Self>) {
        for container in self.containers.all() {
            let record = container.snapshot();
            let shim_alive = record.state.shim_pid != 0
                && std::path::Path::new(&format!("/proc/{}", record.state.shim_pid)).exists()
                && container
                    .state_dir
                    .join(berth_shim::protocol::SOCKET_FILE)
                    .exists();
            match record.state.status {
                Status::Running | Status::Paused if shim_alive => {
                    tracing::info!("re-adopting running container {}", record.short_id());
                    self.restore_container_networks(&record);
                    self.watch_exit(container.clone(), record.state.shim_pid);
                    // As dockerd: a restored container's health starts over.
                    if container.update(crate::containers::health::reset).is_ok() {
                        self.start_health_monitor(&container, record.state.shim_pid);
                    }
                }
                Status::Running | Status::Paused | Status::Restarting | Status::Removing => {
                    // It ended while berthd was away: record that as its exit.
                    self.watch_exit(container.clone(), 0);
                }
                Status::Exited | Status::Created | Status::Dead => {
                    let policy = record
                        .host_config
                        .restart_policy
                        .as_ref()
                        .map(|p| p.name.as_str())
                        .unwrap_or("");
                    // As dockerd: `always` comes back even after a manual stop (that
                    // stop lasts until the daemon restarts), `unless-stopped` does not.
                    let wants_start = policy == "always"
                        || (policy == "unless-stopped" && !record.state.manually_stopped);
                    if wants_start && record.state.status == Status::Exited {
                        if let Err(e) = self.container_start(&record.id).await {
                            tracing::warn!(
                                "restarting {} at daemon start: {}",
                                record.short_id(),
                                e.message
                            );
                        }
                    }
                }
            }
        }
    }

    /// Stops every running container (dockerd's behaviour on a clean stop) unless
    /// live-restore keeps them running for the next daemon.
    pub async fn shutdown(self: &Arc<Self>) {
        self.shutting_down.store(true, Ordering::SeqCst);
        if self.config().live_restore {
            return;
        }
        let mut stops = tokio::task::JoinSet::new();
        for container in self.containers.all() {
            if !container.status().is_live() {
                continue;
            }
            let engine = self.clone();
            stops.spawn(async move {
                let _op = container.op.lock().await;
                if let Err(e) = engine.stop_locked(&container, None, None).await {
                    tracing::warn!("stopping {} at shutdown: {}", container.id, e.message);
                }
                // Wait for the exit handler so the record says how it ended.
                engine.wait_not_live(&container, None).await;
            });
        }
        while stops.join_next().await.is_some() {}
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
