//! `GET /containers/{id}/stats`: docker's stats JSON from cgroups v1 or v2, procfs
//! network counters, with `precpu_stats` from the previous sample so clients can compute
//! CPU %.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth_api::ApiError;
use serde_json::{json, Map, Value};

use super::cgroup;
use crate::containers::Record;
use crate::Engine;

/// A sample older than this is not a useful `precpu` baseline.
const BASELINE_MAX_AGE: Duration = Duration::from_secs(10);
/// Gap between two samples when no baseline exists yet.
const FIRST_GAP: Duration = Duration::from_millis(100);

#[derive(Clone)]
struct Sample {
    at: Instant,
    cpu: Value,
}

/// The last sample of each container, as the next request's `precpu_stats`.
#[derive(Default)]
pub struct StatsCache {
    last: Mutex<HashMap<String, Sample>>,
}

impl StatsCache {
    pub(crate) fn forget(&self, container_id: &str) {
        self.last
            .lock()
            .expect("stats cache poisoned")
            .remove(container_id);
    }
}

impl Engine {
    /// One stats document. `baseline` wants a meaningful `precpu_stats` (a second sample
    /// a moment later when nothing recent is cached); `one_shot` skips that.
    pub async fn container_stats(
        &self,
        reference: &str,
        one_shot: bool,
    ) -> Result<Value, ApiError> {
        let container = self.containers.get(reference)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Ok(empty_stats(&record));
        }
        let cached = self
            .stats_cache
            .last
            .lock()
            .expect("stats cache poisoned")
            .get(&record.id)
            .cloned()
            .filter(|s| s.at.elapsed() < BASELINE_MAX_AGE);
        let pre_cpu = match (cached, one_shot) {
            (Some(sample), _) => sample.cpu,
            (None, true) => empty_cpu(),
            (None, false) => {
                let first = cpu_stats(&record);
                tokio::time::sleep(FIRST_GAP).await;
                first
            }
        };
        let cpu = cpu_stats(&record);
        self.stats_cache
            .last
            .lock()
            .expect("stats cache poisoned")
            .insert(
                record.id.clone(),
                Sample {
                    at: Instant::now(),
                    cpu: cpu.clone(),
                },
            );
        Ok(json!({
            "read": crate::containers::now_rfc3339(),
            "preread": crate::containers::now_rfc3339(),
            "id": record.id,
            "name": record.name,
            "num_procs": 0,
            "pids_stats": pids_stats(&record),
            "blkio_stats": blkio_stats(&record),
            "storage_stats": {},
            "cpu_stats": cpu,
            "precpu_stats": pre_cpu,
            "memory_stats": memory_stats(&record),
            "networks": network_stats(record.state.pid),
        }))
    }
}

fn empty_cpu() -> Value {
    json!({"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}})
}

fn empty_stats(record: &Record) -> Value {
    json!({
        "read": "0001-01-01T00:00:00Z", "preread": "0001-01-01T00:00:00Z",
        "id": record.id, "name": record.name, "num_procs": 0,
        "pids_stats": {}, "blkio_stats": {"io_service_bytes_recursive": null},
        "storage_stats": {}, "cpu_stats": empty_cpu(), "precpu_stats": empty_cpu(),
        "memory_stats": {},
    })
}

/// Host CPU time in nanoseconds, from the first line of /proc/stat.
fn system_cpu_usage() -> u64 {
    let ticks_per_second = 100u64; // USER_HZ is 100 on Linux for /proc/stat.
    cgroup::read(std::path::Path::new("/proc/stat"))
        .and_then(|text| {
            let line = text.lines().next()?;
            let jiffies: u64 = line
                .split_whitespace()
                .skip(1)
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum();
            Some(jiffies * (1_000_000_000 / ticks_per_second))
        })
        .unwrap_or(0)
}

fn online_cpus() -> u64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1)
}

fn cpu_stats(record: &Record) -> Value {
    let (total, user, system, throttling) = if cgroup::is_v2() {
        let stat = cgroup::read_flat_keyed(&cgroup::dir(record, "cpu").join("cpu.stat"));
        let us = |k: &str| stat.get(k).copied().unwrap_or(0) * 1000;
        (
            us("usage_usec"),
            us("user_usec"),
            us("system_usec"),
            json!({"periods": stat.get("nr_periods").copied().unwrap_or(0),
                   "throttled_periods": stat.get("nr_throttled").copied().unwrap_or(0),
                   "throttled_time": us("throttled_usec")}),
        )
    } else {
        let dir = cgroup::dir(record, "cpuacct");
        let total = cgroup::read_u64(&dir.join("cpuacct.usage")).unwrap_or(0);
        let stat = cgroup::read_flat_keyed(&dir.join("cpuacct.stat"));
        let tick = 1_000_000_000 / 100;
        let throttle = cgroup::read_flat_keyed(&cgroup::dir(record, "cpu").join("cpu.stat"));
        (
            total,
            stat.get("user").copied().unwrap_or(0) * tick,
            stat.get("system").copied().unwrap_or(0) * tick,
            json!({"periods": throttle.get("nr_periods").copied().unwrap_or(0),
                   "throttled_periods": throttle.get("nr_throttled").copied().unwrap_or(0),
                   "throttled_time": throttle.get("throttled_time").copied().unwrap_or(0)}),
        )
    };
    json!({
        "cpu_usage": {
            "total_usage": total,
            "usage_in_kernelmode": system,
            "usage_in_usermode": user,
        },
        "system_cpu_usage": system_cpu_usage(),
        "online_cpus": online_cpus(),
        "throttling_data": throttling,
    })
}

