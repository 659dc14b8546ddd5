//! `berth system prune`: stopped containers, unused networks, dangling (or, with `-a`,
//! unused) images, the build cache, and with `--volumes` unused anonymous volumes.

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::image::prune::confirm;
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long = "volumes")]
    pub volumes: bool,
}

pub async fn run(ctx: &mut Context, args: SystemPruneArgs) -> client::Result<u8> {
    let mut warning = String::from(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
    );
    if args.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if args.all {
        "  - all images without at least one container associated to them\n"
    } else {
        "  - all dangling images\n"
    });
    warning.push_str("  - unused build cache\n");
    if !args.force && !confirm(&warning) {
        return Ok(0);
    }
    let filters = output::parse_filter_flags(&args.filter)?;
    let query = format!("filters={}", encode(&filters.to_json()));
    let mut reclaimed = 0u64;
    let containers = ctx
        .client
        .post_json(&format!("/containers/prune?{query}"), None)
        .await?;
    print_list("Deleted Containers:", &containers["ContainersDeleted"]);
    reclaimed += containers["SpaceReclaimed"].as_u64().unwrap_or(0);
    let networks = ctx
        .client
        .post_json(&format!("/networks/prune?{query}"), None)
        .await?;
    print_list("Deleted Networks:", &networks["NetworksDeleted"]);
    if args.volumes {
        let volumes = ctx
            .client
            .post_json(&format!("/volumes/prune?{query}"), None)
            .await?;
        print_list("Deleted Volumes:", &volumes["VolumesDeleted"]);
        reclaimed += volumes["SpaceReclaimed"].as_u64().unwrap_or(0);
    }
    let mut image_filters = filters.clone();
    image_filters.add("dangling", if args.all { "false" } else { "true" });
    let images = ctx
        .client
        .post_json(
            &format!("/images/prune?filters={}", encode(&image_filters.to_json())),
            None,
        )
        .await?;
    if let Some(Value::Array(items)) = images.get("ImagesDeleted") {
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
    reclaimed += images["SpaceReclaimed"].as_u64().unwrap_or(0);
    let cache = ctx.client.post_json("/build/prune", None).await?;
    print_list("Deleted build cache objects:", &cache["CachesDeleted"]);
    reclaimed += cache["SpaceReclaimed"].as_u64().unwrap_or(0);
    println!(
        "Total reclaimed space: {}",
        output::human_size(reclaimed as f64)
    );
    Ok(0)
}

fn print_list(title: &str, items: &Value) {
    if let Some(list) = items.as_array().filter(|l| !l.is_empty()) {
        println!("{title}");
        for item in list {
            if let Some(text) = item.as_str() {
                println!("{text}");
            }
        }
        println!();
    }
}
