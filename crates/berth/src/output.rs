//! The CLI's output helpers: thin adapters from commands to `berth-format`, so every
//! command prints tables, templates, sizes and times the way docker does.

use berth_api::Filters;
use serde_json::Value;

use crate::client::{self, ClientError};

pub use berth_format::template::Template;

fn format_error(e: impl std::fmt::Display) -> ClientError {
    let text = e.to_string();
    if text.starts_with("template parsing error") {
        ClientError::Other(anyhow::anyhow!(text))
    } else {
        ClientError::Other(anyhow::anyhow!("template parsing error: {text}"))
    }
}

/// A single object through a user's `--format`, followed by a newline (inspect, version,
/// info).
pub fn render_one(template: &str, data: &Value) -> client::Result<String> {
    let mut text = render_plain(template, data)?;
    text.push('\n');
    Ok(text)
}

pub fn render_plain(template: &str, data: &Value) -> client::Result<String> {
    parse_template(template)?.render(data).map_err(format_error)
}

pub fn parse_template(template: &str) -> client::Result<Template> {
    Template::parse(template).map_err(format_error)
}

/// Aligns tab-separated cells like Go's `text/tabwriter`.
pub fn tabwrite(text: &str, min_width: usize, tab_width: usize, padding: usize) -> String {
    berth_format::tabwriter::TabWriter::new(min_width, tab_width, padding, ' ').format(text)
}

/// A list command's output format: the user's `--format` (or `table`/`json`), else the
/// command's default table, with the command's column headers.
pub struct ListFormat<'a> {
    format: String,
    headers: &'a [(&'a str, &'a str)],
}

impl<'a> ListFormat<'a> {
    pub fn new(user: Option<&str>, default: &str, headers: &'a [(&'a str, &'a str)]) -> Self {
        let format = match user {
            None | Some("") | Some("table") => default.to_string(),
            Some(other) => other.to_string(),
        };
        ListFormat { format, headers }
    }

    pub fn render(&self, rows: &[Value]) -> client::Result<String> {
        berth_format::ListFormat::new(Some(&self.format), &self.format, self.headers)
            .and_then(|format| format.render(rows))
            .map_err(format_error)
    }
}

/// `1.23MB` (decimal, 3 significant digits), as docker's size columns.
pub fn human_size(bytes: f64) -> String {
    berth_format::units::human_size(bytes)
}

/// `23.54GiB` (binary), as `docker info` prints memory.
pub fn bytes_size(bytes: f64) -> String {
    berth_format::units::bytes_size(bytes)
}

/// `2 minutes ago` for a unix timestamp in seconds.
pub fn time_ago(unix_seconds: i64) -> String {
    berth_format::units::time_ago(unix_seconds)
}

/// Go's `2006-01-02T15:04:05.000000000Z07:00` in local time, as `docker events` prints.
pub fn rfc3339_nano_fixed(nanos: i64) -> String {
    use chrono::TimeZone;
    let at = chrono::Local.timestamp_nanos(nanos);
    let offset = at.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        at.format("%:z").to_string()
    };
    format!("{}{zone}", at.format("%Y-%m-%dT%H:%M:%S%.9f"))
}

/// `--filter key=value` flags (repeatable) into the API's filters.
pub fn parse_filter_flags(flags: &[String]) -> client::Result<Filters> {
    let mut filters = Filters::default();
    for flag in flags {
        let Some((key, value)) = flag.split_once('=') else {
            return Err(ClientError::Other(anyhow::anyhow!(
                "bad format of filter (expected name=value)"
            )));
        };
        filters.add(key.trim().to_ascii_lowercase().as_str(), value);
    }
    Ok(filters)
}

/// Go's `time.Time.String()` layout in local time (`2026-11-25 17:53:44 +0000 UTC`), which
/// docker prints for `CreatedAt` columns.
pub fn created_at(unix_seconds: i64) -> String {
    berth_format::units::go_time_string(unix_seconds)
}

/// Truncates to `max` characters with a trailing `…`, as docker's table cells.
pub fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
