//! `berth events`: streams daemon events, one line each, as `docker events` prints them.

use clap::Args;
use serde_json::Value;

use super::Context;
use crate::client::{self, encode, ClientError};
use crate::output;
use crate::timespec;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long = "since", value_name = "string")]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long = "until", value_name = "string")]
    pub until: Option<String>,
}

pub async fn run(ctx: &mut Context, args: EventsArgs) -> client::Result<u8> {
    let now = chrono::Utc::now();
    let mut query = Vec::new();
    for (key, value) in [("since", &args.since), ("until", &args.until)] {
        if let Some(value) = value {
            let stamp = timespec::to_api_timestamp(value, now)
                .map_err(|e| ClientError::Other(anyhow::anyhow!(e)))?;
            query.push(format!("{key}={}", encode(&stamp)));
        }
    }
    let filters = output::parse_filter_flags(&args.filter)?;
    if !filters.is_empty() {
        query.push(format!("filters={}", encode(&filters.to_json())));
    }
    let path = if query.is_empty() {
        "/events".to_string()
    } else {
        format!("/events?{}", query.join("&"))
    };
    let template = match args.format.as_deref() {
        None | Some("") => None,
        Some("json") => Some(output::parse_template("{{json .}}")?),
        Some(text) => Some(output::parse_template(text)?),
    };
    let mut stdout = std::io::stdout();
    ctx.client
        .stream_json(http::Method::GET, &path, |event| {
            use std::io::Write;
            let line = match &template {
                Some(t) => t.render(&event)?,
                None => default_line(&event),
            };
            writeln!(stdout, "{line}")?;
            stdout.flush()?;
            Ok(true)
        })
        .await?;
    Ok(0)
}

/// `2026-11-25T17:53:44.070232000Z container start abc123 (image=busybox, name=web)`.
fn default_line(event: &Value) -> String {
    let nanos = event
        .get("timeNano")
        .and_then(Value::as_i64)
        .unwrap_or_else(|| event.get("time").and_then(Value::as_i64).unwrap_or(0) * 1_000_000_000);
    let time = output::rfc3339_nano_fixed(nanos);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let kind = text(event.get("Type"));
    let action = text(event.get("Action"));
    let actor = event.get("Actor");
    let id = text(actor.and_then(|a| a.get("ID")));
    let mut line = format!("{time} {kind} {action} {id}");
    if let Some(Value::Object(attributes)) = actor.and_then(|a| a.get("Attributes")) {
        if !attributes.is_empty() {
            let mut pairs: Vec<String> = attributes
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            line.push_str(&format!(" ({})", pairs.join(", ")));
        }
    }
    line
}
