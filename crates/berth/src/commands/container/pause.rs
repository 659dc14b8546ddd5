//! `berth pause`: freezes every process of the containers.

use clap::Args;

use super::{for_each, post, report};
use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: PauseArgs) -> client::Result<u8> {
    let results = for_each(ctx, &args.containers, |mut client, name| async move {
        post(&mut client, &format!("/containers/{}/pause", encode(&name))).await
    })
    .await?;
    Ok(report(&args.containers, results))
}
