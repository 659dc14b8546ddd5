//! Processes from `/proc`: resident memory, parent links, start times.

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

/// One process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    pub ppid: u32,
    /// Clock ticks after boot: with the PID, names one process even if the PID is reused.
    pub start_time: u64,
}

pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(
        pid,
        &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
    )
}

/// The command name is in parentheses and may itself hold spaces and parentheses, so the
/// fields are counted from the last `)`: state, ppid, ... starttime is field 22 overall.
fn parse_stat(pid: u32, text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// All processes below `root` (children, grandchildren, ...), by walking every process's
/// parent PID; `root` itself is not included.
pub fn descendants(root: u32) -> Vec<Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let all: Vec<Stat> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .collect();
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for process in all.iter().filter(|p| p.ppid == parent && p.pid != root) {
            if !found.contains(process) {
                found.push(*process);
                parents.push(process.pid);
            }
        }
    }
    found
}

/// Whether the process recorded in `stat` is still the one running under its PID.
pub fn still_running(recorded: &Stat) -> bool {
    stat(recorded.pid).is_some_and(|now| now.start_time == recorded.start_time)
}

/// The command name of a process (`/proc/PID/comm`), for labels only.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The PID of an external dockerd, for its RSS: `BENCH_DOCKERD_PID`, else its pidfile.
pub fn external_dockerd_pid() -> Option<u32> {
    if let Some(pid) = std::env::var("BENCH_DOCKERD_PID")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Some(pid);
    }
    ["/var/run/docker.pid", "/run/docker.pid"]
        .iter()
        .filter_map(|pidfile| std::fs::read_to_string(pidfile).ok())
        .filter_map(|t| t.trim().parse::<u32>().ok())
        .find(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_names() {
        let text = "42 (a) b (c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10";
        assert_eq!(
            parse_stat(42, text),
            Some(Stat {
                pid: 42,
                ppid: 7,
                start_time: 12345
            })
        );
    }

    #[test]
    fn finds_own_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let found = descendants(me);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.iter().any(|p| p.pid == child.id() && p.ppid == me));
    }
}
