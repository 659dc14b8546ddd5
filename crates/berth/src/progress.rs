//! Docker's JSON message streams (load, import, pull, push, build): print them the way the
//! docker CLI does and turn an `error` message into a failure.

use std::io::Write;

use serde_json::Value;

use crate::client::{self, Client, ClientError};

/// What a stream produced besides its printed text.
#[derive(Default)]
pub struct StreamResult {
    /// `aux` payloads (e.g. the ID of a built or imported image).
    pub aux: Vec<Value>,
    /// Lines printed, for callers that need to parse them.
    pub statuses: Vec<String>,
}

/// Prints every message of `response`; fails with the daemon's error message if one says
/// `error`. `quiet` prints nothing but still reports errors.
pub async fn print_stream(
    response: http::Response<hyper::body::Incoming>,
    quiet: bool,
) -> client::Result<StreamResult> {
    let mut result = StreamResult::default();
    let mut failure: Option<String> = None;
    let mut out = std::io::stdout();
    Client::read_json_lines(response, |message| {
        if let Some(error) = message.get("error").and_then(Value::as_str) {
            failure = Some(error.to_string());
            return Ok(false);
        }
        if let Some(aux) = message.get("aux") {
            result.aux.push(aux.clone());
        }
        if let Some(text) = message.get("stream").and_then(Value::as_str) {
            if !quiet {
                out.write_all(text.as_bytes())?;
            }
            result.statuses.push(text.trim_end().to_string());
        } else if let Some(status) = message.get("status").and_then(Value::as_str) {
            let line = match message.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => format!("{id}: {status}"),
                _ => status.to_string(),
            };
            let line = match message.get("progress").and_then(Value::as_str) {
                Some(progress) if !progress.is_empty() => format!("{line} {progress}"),
                _ => line,
            };
            if !quiet {
                writeln!(out, "{line}")?;
            }
            result.statuses.push(status.to_string());
        }
        out.flush()?;
        Ok(true)
    })
    .await?;
    match failure {
        Some(message) => Err(ClientError::Stream(message)),
        None => Ok(result),
    }
}

/// Shows a pull/push progress stream as docker does: on a terminal one line per layer,
/// redrawn in place with its progress bar; otherwise one plain line per state change
/// (bar updates dropped). `quiet` shows nothing. Fails with the stream's error.
pub async fn display_stream(
    response: http::Response<hyper::body::Incoming>,
    mut out: Box<dyn Write + Send>,
    terminal: bool,
    quiet: bool,
) -> client::Result<StreamResult> {
    let mut result = StreamResult::default();
    let mut failure: Option<String> = None;
    let mut lines = LayerLines::default();
    Client::read_json_lines(response, |message| {
        if let Some(error) = message
            .get("errorDetail")
            .and_then(|d| d.get("message"))
            .or_else(|| message.get("error"))
            .and_then(Value::as_str)
        {
            failure = Some(error.to_string());
            return Ok(false);
        }
        if let Some(aux) = message.get("aux") {
            result.aux.push(aux.clone());
            return Ok(true);
        }
        let status = message.get("status").and_then(Value::as_str).unwrap_or("");
        if !status.is_empty() {
            result.statuses.push(status.to_string());
        }
        if quiet {
            return Ok(true);
        }
        let id = message.get("id").and_then(Value::as_str).unwrap_or("");
        let bar = message
            .get("progress")
            .and_then(Value::as_str)
            .unwrap_or("");
        let has_progress = message
            .get("progressDetail")
            .and_then(Value::as_object)
            .is_some_and(|d| !d.is_empty());
        if let Some(stream) = message.get("stream").and_then(Value::as_str) {
            out.write_all(stream.as_bytes())?;
        } else if !terminal {
            if has_progress {
                return Ok(true);
            }
            if id.is_empty() {
                writeln!(out, "{status}")?;
            } else {
                writeln!(out, "{id}: {status}")?;
            }
        } else {
            let text = match (id.is_empty(), bar.is_empty()) {
                (true, _) => status.to_string(),
                (false, true) => format!("{id}: {status}"),
                (false, false) => format!("{id}: {status} {bar}"),
            };
            lines.show(&mut out, id, &text)?;
        }
        out.flush()?;
        Ok(true)
    })
    .await?;
    match failure {
        Some(message) => Err(ClientError::Stream(message)),
        None => Ok(result),
    }
}

/// The lines of a terminal progress display, one per layer ID, in first-seen order.
#[derive(Default)]
struct LayerLines {
    ids: std::collections::HashMap<String, usize>,
    count: usize,
}

impl LayerLines {
    fn show(&mut self, out: &mut dyn Write, id: &str, text: &str) -> std::io::Result<()> {
        match self.ids.get(id).copied() {
            Some(line) if !id.is_empty() => {
                // Go up to the layer's line, rewrite it, come back down.
                let up = self.count - line;
                write!(out, "\x1b[{up}A\r\x1b[2K{text}\r\x1b[{up}B")?;
            }
            _ => {
                if !id.is_empty() {
                    self.ids.insert(id.to_string(), self.count);
                }
                writeln!(out, "\x1b[2K{text}")?;
                self.count += 1;
            }
        }
        Ok(())
    }
}
