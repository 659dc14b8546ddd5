//! `berth restart`: stop (with the timeout and signal) then start again.

use clap::Args;

use super::stop::stop_query;
use super::{for_each, post, report};
use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct RestartArgs {
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

pub async fn run(ctx: &mut Context, args: RestartArgs) -> client::Result<u8> {
    let query = stop_query(args.timeout, args.signal.as_deref());
    let results = for_each(ctx, &args.containers, |mut client, name| {
        let query = query.clone();
        async move {
            post(
                &mut client,
                &format!("/containers/{}/restart{query}", encode(&name)),
            )
            .await
        }
    })
    .await?;
    Ok(report(&args.containers, results))
}
