//! `berth unpause`: thaws paused containers.

use clap::Args;

use super::{for_each, post, report};
use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct UnpauseArgs {
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: UnpauseArgs) -> client::Result<u8> {
    let results = for_each(ctx, &args.containers, |mut client, name| async move {
        post(
            &mut client,
            &format!("/containers/{}/unpause", encode(&name)),
        )
        .await
    })
    .await?;
    Ok(report(&args.containers, results))
}
