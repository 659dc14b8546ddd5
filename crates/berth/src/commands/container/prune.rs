//! `berth container prune`: removes all stopped containers.

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::image::prune::confirm;
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct ContainerPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

pub async fn run(ctx: &mut Context, args: ContainerPruneArgs) -> client::Result<u8> {
    if !args.force && !confirm("WARNING! This will remove all stopped containers.") {
        return Ok(0);
    }
    let filters = output::parse_filter_flags(&args.filter)?;
    let path = if filters.is_empty() {
        "/containers/prune".to_string()
    } else {
        format!("/containers/prune?filters={}", encode(&filters.to_json()))
    };
    let report = ctx.client.post_json(&path, None).await?;
    let mut reclaimed = 0;
    if let Some(Value::Array(ids)) = report.get("ContainersDeleted") {
        if !ids.is_empty() {
            println!("Deleted Containers:");
            for id in ids.iter().filter_map(Value::as_str) {
                println!("{id}");
            }
            println!();
            reclaimed = report
                .get("SpaceReclaimed")
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
    }
    println!(
        "Total reclaimed space: {}",
        berth_format::units::human_size_with_precision(reclaimed as f64, 4)
    );
    Ok(0)
}
