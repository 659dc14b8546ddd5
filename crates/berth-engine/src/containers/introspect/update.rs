//! `POST /containers/{id}/update`: new resource limits and restart policy, written to the
//! running container's cgroup at once and kept in its record for later starts.

use std::path::Path;

use berth_api::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::cgroup;
use crate::containers::create::validate_restart_policy;
use crate::Engine;

/// The fields of the update body Berth applies (the rest of `Resources` is accepted and
/// ignored, as dockerd ignores what the platform lacks).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRequest {
    #[serde(default)]
    pub memory: Option<i64>,
    #[serde(default)]
    pub memory_swap: Option<i64>,
    #[serde(default)]
    pub memory_reservation: Option<i64>,
    #[serde(default)]
    pub nano_cpus: Option<i64>,
    #[serde(default)]
    pub cpu_shares: Option<i64>,
    #[serde(default)]
    pub cpu_period: Option<i64>,
    #[serde(default)]
    pub cpu_quota: Option<i64>,
    #[serde(default)]
    pub cpuset_cpus: Option<String>,
    #[serde(default)]
    pub pids_limit: Option<i64>,
    #[serde(default)]
    pub blkio_weight: Option<i64>,
    #[serde(default)]
    pub restart_policy: Option<berth_api::types::container::RestartPolicy>,
}

const CFS_PERIOD_US: i64 = 100_000;

impl UpdateRequest {
    /// docker clients send every field, zero (or `""`) meaning "leave as is", as dockerd
    /// reads them; only `PidsLimit` is sent when set.
    fn without_unset(self) -> UpdateRequest {
        let set = |v: Option<i64>| v.filter(|v| *v != 0);
        UpdateRequest {
            memory: set(self.memory),
            memory_swap: set(self.memory_swap),
            memory_reservation: set(self.memory_reservation),
            nano_cpus: set(self.nano_cpus),
            cpu_shares: set(self.cpu_shares),
            cpu_period: set(self.cpu_period),
            cpu_quota: set(self.cpu_quota),
            cpuset_cpus: self.cpuset_cpus.filter(|c| !c.is_empty()),
            pids_limit: self.pids_limit,
            blkio_weight: set(self.blkio_weight),
            restart_policy: self.restart_policy.filter(|p| !p.name.is_empty()),
        }
    }
}

impl Engine {
    pub async fn container_update(
        &self,
        reference: &str,
        update: UpdateRequest,
    ) -> Result<Value, ApiError> {
        let update = update.without_unset();
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        if let Some(policy) = &update.restart_policy {
            validate_restart_policy(policy)?;
            let record = container.snapshot();
            if record.host_config.auto_remove && !matches!(policy.name.as_str(), "" | "no") {
                return Err(ApiError::invalid(
                    "Restart policy cannot be updated because AutoRemove is enabled for the container",
                ));
            }
        }
        if update.memory.is_some_and(|m| m != 0 && m < 6 * 1024 * 1024) {
            return Err(ApiError::invalid("Minimum memory limit allowed is 6MB"));
        }
        let record = container.snapshot();
        if record.state.status.is_live() {
            apply_to_cgroup(&record, &update)?;
        }
        container.update(|r| {
            let h = &mut r.host_config;
            if let Some(v) = update.memory {
                h.memory = v;
            }
            if let Some(v) = update.memory_swap {
                h.memory_swap = v;
            }
            if let Some(v) = update.memory_reservation {
                h.memory_reservation = v;
            }
            if let Some(v) = update.nano_cpus {
                h.nano_cpus = v;
            }
            if let Some(v) = update.cpu_shares {
                h.cpu_shares = v;
            }
            if let Some(v) = update.cpu_period {
                h.cpu_period = v;
            }
            if let Some(v) = update.cpu_quota {
                h.cpu_quota = v;
            }
            if let Some(v) = &update.cpuset_cpus {
                h.cpuset_cpus = v.clone();
            }
            if let Some(v) = update.pids_limit {
                h.pids_limit = Some(v);
            }
            if let Some(v) = update.blkio_weight {
                h.blkio_weight = v;
            }
            if let Some(v) = &update.restart_policy {
                h.restart_policy = Some(v.clone());
            }
        })?;
        self.container_event(&container.snapshot(), "update", &[]);
        Ok(json!({ "Warnings": [] }))
    }
}

