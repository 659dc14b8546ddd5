//! `GET /containers/{id}/logs`: reads the json-file log the shim writes (rotated files
//! oldest first), with `since`/`until`/`tail`/`timestamps`, and follows the live file
//! until the container stops.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_api::ApiError;
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::Engine;

/// How often a followed log is checked for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    pub timestamps: bool,
    /// Keep only the last N lines.
    pub tail: Option<usize>,
    /// Nanoseconds since the epoch.
    pub since: Option<i128>,
    pub until: Option<i128>,
}

/// One log line: 1 = stdout, 2 = stderr.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub stream: u8,
    pub data: Bytes,
}

#[derive(Deserialize)]
struct Entry {
    log: String,
    stream: String,
    time: String,
}

impl Engine {
    /// Returns whether the container has a TTY (raw output) and the lines.
    pub fn container_logs(
        &self,
        reference: &str,
        options: LogOptions,
    ) -> Result<(bool, mpsc::Receiver<LogLine>), ApiError> {
        let container = self.containers.get(reference)?;
        let record = container.snapshot();
        if !options.stdout && !options.stderr {
            return Err(ApiError::invalid(
                "Bad parameters: you must choose at least one stream",
            ));
        }
        let log_driver = record
            .host_config
            .log_config
            .as_ref()
            .map(|l| l.kind.clone())
            .unwrap_or_default();
        if log_driver == "none" || log_driver == "syslog" {
            return Err(ApiError::invalid(format!(
                "configured logging driver does not support reading: {log_driver}"
            )));
        }
        let (tx, rx) = mpsc::channel(256);
        let path = record.log_path.clone();
        tokio::task::spawn_blocking(move || {
            let live =
                || container.status().is_live() || container.status() == super::Status::Restarting;
            let _ = read_logs(&path, &options, &tx, live);
        });
        Ok((record.config.tty, rx))
    }
}

fn rotated_files(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..100)
        .map(|n| PathBuf::from(format!("{}.{n}", path.display())))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(path.to_path_buf());
    files
}

/// Converts and filters one json-file line; `None` when filtered out or malformed.
fn convert(line: &str, options: &LogOptions) -> Option<LogLine> {
    let entry: Entry = serde_json::from_str(line).ok()?;
    let stream = match entry.stream.as_str() {
        "stdout" if options.stdout => 1,
        "stderr" if options.stderr => 2,
        _ => return None,
    };
    if options.since.is_some() || options.until.is_some() {
        let nanos = chrono::DateTime::parse_from_rfc3339(&entry.time)
            .ok()?
            .timestamp_nanos_opt()? as i128;
        if options.since.is_some_and(|s| nanos < s) || options.until.is_some_and(|u| nanos > u) {
            return None;
        }
    }
    let data = if options.timestamps {
        format!("{} {}", entry.time, entry.log)
    } else {
        entry.log
    };
    Some(LogLine {
        stream,
        data: Bytes::from(data),
    })
}

fn read_logs(
    path: &Path,
    options: &LogOptions,
    tx: &mpsc::Sender<LogLine>,
    live: impl Fn() -> bool,
) -> std::io::Result<()> {
    let send = |line: LogLine| tx.blocking_send(line).is_ok();
    let files = rotated_files(path);
    let mut tail: Option<VecDeque<LogLine>> = options.tail.map(VecDeque::with_capacity);
    let mut position = 0u64;
    let mut inode = 0u64;
    for file in &files {
        let Ok(handle) = std::fs::File::open(file) else {
            continue;
        };
        let is_live_file = file == path;
        if is_live_file {
            inode = handle.metadata().map(|m| m.ino()).unwrap_or(0);
        }
        let mut reader = BufReader::new(handle);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line)?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            if is_live_file {
                position += n as u64;
            }
            let Some(converted) = convert(line.trim_end(), options) else {
                continue;
            };
            match &mut tail {
                Some(buffer) => {
                    if options.tail == Some(0) {
                        continue;
                    }
                    if buffer.len() == options.tail.unwrap_or(0) {
                        buffer.pop_front();
                    }
                    buffer.push_back(converted);
                }
                None => {
                    if !send(converted) {
                        return Ok(());
                    }
                }
            }
        }
    }
    for line in tail.into_iter().flatten() {
        if !send(line) {
            return Ok(());
        }
    }
    if !options.follow {
        return Ok(());
    }
    // Follow the live file: new complete lines as they arrive; a rotation (new inode)
    // starts over at the beginning of the new file.
    let mut partial = String::new();
    loop {
        let still_live = live();
        if let Ok(file) = std::fs::File::open(path) {
            let current_inode = file.metadata().map(|m| m.ino()).unwrap_or(0);
            if current_inode != inode {
                inode = current_inode;
                position = 0;
                partial.clear();
            }
            let mut reader = BufReader::new(file);
            reader.seek(SeekFrom::Start(position))?;
            let mut chunk = String::new();
            loop {
                chunk.clear();
                let n = reader.read_line(&mut chunk)?;
                if n == 0 {
                    break;
                }
                position += n as u64;
                partial.push_str(&chunk);
                if !partial.ends_with('\n') {
                    continue;
                }
                let line = std::mem::take(&mut partial);
                if let Some(converted) = convert(line.trim_end(), options) {
                    if !send(converted) {
                        return Ok(());
                    }
                }
            }
        }
        if !still_live || tx.is_closed() {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}
