//! `berth stats`: live resource usage of containers. One `GET /containers/{id}/stats`
//! stream per container; the table is redrawn every 500 ms in place (cursor home, each
//! line ended by erase-to-end-of-line, then erase-below), as docker does. Without names,
//! every running (`-a`: every) container is shown, following `start`/`die`/`destroy`
//! events. CPU % and memory are computed as docker's client computes them.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use http_body_util::BodyExt;
use serde_json::{json, Value};

use super::config_file_value;
use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;
use crate::output;

const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

const HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("ID", "CONTAINER ID"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// How often the table is redrawn.
const REFRESH: Duration = Duration::from_millis(500);
/// A container whose stream is silent this long shows `--` until it speaks again.
const SILENCE: Duration = Duration::from_secs(2);

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(long = "format", value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// CONTAINER...
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// The numbers of one container, as docker's `StatsEntry`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    pub name: String,
    pub id: String,
    pub cpu_percent: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percent: f64,
    pub net_rx: f64,
    pub net_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids: u64,
}

/// One watched container: what the user called it, its last numbers, and whether those
/// are valid (a failed or silent stream shows `--`).
#[derive(Debug, Clone)]
struct Watched {
    container: String,
    entry: Entry,
    invalid: bool,
    error: Option<String>,
}

type Shared = Arc<Mutex<Vec<Watched>>>;

fn u64_at(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// docker's `calculateCPUPercentUnix`: the container's share of the host's CPU time
/// between the two samples, times the number of CPUs.
pub fn cpu_percent(stats: &Value) -> f64 {
    let cpu_delta = u64_at(stats, "/cpu_stats/cpu_usage/total_usage") as f64
        - u64_at(stats, "/precpu_stats/cpu_usage/total_usage") as f64;
    let system_delta = u64_at(stats, "/cpu_stats/system_cpu_usage") as f64
        - u64_at(stats, "/precpu_stats/system_cpu_usage") as f64;
    let mut cpus = u64_at(stats, "/cpu_stats/online_cpus") as f64;
    if cpus == 0.0 {
        cpus = stats
            .pointer("/cpu_stats/cpu_usage/percpu_usage")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    }
}

/// docker's `calculateMemUsageUnixNoCache`: usage minus inactive file pages
/// (`total_inactive_file` on cgroup v1, `inactive_file` on v2).
pub fn memory_usage(stats: &Value) -> f64 {
    let usage = u64_at(stats, "/memory_stats/usage");
    let stat = |key: &str| stats.pointer(&format!("/memory_stats/stats/{key}"));
    if let Some(v) = stat("total_inactive_file").and_then(Value::as_u64) {
        if v < usage {
            return (usage - v) as f64;
        }
    }
    let inactive = stat("inactive_file").and_then(Value::as_u64).unwrap_or(0);
    if inactive < usage {
        return (usage - inactive) as f64;
    }
    usage as f64
}

/// One stats document as docker's client summarises it.
pub fn entry_from(stats: &Value) -> Entry {
    let memory = memory_usage(stats);
    let limit = u64_at(stats, "/memory_stats/limit") as f64;
    let (mut rx, mut tx) = (0.0, 0.0);
    if let Some(networks) = stats.get("networks").and_then(Value::as_object) {
        for network in networks.values() {
            rx += u64_at(network, "/rx_bytes") as f64;
            tx += u64_at(network, "/tx_bytes") as f64;
        }
    }
    let (mut read, mut write) = (0.0, 0.0);
    for io in stats
        .pointer("/blkio_stats/io_service_bytes_recursive")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let value = u64_at(io, "/value") as f64;
        match io
            .get("op")
            .and_then(Value::as_str)
            .and_then(|op| op.bytes().next())
        {
            Some(b'r' | b'R') => read += value,
            Some(b'w' | b'W') => write += value,
            _ => {}
        }
    }
    Entry {
        name: stats
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        id: stats
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        cpu_percent: cpu_percent(stats),
        memory,
        memory_limit: limit,
        memory_percent: if limit != 0.0 {
            memory / limit * 100.0
        } else {
            0.0
        },
        net_rx: rx,
        net_tx: tx,
        block_read: read,
        block_write: write,
        pids: u64_at(stats, "/pids_stats/current"),
    }
}

fn percent(value: f64) -> String {
    format!("{value:.2}%")
}

fn decimal(bytes: f64) -> String {
    berth_format::units::human_size_with_precision(bytes, 3)
}

/// The row the template sees (docker's `statsContext` methods as fields).
fn row(watched: &Watched, truncate: bool) -> Value {
    let e = &watched.entry;
    let name = e.name.trim_start_matches('/');
    let id = if truncate {
        e.id.chars().take(12).collect()
    } else {
        e.id.clone()
    };
    let none = "--";
    let (cpu, usage, mem, net, block, pids) = if watched.invalid {
        (
            none.to_string(),
            "-- / --".to_string(),
            none.to_string(),
            none.to_string(),
            none.to_string(),
            none.to_string(),
        )
    } else {
        (
            percent(e.cpu_percent),
            format!(
                "{} / {}",
                output::bytes_size(e.memory),
                output::bytes_size(e.memory_limit)
            ),
            percent(e.memory_percent),
            format!("{} / {}", decimal(e.net_rx), decimal(e.net_tx)),
            format!("{} / {}", decimal(e.block_read), decimal(e.block_write)),
            e.pids.to_string(),
        )
    };
    json!({
        "Container": watched.container,
        "Name": if name.is_empty() { none } else { name },
        "ID": id,
        "CPUPerc": cpu,
        "MemUsage": usage,
        "MemPerc": mem,
        "NetIO": net,
        "BlockIO": block,
        "PIDs": pids,
    })
}

fn update(shared: &Shared, container: &str, change: impl FnOnce(&mut Watched)) {
    let mut list = shared.lock().expect("stats list poisoned");
    if let Some(w) = list.iter_mut().find(|w| w.container == container) {
        change(w);
    }
}

/// Adds a container to watch unless it is watched already; true when added.
fn add(shared: &Shared, container: &str) -> bool {
    let mut list = shared.lock().expect("stats list poisoned");
    if list.iter().any(|w| w.container == container) {
        return false;
    }
    list.push(Watched {
        container: container.to_string(),
        entry: Entry::default(),
        invalid: false,
        error: None,
    });
    true
}

fn remove(shared: &Shared, container: &str) {
    shared
        .lock()
        .expect("stats list poisoned")
        .retain(|w| w.container != container);
}

/// Streams one container's stats into `shared`; `first` fires after the first document
/// (or the first failure).
async fn collect(
    mut client: Client,
    shared: Shared,
    container: String,
    stream: bool,
    first: tokio::sync::oneshot::Sender<()>,
) {
    let mut first = Some(first);
    let mut signal_first = || {
        if let Some(tx) = first.take() {
            let _ = tx.send(());
        }
    };
    let path = format!(
        "/containers/{}/stats?stream={}",
        encode(&container),
        if stream { "1" } else { "0" }
    );
    let response = match client.send(http::Method::GET, &path, None, None).await {
        Ok(r) => Client::check(r).await,
        Err(e) => Err(e),
    };
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            update(&shared, &container, |w| {
                w.invalid = true;
                w.error = Some(e.to_string());
            });
            signal_first();
            return;
        }
    };
    let mut body = response.into_body();
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let frame = match tokio::time::timeout(SILENCE, body.frame()).await {
            Err(_) => {
                update(&shared, &container, |w| {
                    w.entry = Entry {
                        name: w.entry.name.clone(),
                        id: w.entry.id.clone(),
                        ..Entry::default()
                    };
                    w.invalid = true;
                    w.error = Some("timeout waiting for stats".into());
                });
                signal_first();
                continue;
            }
            Ok(frame) => frame,
        };
        let data = match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
            Some(Err(e)) => {
                update(&shared, &container, |w| {
                    w.invalid = true;
                    w.error = Some(e.to_string());
                });
                signal_first();
                return;
            }
            None => {
                // A JSON document without a trailing newline (`stream=0`).
                if let Ok(stats) = serde_json::from_slice::<Value>(&pending) {
                    let entry = entry_from(&stats);
                    update(&shared, &container, |w| {
                        w.entry = entry;
                        w.invalid = false;
                        w.error = None;
                    });
                    signal_first();
                    if !stream {
                        return;
                    }
                }
                update(&shared, &container, |w| {
                    w.invalid = true;
                    w.error = Some("EOF".into());
                });
                signal_first();
                return;
            }
        };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let Ok(stats) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let entry = entry_from(&stats);
            update(&shared, &container, |w| {
                w.entry = entry;
                w.invalid = false;
                w.error = None;
            });
            signal_first();
            if !stream {
                return;
            }
        }
    }
}