fn write(path: &Path, value: &str) -> Result<(), ApiError> {
    std::fs::write(path, value)
        .map_err(|e| ApiError::system(format!("writing {value} to {}: {e}", path.display())))
}

fn apply_to_cgroup(record: &crate::containers::Record, u: &UpdateRequest) -> Result<(), ApiError> {
    let quota = u
        .nano_cpus
        .filter(|n| *n > 0)
        .map(|n| n * CFS_PERIOD_US / 1_000_000_000);
    if cgroup::is_v2() {
        let dir = cgroup::dir(record, "");
        if let Some(m) = u.memory {
            write(
                &dir.join("memory.max"),
                &if m > 0 { m.to_string() } else { "max".into() },
            )?;
        }
        if let Some(q) = quota.or(u.cpu_quota.filter(|q| *q > 0)) {
            let period = u.cpu_period.filter(|p| *p > 0).unwrap_or(CFS_PERIOD_US);
            write(&dir.join("cpu.max"), &format!("{q} {period}"))?;
        }
        if let Some(shares) = u.cpu_shares.filter(|s| *s > 0) {
            // cgroup v2 weight from v1 shares, as runc converts.
            let weight = 1 + ((shares - 2) * 9999) / 262142;
            write(&dir.join("cpu.weight"), &weight.to_string())?;
        }
        if let Some(p) = u.pids_limit {
            write(
                &dir.join("pids.max"),
                &if p > 0 { p.to_string() } else { "max".into() },
            )?;
        }
        if let Some(c) = &u.cpuset_cpus {
            write(&dir.join("cpuset.cpus"), c)?;
        }
        return Ok(());
    }
    if let Some(m) = u.memory {
        let dir = cgroup::dir(record, "memory");
        let value = if m > 0 { m.to_string() } else { "-1".into() };
        // Raising the limit above memsw fails: grow memsw first when it is set.
        if let Some(swap) = u.memory_swap.filter(|s| *s != 0) {
            let _ = write(&dir.join("memory.memsw.limit_in_bytes"), &swap.to_string());
        }
        write(&dir.join("memory.limit_in_bytes"), &value)?;
        if let Some(swap) = u.memory_swap.filter(|s| *s != 0) {
            let _ = write(&dir.join("memory.memsw.limit_in_bytes"), &swap.to_string());
        }
    }
    if let Some(r) = u.memory_reservation.filter(|r| *r > 0) {
        write(
            &cgroup::dir(record, "memory").join("memory.soft_limit_in_bytes"),
            &r.to_string(),
        )?;
    }
    let cpu = cgroup::dir(record, "cpu");
    if let Some(q) = quota.or(u.cpu_quota.filter(|q| *q != 0)) {
        if let Some(period) = u.cpu_period.filter(|p| *p > 0) {
            write(&cpu.join("cpu.cfs_period_us"), &period.to_string())?;
        }
        write(&cpu.join("cpu.cfs_quota_us"), &q.to_string())?;
    }
    if let Some(shares) = u.cpu_shares.filter(|s| *s > 0) {
        write(&cpu.join("cpu.shares"), &shares.to_string())?;
    }
    if let Some(p) = u.pids_limit {
        let value = if p > 0 { p.to_string() } else { "max".into() };
        write(&cgroup::dir(record, "pids").join("pids.max"), &value)?;
    }
    if let Some(c) = &u.cpuset_cpus {
        write(&cgroup::dir(record, "cpuset").join("cpuset.cpus"), c)?;
    }
    if let Some(w) = u.blkio_weight.filter(|w| *w > 0) {
        let _ = write(
            &cgroup::dir(record, "blkio").join("blkio.weight"),
            &w.to_string(),
        );
    }
    Ok(())
}
