//! `berth volume ls`.

use std::collections::BTreeMap;

use berth_format::template::Methods;
use clap::Args;
use serde_json::{json, Value};

use super::checked_filters;
use crate::client::{self, encode, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct VolumeLsArgs {
    /// Display only cluster volumes, and use cluster volume list formatting
    #[arg(long = "cluster", hide = true)]
    pub cluster: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Only display volume names
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

const DEFAULT_FORMAT: &str = "table {{.Driver}}\t{{.Name}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
    ("Group", "GROUP"),
    ("Availability", "AVAILABILITY"),
    ("Status", "STATUS"),
];

pub async fn run(ctx: &mut Context, args: VolumeLsArgs) -> client::Result<u8> {
    let filters = checked_filters(&args.filter)?;
    let path = if filters.is_empty() {
        "/volumes".to_string()
    } else {
        format!("/volumes?filters={}", encode(&filters.to_json()))
    };
    let answer = ctx.client.get_json(&path).await?;
    let mut volumes = answer
        .get("Volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    volumes.sort_by(|a, b| name(a).cmp(name(b)));
    let format = match args.format.as_deref() {
        _ if args.quiet => "{{.Name}}",
        None | Some("") | Some("table") => DEFAULT_FORMAT,
        Some(user) => user,
    };
    let list = berth_format::ListFormat::new(Some(format), DEFAULT_FORMAT, HEADERS)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    let rows = volumes.iter().map(|v| {
        let labels = labels(v);
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
        (row(v), methods)
    });
    let text = list
        .render_each(rows)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    print!("{text}");
    Ok(0)
}

fn name(volume: &Value) -> &str {
    volume.get("Name").and_then(Value::as_str).unwrap_or("")
}

fn labels(volume: &Value) -> BTreeMap<String, String> {
    volume
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// One volume as docker's `VolumeContext` presents it.
fn row(volume: &Value) -> Value {
    let text = |key: &str| volume.get(key).and_then(Value::as_str).unwrap_or("");
    let usage = volume.get("UsageData").filter(|u| !u.is_null());
    let links = usage
        .and_then(|u| u.get("RefCount"))
        .and_then(Value::as_i64)
        .map_or("N/A".to_string(), |n| n.to_string());
    let size = usage
        .and_then(|u| u.get("Size"))
        .and_then(Value::as_i64)
        .map_or("N/A".to_string(), |n| crate::output::human_size(n as f64));
    let labels = labels(volume)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "Name": text("Name"),
        "Driver": text("Driver"),
        "Scope": text("Scope"),
        "Mountpoint": text("Mountpoint"),
        "Labels": labels,
        "Links": links,
        "Size": size,
        "Group": "",
        "Availability": "",
        "Status": "",
    })
}