/// Starts collecting for `container` if it is new; the receiver fires after its first
/// document.
fn watch(
    ctx: &Context,
    shared: &Shared,
    container: &str,
    stream: bool,
) -> Option<tokio::sync::oneshot::Receiver<()>> {
    if !add(shared, container) {
        return None;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(collect(
        ctx.client.sibling(),
        shared.clone(),
        container.to_string(),
        stream,
        tx,
    ));
    Some(rx)
}

/// Subscribes to container events (answering once subscribed) and keeps the watched set
/// in step: `start` (and `create` with `-a`) adds, `destroy` (and `die` without `-a`)
/// removes.
async fn follow_events(
    ctx: &Context,
    shared: &Shared,
    all: bool,
    stream: bool,
) -> client::Result<()> {
    let mut client = ctx.client.sibling();
    let filters = encode(r#"{"type":["container"]}"#);
    let response = client
        .send(
            http::Method::GET,
            &format!("/events?filters={filters}"),
            None,
            None,
        )
        .await?;
    let response = Client::check(response).await?;
    let shared = shared.clone();
    let spawner = ctx.client.sibling();
    tokio::spawn(async move {
        let _ = Client::read_json_lines(response, |event| {
            let action = event
                .get("Action")
                .or_else(|| event.get("status"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(id) = event
                .pointer("/Actor/ID")
                .or_else(|| event.get("id"))
                .and_then(Value::as_str)
            else {
                return Ok(true);
            };
            match action {
                "start" => start_watch(&spawner, &shared, id, stream),
                "create" if all => start_watch(&spawner, &shared, id, stream),
                "destroy" => remove(&shared, id),
                "die" if !all => remove(&shared, id),
                _ => {}
            }
            Ok(true)
        })
        .await;
    });
    Ok(())
}

fn start_watch(client: &Client, shared: &Shared, container: &str, stream: bool) {
    if add(shared, container) {
        let (tx, _rx) = tokio::sync::oneshot::channel();
        tokio::spawn(collect(
            client.sibling(),
            shared.clone(),
            container.to_string(),
            stream,
            tx,
        ));
    }
}

fn render(format: &output::ListFormat, shared: &Shared, truncate: bool) -> client::Result<String> {
    let rows: Vec<Value> = shared
        .lock()
        .expect("stats list poisoned")
        .iter()
        .map(|w| row(w, truncate))
        .collect();
    format.render(&rows)
}

/// One frame of the live view: home, every line erased to its end, then erase below.
fn frame(text: &str) -> String {
    let mut out = String::from("\x1b[H");
    for line in text.split('\n') {
        out.push_str(line);
        out.push_str("\x1b[K\n");
    }
    out.push_str("\x1b[J");
    out
}

fn print_flush(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

pub async fn run(ctx: &mut Context, args: StatsArgs) -> client::Result<u8> {
    ctx.client.negotiated_version().await?;
    let format_text = args
        .format
        .clone()
        .filter(|f| !f.is_empty())
        .or_else(|| config_file_value("statsFormat"));
    let format = output::ListFormat::new(format_text.as_deref(), DEFAULT_FORMAT, HEADERS);
    // Checks the template before any request.
    format.render(&[])?;
    let stream = !args.no_stream;
    let shared: Shared = Arc::new(Mutex::new(Vec::new()));
    let show_all = args.containers.is_empty();
    let mut firsts = Vec::new();
    if show_all {
        follow_events(ctx, &shared, args.all, stream).await?;
        let list = ctx
            .client
            .get_json(&format!("/containers/json?all={}", u8::from(args.all)))
            .await?;
        for container in list.as_array().into_iter().flatten() {
            if let Some(id) = container.get("Id").and_then(Value::as_str) {
                firsts.extend(watch(ctx, &shared, id, stream));
            }
        }
    } else {
        for name in &args.containers {
            firsts.extend(watch(ctx, &shared, name, stream));
        }
    }
    for first in firsts {
        let _ = first.await;
    }
    if !show_all {
        let errors: Vec<String> = shared
            .lock()
            .expect("stats list poisoned")
            .iter()
            .filter_map(|w| w.error.clone())
            .collect();
        if !errors.is_empty() {
            return Err(ClientError::Stream(errors.join("\n")));
        }
    }
    let truncate = !args.no_trunc;
    if !stream {
        if shared.lock().expect("stats list poisoned").is_empty() {
            return Ok(0);
        }
        let text = render(&format, &shared, truncate)?;
        let _ = print_flush(&text);
        return Ok(0);
    }
    let mut ticker = tokio::time::interval(REFRESH);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if !show_all && shared.lock().expect("stats list poisoned").is_empty() {
            let _ = print_flush("\x1b[H\x1b[J");
            return Ok(0);
        }
        let text = render(&format, &shared, truncate)?;
        if print_flush(&frame(&text)).is_err() {
            // Our stdout went away (`| head`): stop quietly.
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cpu_and_memory_as_docker_computes_them() {
        let stats = json!({
            "name": "/web", "id": "0123456789abcdef0123",
            "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000}, "system_cpu_usage": 20_000_000, "online_cpus": 4},
            "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}, "system_cpu_usage": 10_000_000},
            "memory_stats": {"usage": 10_485_760, "limit": 104_857_600, "stats": {"total_inactive_file": 5_242_880}},
            "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 2000}, "eth1": {"rx_bytes": 500, "tx_bytes": 0}},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"op": "read", "value": 4096}, {"op": "Write", "value": 8192}, {"op": "Total", "value": 1}]},
            "pids_stats": {"current": 3}
        });
        let e = entry_from(&stats);
        assert_eq!(e.cpu_percent, 80.0);
        assert_eq!(e.memory, 5_242_880.0);
        assert_eq!(e.memory_percent, 5.0);
        assert_eq!((e.net_rx, e.net_tx), (1500.0, 2000.0));
        assert_eq!((e.block_read, e.block_write), (4096.0, 8192.0));
        let watched = Watched {
            container: "web".into(),
            entry: e,
            invalid: false,
            error: None,
        };
        let r = row(&watched, true);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Name"], "web");
        assert_eq!(r["CPUPerc"], "80.00%");
        assert_eq!(r["MemUsage"], "5MiB / 100MiB");
        assert_eq!(r["MemPerc"], "5.00%");
        assert_eq!(r["NetIO"], "1.5kB / 2kB");
        assert_eq!(r["BlockIO"], "4.1kB / 8.19kB");
        assert_eq!(r["PIDs"], "3");
        // cgroup v2 counts inactive_file; no previous sample means 0 %.
        let v2 = json!({"memory_stats": {"usage": 100, "stats": {"inactive_file": 40}},
                        "cpu_stats": {"cpu_usage": {"total_usage": 5}, "system_cpu_usage": 9}});
        assert_eq!(memory_usage(&v2), 60.0);
        assert_eq!(cpu_percent(&v2), 0.0);
    }

    #[test]
    fn invalid_rows_and_frames() {
        let watched = Watched {
            container: "x".into(),
            entry: Entry::default(),
            invalid: true,
            error: Some("EOF".into()),
        };
        let r = row(&watched, true);
        assert_eq!(r["CPUPerc"], "--");
        assert_eq!(r["MemUsage"], "-- / --");
        assert_eq!(r["Name"], "--");
        assert_eq!(frame("A\nB"), "\x1b[HA\x1b[K\nB\x1b[K\n\x1b[J");
        let format = output::ListFormat::new(None, DEFAULT_FORMAT, HEADERS);
        let text = format.render(&[r]).unwrap();
        assert!(text.starts_with("CONTAINER ID   NAME      CPU %"), "{text}");
    }
}
