//! Following a container to its end: the shim exits right after recording the
//! container's exit status, so a pidfd on the shim says when to read it. Then the `die`
//! event, `--rm`, and restart policies with docker's growing back-off.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

use super::record::Status;
use super::rootfs;
use super::{now_rfc3339, Container};
use crate::Engine;

/// First restart delay; doubles per restart up to the maximum, as dockerd.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A container that ran this long before failing restarts without delay again.
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

impl Engine {
    /// Spawns the task that notices the container's exit.
    pub(crate) fn watch_exit(self: &Arc<Self>, container: Arc<Container>, shim_pid: u32) {
        let engine = self.clone();
        tokio::spawn(async move {
            wait_for_process_exit(shim_pid).await;
            engine.handle_exit(container).await;
        });
    }

    async fn handle_exit(self: &Arc<Self>, container: Arc<Container>) {
        let status = berth_shim::read_exit_file(&container.state_dir)
            .ok()
            .flatten();
        let (exit_code, oom, finished_at, error) = match status {
            Some(s) => (
                s.exit_code as i64,
                s.oom_killed,
                s.finished_at,
                String::new(),
            ),
            None => (
                255,
                false,
                now_rfc3339(),
                "the container's shim exited without recording an exit status".to_string(),
            ),
        };
        // The teardown runs on the blocking pool, in two parallel parts: the rootfs (whose
        // overlay umount syncs the upper filesystem: from under a millisecond to hundreds
        // when other work writes to the same disk) and the networks (a published port costs
        // an iptables-restore whose rule deletions take ~10 ms per table in the kernel). They
        // share nothing; the state changes only after both are done, so a stop, start or rm
        // that follows sees the container fully torn down (as moby, which cleans up before
        // marking the container stopped).
        // Reaped by the shim → noticed here: the shim's drain, exit record and cgroup removal.
        let shim_exit = run_time(&finished_at, &now_rfc3339());
        let t0 = Instant::now();
        let files = {
            let engine = self.clone();
            let container = container.clone();
            tokio::task::spawn_blocking(move || {
                let _ = rootfs::unmount(&container.dir);
                let umount = t0.elapsed();
                engine.release_volume_mounts(&container);
                let _ = std::fs::remove_dir_all(&container.state_dir);
                (umount, t0.elapsed())
            })
        };
        let networks = {
            let engine = self.clone();
            let record = container.snapshot();
            tokio::task::spawn_blocking(move || {
                engine.release_container_networks(&record);
                t0.elapsed()
            })
        };
        let (t_umount, t_files) = files.await.unwrap_or_default();
        let t_net = networks.await.unwrap_or_default();
        let t_teardown = t0.elapsed();
        let before = container.snapshot();
        let started_at = before.state.started_at.clone();
        // `die` goes out before the state changes: whoever waits for the exit (stop,
        // wait) publishes its own events after it, in docker's order.
        if oom {
            self.container_event(&before, "oom", &[]);
        }
        self.container_event(&before, "die", &[("exitCode", exit_code.to_string())]);
        let record = match container.update(|r| {
            r.state.status = Status::Exited;
            r.state.pid = 0;
            r.state.shim_pid = 0;
            r.state.exit_code = exit_code;
            r.state.oom_killed = oom;
            r.state.finished_at = finished_at.clone();
            r.state.mounted = false;
            r.state.networks.clear();
            if !error.is_empty() {
                r.state.error = error.clone();
            }
        }) {
            Ok(record) => record,
            Err(e) => {
                tracing::error!("recording the exit of {}: {}", container.id, e.message);
                return;
            }
        };
        tracing::debug!(
            container = %container.id,
            shim_ms = shim_exit.as_secs_f64() * 1e3,
            umount_ms = t_umount.as_secs_f64() * 1e3,
            volumes_state_ms = (t_files.saturating_sub(t_umount)).as_secs_f64() * 1e3,
            networks_ms = t_net.as_secs_f64() * 1e3,
            record_ms = (t0.elapsed().saturating_sub(t_teardown)).as_secs_f64() * 1e3,
            "exit handled"
        );
        if record.host_config.auto_remove {
            if let Err(e) = self.container_remove(&record.id, true, true).await {
                tracing::warn!("auto-removing {}: {}", record.id, e.message);
            }
            return;
        }
        if self.is_shutting_down() || !should_restart(&record) {
            return;
        }
        let ran_for = run_time(&started_at, &finished_at);
        let delay = backoff(record.state.restart_count, ran_for);
        let engine = self.clone();
        tokio::spawn(async move { engine.restart_after(container, delay).await });
    }

    async fn restart_after(self: Arc<Self>, container: Arc<Container>, delay: Duration) {
        if container
            .update(|r| r.state.status = Status::Restarting)
            .is_err()
        {
            return;
        }
        tokio::time::sleep(delay).await;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        // A stop, kill or removal during the delay wins.
        if record.state.status != Status::Restarting || record.state.manually_stopped {
            if record.state.status == Status::Restarting {
                let _ = container.update(|r| r.state.status = Status::Exited);
            }
            return;
        }
        let _ = container.update(|r| r.state.restart_count += 1);
        if let Err(e) = self.start_locked(&container).await {
            tracing::warn!("restarting {}: {}", container.id, e.message);
            let _ = container.update(|r| r.state.status = Status::Exited);
        }
    }
}

fn should_restart(record: &super::Record) -> bool {
    if record.state.manually_stopped {
        return false;
    }
    let Some(policy) = &record.host_config.restart_policy else {
        return false;
    };
    match policy.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            record.state.exit_code != 0
                && (policy.maximum_retry_count == 0
                    || record.state.restart_count < policy.maximum_retry_count)
        }
        _ => false,
    }
}

fn backoff(restarts: i64, ran_for: Duration) -> Duration {
    if ran_for >= BACKOFF_RESET_AFTER {
        return BACKOFF_START;
    }
    let factor = 1u32 << restarts.clamp(0, 10) as u32;
    (BACKOFF_START * factor).min(BACKOFF_MAX)
}

fn run_time(started_at: &str, finished_at: &str) -> Duration {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    match (parse(started_at), parse(finished_at)) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

/// Resolves when process `pid` has exited (or never existed).
pub(crate) async fn wait_for_process_exit(pid: u32) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return; // ESRCH: already gone.
    }
    // SAFETY: `fd` is a fresh descriptor we own from here on.
    let owned = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: `owned` is an OwnedFd: it owns the descriptor, keeps it open while the
    // AsyncFd holds it, and its `as_raw_fd` is that same descriptor.
    match unsafe { AsyncFd::register(owned) } {
        Ok(async_fd) => {
            // A pidfd becomes readable when the process exits.
            let _ = async_fd.readable().await;
        }
        Err(_) => {
            // Could not register with the reactor: fall back to polling /proc.
            let started = Instant::now();
            while std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let step = if started.elapsed() < Duration::from_secs(1) {
                    10
                } else {
                    200
                };
                tokio::time::sleep(Duration::from_millis(step)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_resets() {
        assert_eq!(backoff(0, Duration::ZERO), Duration::from_millis(100));
        assert_eq!(backoff(3, Duration::ZERO), Duration::from_millis(800));
        assert_eq!(backoff(20, Duration::ZERO), BACKOFF_MAX);
        assert_eq!(backoff(5, Duration::from_secs(30)), BACKOFF_START);
    }
}
