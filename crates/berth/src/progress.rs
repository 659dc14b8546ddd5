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
