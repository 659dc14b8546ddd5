//! `berth network disconnect`.

use clap::Args;
use serde_json::json;

use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct NetworkDisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// NETWORK
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub async fn run(ctx: &mut Context, args: NetworkDisconnectArgs) -> client::Result<u8> {
    let body = json!({ "Container": args.container, "Force": args.force });
    ctx.client
        .post_json(
            &format!("/networks/{}/disconnect", encode(&args.network)),
            Some(&body),
        )
        .await?;
    Ok(0)
}
