//! Cgroup resources: dockerd's checks and adjustments (`verifyPlatformContainerResources`)
//! and their OCI form.

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder,
};

use super::{devices, ContainerConfig, HostInfo, Resources};
use crate::error::SpecError;

/// Smallest memory limit or reservation Docker accepts.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

fn invalid(msg: impl Into<String>) -> SpecError {
    SpecError::Invalid(msg.into())
}

/// Parses a cpuset list (`0-2,4,7-8`) into sorted ids.
pub fn parse_cpuset(list: &str) -> Result<Vec<u32>, SpecError> {
    let mut out = Vec::new();
    if list.trim().is_empty() {
        return Ok(out);
    }
    let bad = || invalid(format!("invalid format: {list}"));
    for part in list.trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let a: u32 = a.parse().map_err(|_| bad())?;
                let b: u32 = b.parse().map_err(|_| bad())?;
                if b < a || b - a > 65536 {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Checks `resources` against the host like dockerd does on create. Returns the
/// adjusted resources (unsupported limits dropped, default swap filled in) and appends
/// dockerd's warnings; fails with dockerd's message for invalid combinations.
pub fn validate_resources(
    resources: &Resources,
    host: &HostInfo,
    warnings: &mut Vec<String>,
) -> Result<Resources, SpecError> {
    effective(resources, host, warnings)
}

pub(super) fn effective(
    input: &Resources,
    host: &HostInfo,
    warnings: &mut Vec<String>,
) -> Result<Resources, SpecError> {
    let mut r = input.clone();
    if r.memory_swappiness == Some(-1) {
        r.memory_swappiness = None;
    }
    // dockerd's adaptContainerSettings: swap defaults to twice the memory limit.
    if r.memory > 0 && r.memory_swap == 0 {
        r.memory_swap = r.memory * 2;
    }

    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err(invalid("Minimum memory limit allowed is 6MB"));
    }
    if r.memory > 0 && !host.memory_limit {
        warnings.push("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        r.memory = 0;
        r.memory_swap = -1;
    }
    if r.memory > 0 && r.memory_swap != -1 && !host.swap_limit {
        warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.".into());
        r.memory_swap = -1;
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return Err(invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if r.memory == 0 && r.memory_swap > 0 {
        return Err(invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if r.memory_swappiness.is_some() && !host.memory_swappiness {
        warnings.push("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.".into());
        r.memory_swappiness = None;
    }
    if let Some(s) = r.memory_swappiness {
        if !(0..=100).contains(&s) {
            return Err(invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
    }
    if r.memory_reservation > 0 && !host.memory_reservation {
        warnings.push("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        r.memory_reservation = 0;
    }
    if r.memory_reservation > 0 && r.memory_reservation < MIN_MEMORY {
        return Err(invalid("Minimum memory reservation allowed is 6MB"));
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return Err(invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    if r.oom_kill_disable.is_some() && !host.oom_kill_disable {
        if r.oom_kill_disable == Some(true) {
            warnings.push(
                "Your kernel does not support OomKillDisable. OomKillDisable discarded.".into(),
            );
        }
        r.oom_kill_disable = None;
    }
    if r.oom_kill_disable == Some(true) && r.memory == 0 {
        warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".into());
    }
    if r.pids_limit.is_some() && !host.pids_limit {
        if r.pids_limit.unwrap_or(0) > 0 {
            warnings.push("Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.".into());
        }
        r.pids_limit = None;
    }

    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return Err(invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return Err(invalid(
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    if r.nano_cpus > 0 && !host.cpu_cfs {
        return Err(invalid("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted"));
    }
    if r.nano_cpus != 0 && (r.nano_cpus < 0 || r.nano_cpus > host.ncpu as i64 * 1_000_000_000) {
        return Err(invalid(format!(
            "range of CPUs is from 0.01 to {0}.00, as there are only {0} CPUs available",
            host.ncpu
        )));
    }
    if r.cpu_shares > 0 && !host.cpu_shares {
        warnings.push("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.".into());
        r.cpu_shares = 0;
    }
    if r.cpu_shares < 0 {
        return Err(invalid(format!(
            "invalid CPU shares ({}): value must be a positive integer",
            r.cpu_shares
        )));
    }
    if (r.cpu_period != 0 || r.cpu_quota != 0) && !host.cpu_cfs {
        warnings.push(
            "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.".into(),
        );
        r.cpu_period = 0;
        r.cpu_quota = 0;
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return Err(invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return Err(invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }

    if (!r.cpuset_cpus.is_empty() || !r.cpuset_mems.is_empty()) && !host.cpuset {
        warnings.push(
            "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded."
                .into(),
        );
        r.cpuset_cpus.clear();
        r.cpuset_mems.clear();
    }
    check_subset(&r.cpuset_cpus, &host.cpus, "cpus", "CPUs")?;
    check_subset(&r.cpuset_mems, &host.mems, "mems", "memory nodes")?;

    if r.blkio_weight > 0 && !host.blkio_weight {
        warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
        r.blkio_weight = 0;
    }
    if r.blkio_weight > 0 && !(10..=1000).contains(&r.blkio_weight) {
        return Err(invalid("Range of blkio weight is from 10 to 1000"));
    }
    Ok(r)
}

fn check_subset(requested: &str, available: &str, what: &str, noun: &str) -> Result<(), SpecError> {
    if requested.is_empty() {
        return Ok(());
    }
    let want = parse_cpuset(requested)
        .map_err(|e| invalid(format!("Invalid value {requested} for cpuset {what}: {e}")))?;
    let have = parse_cpuset(available).unwrap_or_default();
    if !have.is_empty() && want.iter().any(|c| !have.contains(c)) {
        return Err(invalid(format!(
            "Requested {noun} are not available - requested {requested}, available: {available}"
        )));
    }
    Ok(())
}

/// The OCI `linux.resources` for already-validated resources.
pub(super) fn to_oci(
    r: &Resources,
    config: &ContainerConfig,
    host: &HostInfo,
) -> Result<LinuxResources, SpecError> {
    let mut out = LinuxResourcesBuilder::default().devices(devices::cgroup_rules(config)?);

    let memory_set = r.memory > 0
        || r.memory_reservation > 0
        || r.memory_swap > 0
        || r.memory_swappiness.is_some()
        || r.oom_kill_disable.is_some();
    if memory_set {
        let mut m = LinuxMemoryBuilder::default();
        if r.memory > 0 {
            m = m.limit(r.memory);
        }
        if r.memory_reservation > 0 {
            m = m.reservation(r.memory_reservation);
        }
        if r.memory_swap > 0 {
            m = m.swap(r.memory_swap);
        }
        if let Some(s) = r.memory_swappiness {
            m = m.swappiness(s as u64);
        }
        if let Some(d) = r.oom_kill_disable {
            m = m.disable_oom_killer(d);
        }
        out = out.memory(m.build()?);
    }

    let cpu_set = r.cpu_shares != 0
        || r.nano_cpus > 0
        || r.cpu_period != 0
        || r.cpu_quota != 0
        || !r.cpuset_cpus.is_empty()
        || !r.cpuset_mems.is_empty();
    if cpu_set {
        let mut c = LinuxCpuBuilder::default();
        if r.cpu_shares != 0 {
            c = c.shares(r.cpu_shares as u64);
        }
        if !r.cpuset_cpus.is_empty() {
            c = c.cpus(r.cpuset_cpus.clone());
        }
        if !r.cpuset_mems.is_empty() {
            c = c.mems(r.cpuset_mems.clone());
        }
        if r.nano_cpus > 0 {
            // CFS bandwidth: a 100ms period and the matching share of it.
            let period: u64 = 100_000;
            c = c
                .period(period)
                .quota(r.nano_cpus * period as i64 / 1_000_000_000);
        }
        if r.cpu_period != 0 {
            c = c.period(r.cpu_period as u64);
        }
        if r.cpu_quota != 0 {
            c = c.quota(r.cpu_quota);
        }
        out = out.cpu(c.build()?);
    }

    if let Some(limit) = r.pids_limit {
        let limit = if limit <= 0 { -1 } else { limit };
        out = out.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    if r.blkio_weight > 0 && host.blkio_weight {
        out = out.block_io(
            LinuxBlockIoBuilder::default()
                .weight(r.blkio_weight)
                .build()?,
        );
    }
    Ok(out.build()?)
}
