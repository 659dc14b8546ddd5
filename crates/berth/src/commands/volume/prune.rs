//! `berth volume prune`.

use clap::Args;
use serde_json::Value;

use super::checked_filters;
use crate::client::{self, encode, ClientError};
use crate::commands::image::prune::confirm;
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct VolumePruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

pub async fn run(ctx: &mut Context, args: VolumePruneArgs) -> client::Result<u8> {
    let mut filters = checked_filters(&args.filter)?;
    if args.all {
        if filters.contains("all") {
            return Err(ClientError::Usage(
                "conflicting options: cannot specify both --all and --filter all=1".into(),
            ));
        }
        filters.add("all", "true");
    }
    let warning = if args.all || filters.contains("all") {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !args.force && !confirm(warning) {
        return Ok(0);
    }
    let path = if filters.is_empty() {
        "/volumes/prune".to_string()
    } else {
        format!("/volumes/prune?filters={}", encode(&filters.to_json()))
    };
    let report = ctx.client.post_json(&path, None).await?;
    let deleted: Vec<&str> = report
        .get("VolumesDeleted")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut reclaimed = 0;
    if !deleted.is_empty() {
        println!("Deleted Volumes:");
        for name in &deleted {
            println!("{name}");
        }
        println!();
        reclaimed = report
            .get("SpaceReclaimed")
            .and_then(Value::as_u64)
            .unwrap_or(0);
    }
    println!(
        "Total reclaimed space: {}",
        output::human_size(reclaimed as f64)
    );
    Ok(0)
}
