//! `berth builder prune`: empties the build cache.

use clap::Args;
use serde_json::Value;

use crate::client;
use crate::commands::image::prune::confirm;
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct BuilderPruneArgs {
    /// Remove all unused build cache, not just dangling ones
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Provide filter values (e.g. "until=24h")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

pub async fn run(ctx: &mut Context, args: BuilderPruneArgs) -> client::Result<u8> {
    if !args.force && !confirm("WARNING! This will remove all dangling build cache.") {
        return Ok(0);
    }
    let report = ctx.client.post_json("/build/prune", None).await?;
    let reclaimed = report
        .get("SpaceReclaimed")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    println!(
        "Total reclaimed space: {}",
        output::human_size(reclaimed as f64)
    );
    Ok(0)
}
