//! `berth rename CONTAINER NEW_NAME`.

use clap::Args;

use crate::client::{self, encode, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// CONTAINER
    pub container: String,
    /// NEW_NAME
    pub new_name: String,
}

pub async fn run(ctx: &mut Context, args: RenameArgs) -> client::Result<u8> {
    let old = args.container.trim();
    let new = args.new_name.trim();
    if old.is_empty() || new.is_empty() {
        return Err(ClientError::Other(anyhow::anyhow!(
            "Error: Neither old nor new names may be empty"
        )));
    }
    let path = format!("/containers/{}/rename?name={}", encode(old), encode(new));
    if let Err(e) = ctx.client.post_json(&path, None).await {
        eprintln!("{e}");
        return Err(ClientError::Other(anyhow::anyhow!(
            "Error: failed to rename container named {old}"
        )));
    }
    Ok(0)
}
