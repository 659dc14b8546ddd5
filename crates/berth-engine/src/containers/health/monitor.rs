//! The per-container monitor task: waits the interval, runs the probe, folds the result
//! into `State.Health` and publishes `health_status: ...` when the status changes. It
//! ends by itself when the container's shim exits (stop, kill, crash), so a restart or a
//! re-adoption simply starts a new one.

use std::sync::Arc;
use std::time::Duration;

use super::{Health, HealthResult, HealthStatus, Probe, MAX_LOG_ENTRIES};
use crate::containers::exit::wait_for_process_exit;
use crate::containers::record::{Record, Status};
use crate::containers::Container;
use crate::Engine;

/// Resets the health of a container that (re)starts or is re-adopted, as moby does:
/// `starting`, no failing streak, the log of earlier runs kept. Called inside the record
/// update that marks the container running.
pub(crate) fn reset(record: &mut Record) {
    if Probe::of(&record.config).is_none() {
        return;
    }
    let health = record.state.health.get_or_insert_with(|| Health {
        status: HealthStatus::Starting,
        failing_streak: 0,
        log: Vec::new(),
    });
    health.status = HealthStatus::Starting;
    health.failing_streak = 0;
}

impl Engine {
    /// Starts the monitor of a container that runs under the shim `shim_pid`, if it has
    /// a health check.
    pub(crate) fn start_health_monitor(
        self: &Arc<Self>,
        container: &Arc<Container>,
        shim_pid: u32,
    ) {
        let Some(probe) = Probe::of(&container.snapshot().config) else {
            return;
        };
        let engine = self.clone();
        let container = container.clone();
        tokio::spawn(async move { engine.health_monitor(container, probe, shim_pid).await });
    }

    async fn health_monitor(
        self: Arc<Self>,
        container: Arc<Container>,
        probe: Probe,
        shim_pid: u32,
    ) {
        let exited = wait_for_process_exit(shim_pid);
        tokio::pin!(exited);
        loop {
            let delay = next_delay(&container.snapshot(), &probe);
            tokio::select! {
                _ = &mut exited => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let record = container.snapshot();
            if record.state.shim_pid != shim_pid {
                return; // a later start has its own monitor
            }
            match record.state.status {
                Status::Running => {}
                // Frozen: no probe (docker stops the monitor while paused).
                Status::Paused => continue,
                _ => return,
            }
            let result = tokio::select! {
                _ = &mut exited => return,
                result = self.run_probe(&container, &probe) => result,
            };
            self.record_probe_result(&container, &probe, result, shim_pid);
        }
    }

    /// moby's `handleProbeResult`.
    fn record_probe_result(
        &self,
        container: &Container,
        probe: &Probe,
        result: HealthResult,
        shim_pid: u32,
    ) {
        let mut changed_to = None;
        let updated = container.update_persisting_if(|r| {
            if r.state.shim_pid != shim_pid || r.state.status != Status::Running {
                return false; // the container stopped while the probe ran
            }
            let started_at = r.state.started_at.clone();
            let Some(health) = r.state.health.as_mut() else {
                return false;
            };
            let old = health.status;
            if health.log.len() >= MAX_LOG_ENTRIES {
                health.log.drain(..=health.log.len() - MAX_LOG_ENTRIES);
            }
            let passed = result.exit_code == 0;
            let in_start_period = old == HealthStatus::Starting
                && elapsed_between(&started_at, &result.start) < probe.start_period;
            health.log.push(result);
            if passed {
                health.failing_streak = 0;
                health.status = HealthStatus::Healthy;
            } else if !in_start_period {
                health.failing_streak += 1;
                if health.failing_streak >= probe.retries {
                    health.status = HealthStatus::Unhealthy;
                }
            }
            if health.status != old {
                changed_to = Some(health.status);
            }
            // Only status changes are written at once (as dockerd, which keeps probe
            // results in memory until the next checkpoint of the record).
            changed_to.is_some()
        });
        match updated {
            Ok(record) => {
                if let Some(status) = changed_to {
                    self.container_event(
                        &record,
                        &format!("health_status: {}", status.as_str()),
                        &[],
                    );
                }
            }
            Err(e) => tracing::warn!("recording the health of {}: {}", container.id, e.message),
        }
    }
}

/// moby's `getInterval`: the start interval while `starting` within the start period,
/// the interval otherwise.
fn next_delay(record: &Record, probe: &Probe) -> Duration {
    let now = crate::containers::now_rfc3339();
    if elapsed_between(&record.state.started_at, &now) >= probe.start_period {
        return probe.interval;
    }
    match record.state.health.as_ref().map(|h| h.status) {
        Some(HealthStatus::Starting) => probe.start_interval,
        _ => probe.interval,
    }
}

/// `to - from` for two RFC 3339 times (zero when unparsable or negative).
fn elapsed_between(from: &str, to: &str) -> Duration {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    match (parse(from), parse(to)) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}
