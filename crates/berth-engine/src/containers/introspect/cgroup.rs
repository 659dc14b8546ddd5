//! Where a container's cgroup lives on this host, for stats, top and update.

use std::path::{Path, PathBuf};

use super::super::Record;

const ROOT: &str = "/sys/fs/cgroup";

/// `/berth/<id>` (or `<cgroup-parent>/<id>`), as the runtime names it.
pub fn relative_path(record: &Record) -> String {
    let parent = record.host_config.cgroup_parent.trim_end_matches('/');
    let parent = if parent.is_empty() {
        berth_runtime::spec::DEFAULT_CGROUP_PARENT
    } else {
        parent
    };
    let parent = parent.trim_start_matches('/');
    format!("{parent}/{}", record.id)
}

/// Unified (v2) hierarchy at the root.
pub fn is_v2() -> bool {
    Path::new(ROOT).join("cgroup.controllers").exists()
}

/// The directory of `controller` (v1) or the unified directory (v2).
pub fn dir(record: &Record, controller: &str) -> PathBuf {
    let relative = relative_path(record);
    if is_v2() {
        Path::new(ROOT).join(relative)
    } else {
        Path::new(ROOT).join(controller).join(relative)
    }
}

pub fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

pub fn read_u64(path: &Path) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// `key value` lines (memory.stat, cpu.stat) as a map.
pub fn read_flat_keyed(path: &Path) -> std::collections::BTreeMap<String, u64> {
    read(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            Some((parts.next()?.to_string(), parts.next()?.parse().ok()?))
        })
        .collect()
}

/// PIDs in the container's cgroup (host PID namespace).
pub fn pids(record: &Record) -> Vec<u32> {
    let dir = dir(record, "pids");
    read(&dir.join("cgroup.procs"))
        .or_else(|| read(&self::dir(record, "memory").join("cgroup.procs")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}
