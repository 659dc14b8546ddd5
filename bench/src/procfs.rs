//! Resident memory of processes, from `/proc`.

use std::path::Path;

/// `VmRSS` of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// PIDs of processes whose command name (`/proc/PID/comm`) is exactly `name`.
pub fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// The dockerd PID: `BENCH_DOCKERD_PID`, its pidfile, or the only process named dockerd.
pub fn dockerd_pid() -> Option<u32> {
    if let Some(pid) = std::env::var("BENCH_DOCKERD_PID")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Some(pid);
    }
    for pidfile in ["/var/run/docker.pid", "/run/docker.pid"] {
        if let Some(pid) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        {
            return Some(pid);
        }
    }
    match pids_named("dockerd").as_slice() {
        [pid] => Some(*pid),
        _ => None,
    }
}
