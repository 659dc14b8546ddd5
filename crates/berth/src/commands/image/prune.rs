//! `berth image prune`.

use std::io::{BufRead, Write};

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

pub async fn run(ctx: &mut Context, args: PruneArgs) -> client::Result<u8> {
    let warning = if args.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !args.force && !confirm(warning) {
        return Ok(0);
    }
    let mut filters = output::parse_filter_flags(&args.filter)?;
    filters.add("dangling", if args.all { "false" } else { "true" });
    let report = ctx
        .client
        .post_json(
            &format!("/images/prune?filters={}", encode(&filters.to_json())),
            None,
        )
        .await?;
    if let Some(Value::Array(items)) = report.get("ImagesDeleted") {
        if !items.is_empty() {
            println!("Deleted Images:");
            for item in items {
                if let Some(t) = item.get("Untagged").and_then(Value::as_str) {
                    println!("untagged: {t}");
                }
                if let Some(d) = item.get("Deleted").and_then(Value::as_str) {
                    println!("deleted: {d}");
                }
            }
            println!();
        }
    }
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

/// docker's `Are you sure you want to continue? [y/N]` prompt.
pub fn confirm(warning: &str) -> bool {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}
