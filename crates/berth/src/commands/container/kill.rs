//! `berth kill`: sends a signal (SIGKILL unless `-s`).

use clap::Args;

use super::{for_each, post, report};
use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string")]
    pub signal: Option<String>,
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: KillArgs) -> client::Result<u8> {
    let query = match args.signal.as_deref().filter(|s| !s.is_empty()) {
        Some(signal) => format!("?signal={}", encode(signal)),
        None => String::new(),
    };
    let results = for_each(ctx, &args.containers, |mut client, name| {
        let query = query.clone();
        async move {
            post(
                &mut client,
                &format!("/containers/{}/kill{query}", encode(&name)),
            )
            .await
        }
    })
    .await?;
    Ok(report(&args.containers, results))
}
