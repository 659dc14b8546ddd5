//! `berth network ls`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use berth_format::template::Methods;
use clap::Args;
use serde_json::{json, Value};

use crate::client::{self, encode, ClientError};
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct NetworkLsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

pub async fn run(ctx: &mut Context, args: NetworkLsArgs) -> client::Result<u8> {
    let filters = output::parse_filter_flags(&args.filter)?;
    let path = if filters.is_empty() {
        "/networks".to_string()
    } else {
        format!("/networks?filters={}", encode(&filters.to_json()))
    };
    let answer = ctx.client.get_json(&path).await?;
    let mut networks = answer.as_array().cloned().unwrap_or_default();
    networks.sort_by(|a, b| natural_cmp(text(a, "Name"), text(b, "Name")));
    // docker: `-q` replaces the default table, a custom format wins over `-q`.
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") if args.quiet => "{{.ID}}",
        None | Some("") | Some("table") => DEFAULT_FORMAT,
        Some("raw") if args.quiet => "network_id: {{.ID}}",
        Some("raw") => {
            "network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n"
        }
        Some(user) => user,
    };
    let list = berth_format::ListFormat::new(Some(format), DEFAULT_FORMAT, HEADERS)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    let rows = networks.iter().map(|n| {
        let labels = labels(n);
        let methods = Methods::new().add("Label", move |_: &Value, args: &[Value]| {
            if args.len() != 1 {
                return Err(format!(
                    "wrong number of args for Label: want 1 got {}",
                    args.len()
                ));
            }
            let key = args[0].as_str().unwrap_or("");
            Ok(json!(labels.get(key).cloned().unwrap_or_default()))
        });
        (row(n, !args.no_trunc), methods)
    });
    let text = list
        .render_each(rows)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    print!("{text}");
    Ok(0)
}

fn text<'a>(network: &'a Value, key: &str) -> &'a str {
    network.get(key).and_then(Value::as_str).unwrap_or("")
}

fn labels(network: &Value) -> BTreeMap<String, String> {
    network
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// One network as docker's `networkContext` presents it.
fn row(network: &Value, truncate: bool) -> Value {
    let id = text(network, "Id");
    let id = if truncate {
        id.chars().take(12).collect()
    } else {
        id.to_string()
    };
    let flag = |key: &str| {
        network
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string()
    };
    let ipv4 = network
        .get("EnableIPv4")
        .and_then(Value::as_bool)
        .unwrap_or(true)
        .to_string();
    let labels = labels(network)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "ID": id,
        "Name": text(network, "Name"),
        "Driver": text(network, "Driver"),
        "Scope": text(network, "Scope"),
        "IPv4": ipv4,
        "IPv6": flag("EnableIPv6"),
        "Internal": flag("Internal"),
        "Labels": labels,
        "CreatedAt": go_time(text(network, "Created")),
    })
}

/// An RFC 3339 time as Go's `time.Time.String()` prints it
/// (`2024-05-01 10:00:00.123 +0000 UTC`).
fn go_time(rfc3339: &str) -> String {
    let Ok(time) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let mut out = time.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = time.timestamp_subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    let offset = time.offset().local_minus_utc();
    if offset == 0 {
        out.push_str(" +0000 UTC");
    } else {
        out.push_str(&time.format(" %z %z").to_string());
    }
    out
}

/// Natural order as docker's `sortorder.NaturalLess`: digit runs compare as numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let start_i = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let start_j = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let x = std::str::from_utf8(&a[start_i..i])
                .unwrap_or("")
                .trim_start_matches('0');
            let y = std::str::from_utf8(&b[start_j..j])
                .unwrap_or("")
                .trim_start_matches('0');
            let order = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
            if order != Ordering::Equal {
                return order;
            }
            continue;
        }
        match a[i].cmp(&b[j]) {
            Ordering::Equal => {
                i += 1;
                j += 1;
            }
            other => return other,
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_naturally() {
        let mut names = vec!["net10", "net2", "bridge", "host", "net1", "none"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["bridge", "host", "net1", "net2", "net10", "none"]);
    }

    #[test]
    fn created_at_as_go_prints_it() {
        assert_eq!(
            go_time("2024-05-01T10:00:00.120000000Z"),
            "2024-05-01 10:00:00.12 +0000 UTC"
        );
        assert_eq!(
            go_time("0001-01-01T00:00:00Z"),
            "0001-01-01 00:00:00 +0000 UTC"
        );
    }
}
