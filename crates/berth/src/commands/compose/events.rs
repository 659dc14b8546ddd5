//! `compose events`: the daemon's container events for the project, as Compose prints
//! them (`--json` for one JSON object per line).

use clap::Args;
use serde_json::{json, Value};

use super::labels;
use super::project::Options;
use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Output events as a stream of json objects
    #[arg(long = "json")]
    pub json: bool,
    pub services: Vec<String>,
}

pub async fn run(ctx: &mut Context, options: &Options, args: EventsArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let filters =
        json!({"type": ["container"], "label": [format!("{}={project}", labels::PROJECT)]});
    let path = format!("/events?filters={}", encode(&filters.to_string()));
    let services = args.services.clone();
    ctx.client
        .stream_json(http::Method::GET, &path, |event| {
            let attrs = event.pointer("/Actor/Attributes").cloned().unwrap_or(Value::Null);
            let service = attrs.get(labels::SERVICE).and_then(Value::as_str).unwrap_or("").to_string();
            if !services.is_empty() && !services.contains(&service) {
                return Ok(true);
            }
            let id = event.pointer("/Actor/ID").and_then(Value::as_str).unwrap_or("");
            let action = event.get("Action").and_then(Value::as_str).unwrap_or("");
            let nanos = event.get("timeNano").and_then(Value::as_i64).unwrap_or(0);
            let time = crate::output::rfc3339_nano_fixed(nanos);
            let mut shown = serde_json::Map::new();
            if let Value::Object(map) = &attrs {
                for (k, v) in map {
                    if k == "image" || k == "name" || !k.starts_with("com.docker.compose.") {
                        shown.insert(k.clone(), v.clone());
                    }
                }
            }
            if args.json {
                println!(
                    "{}",
                    json!({"time": time, "type": "container", "action": action, "id": id, "service": service, "attributes": shown})
                );
            } else {
                let pairs: Vec<String> = shown
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect();
                println!("{time} container {action} {id} ({})", pairs.join(", "));
            }
            Ok(true)
        })
        .await?;
    Ok(0)
}
