//! `berth network prune`.

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::image::prune::confirm;
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct NetworkPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

const WARNING: &str =
    "WARNING! This will remove all custom networks not used by at least one container.";

pub async fn run(ctx: &mut Context, args: NetworkPruneArgs) -> client::Result<u8> {
    let filters = output::parse_filter_flags(&args.filter)?;
    if !args.force && !confirm(WARNING) {
        return Ok(0);
    }
    let path = if filters.is_empty() {
        "/networks/prune".to_string()
    } else {
        format!("/networks/prune?filters={}", encode(&filters.to_json()))
    };
    let report = ctx.client.post_json(&path, None).await?;
    let deleted: Vec<&str> = report
        .get("NetworksDeleted")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !deleted.is_empty() {
        let mut text = String::from("Deleted Networks:\n");
        for name in &deleted {
            text.push_str(name);
            text.push('\n');
        }
        println!("{text}");
    }
    Ok(0)
}