fn memory_stats(record: &Record) -> Value {
    let dir = cgroup::dir(record, "memory");
    if cgroup::is_v2() {
        let usage = cgroup::read_u64(&dir.join("memory.current")).unwrap_or(0);
        let limit = cgroup::read(&dir.join("memory.max"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(host_memory);
        let stats: Map<String, Value> = cgroup::read_flat_keyed(&dir.join("memory.stat"))
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        return json!({"usage": usage, "stats": stats, "limit": limit});
    }
    let usage = cgroup::read_u64(&dir.join("memory.usage_in_bytes")).unwrap_or(0);
    let max_usage = cgroup::read_u64(&dir.join("memory.max_usage_in_bytes")).unwrap_or(0);
    let limit = cgroup::read_u64(&dir.join("memory.limit_in_bytes"))
        .unwrap_or(u64::MAX)
        .min(host_memory());
    let failcnt = cgroup::read_u64(&dir.join("memory.failcnt")).unwrap_or(0);
    let stats: Map<String, Value> = cgroup::read_flat_keyed(&dir.join("memory.stat"))
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    json!({"usage": usage, "max_usage": max_usage, "failcnt": failcnt, "stats": stats, "limit": limit})
}

fn host_memory() -> u64 {
    cgroup::read(std::path::Path::new("/proc/meminfo"))
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
            Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
        })
        .unwrap_or(0)
}

fn pids_stats(record: &Record) -> Value {
    let dir = cgroup::dir(record, "pids");
    let current = cgroup::read_u64(&dir.join("pids.current")).unwrap_or(0);
    let limit = cgroup::read(&dir.join("pids.max")).and_then(|v| v.trim().parse::<u64>().ok());
    match limit {
        Some(limit) => json!({"current": current, "limit": limit}),
        None => json!({"current": current}),
    }
}

fn blkio_stats(record: &Record) -> Value {
    let mut entries = Vec::new();
    if cgroup::is_v2() {
        for line in cgroup::read(&cgroup::dir(record, "io").join("io.stat"))
            .unwrap_or_default()
            .lines()
        {
            let mut parts = line.split_whitespace();
            let Some((major, minor)) = parts.next().and_then(|d| d.split_once(':')) else {
                continue;
            };
            for kv in parts {
                let Some((key, value)) = kv.split_once('=') else {
                    continue;
                };
                let op = match key {
                    "rbytes" => "read",
                    "wbytes" => "write",
                    _ => continue,
                };
                entries.push(json!({"major": major.parse::<u64>().unwrap_or(0), "minor": minor.parse::<u64>().unwrap_or(0),
                                    "op": op, "value": value.parse::<u64>().unwrap_or(0)}));
            }
        }
    } else {
        let dir = cgroup::dir(record, "blkio");
        let text = cgroup::read(&dir.join("blkio.throttle.io_service_bytes_recursive"))
            .or_else(|| cgroup::read(&dir.join("blkio.io_service_bytes_recursive")))
            .unwrap_or_default();
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [device, op, value] = parts.as_slice() else {
                continue;
            };
            let Some((major, minor)) = device.split_once(':') else {
                continue;
            };
            entries.push(json!({"major": major.parse::<u64>().unwrap_or(0), "minor": minor.parse::<u64>().unwrap_or(0),
                                "op": op.to_ascii_lowercase(), "value": value.parse::<u64>().unwrap_or(0)}));
        }
    }
    json!({"io_service_bytes_recursive": entries})
}

/// Interface counters of the container's network namespace, lo excluded.
fn network_stats(pid: u32) -> Value {
    let mut networks = Map::new();
    let text =
        cgroup::read(std::path::Path::new(&format!("/proc/{pid}/net/dev"))).unwrap_or_default();
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name == "lo" {
            continue;
        }
        let v: Vec<u64> = counters
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() < 16 {
            continue;
        }
        networks.insert(
            name.to_string(),
            json!({
                "rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
                "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10], "tx_dropped": v[11],
            }),
        );
    }
    Value::Object(networks)
}
