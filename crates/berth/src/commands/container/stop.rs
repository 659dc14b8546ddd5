//! `berth stop`: SIGTERM (or the container's stop signal), then SIGKILL after the timeout.

use clap::Args;

use super::{for_each, post_allow_not_modified, report};
use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string")]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "timeout",
        visible_alias = "time",
        value_name = "int",
        allow_hyphen_values = true
    )]
    pub timeout: Option<i64>,
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// The `?t=&signal=` query shared by stop and restart.
pub fn stop_query(timeout: Option<i64>, signal: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(t) = timeout {
        query.push(format!("t={t}"));
    }
    if let Some(signal) = signal.filter(|s| !s.is_empty()) {
        query.push(format!("signal={}", encode(signal)));
    }
    if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    }
}

pub async fn run(ctx: &mut Context, args: StopArgs) -> client::Result<u8> {
    let query = stop_query(args.timeout, args.signal.as_deref());
    let results = for_each(ctx, &args.containers, |mut client, name| {
        let query = query.clone();
        async move {
            post_allow_not_modified(
                &mut client,
                &format!("/containers/{}/stop{query}", encode(&name)),
            )
            .await
        }
    })
    .await?;
    Ok(report(&args.containers, results))
}
