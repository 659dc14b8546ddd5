//! `berth logs`: the container's output (stdout to stdout, stderr to stderr; raw when the
//! container has a TTY), optionally followed.

use clap::Args;
use serde_json::Value;

use super::inspect_container;
use super::stream::{body_reader, copy_output};
use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;
use crate::timespec;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long = "details")]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for
    /// 42 minutes)
    #[arg(long = "since", value_name = "string")]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(
        short = 'n',
        long = "tail",
        value_name = "string",
        default_value = "all"
    )]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m"
    /// for 42 minutes)
    #[arg(long = "until", value_name = "string")]
    pub until: Option<String>,
    /// CONTAINER
    pub container: String,
}

pub async fn run(ctx: &mut Context, args: LogsArgs) -> client::Result<u8> {
    let container = inspect_container(&mut ctx.client, &args.container).await?;
    let id = container
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or(&args.container)
        .to_string();
    let tty = container
        .get("Config")
        .and_then(|c| c.get("Tty"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = chrono::Utc::now();
    let mut query = vec!["stdout=1".to_string(), "stderr=1".to_string()];
    for (key, value) in [("since", &args.since), ("until", &args.until)] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            let stamp = timespec::to_api_timestamp(value, now).map_err(|e| {
                ClientError::Other(anyhow::anyhow!("invalid value for \"{key}\": {e}"))
            })?;
            query.push(format!("{key}={}", encode(&stamp)));
        }
    }
    if args.timestamps {
        query.push("timestamps=1".to_string());
    }
    if args.details {
        query.push("details=1".to_string());
    }
    if args.follow {
        query.push("follow=1".to_string());
    }
    query.push(format!("tail={}", encode(&args.tail)));
    let path = format!("/containers/{}/logs?{}", encode(&id), query.join("&"));
    let response = ctx
        .client
        .send(http::Method::GET, &path, None, None)
        .await?;
    let response = Client::check(response).await?;
    copy_output(body_reader(response.into_body()), tty).await?;
    Ok(0)
}
