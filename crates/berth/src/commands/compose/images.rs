//! `compose images`: the images the project's containers use.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::{json, Value};

use super::project::Options;
use super::state;
use crate::client::{self, encode};
use crate::commands::Context;
use crate::output::{human_size, ListFormat};

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Only display IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Format the output. Values: [table | json]
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    pub services: Vec<String>,
}

const DEFAULT: &str = "table {{.ContainerName}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}";
const HEADERS: &[(&str, &str)] = &[
    ("ContainerName", "CONTAINER"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("ID", "IMAGE ID"),
    ("Size", "SIZE"),
];

pub async fn run(ctx: &mut Context, options: &Options, args: ImagesArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let list = state::of_services(
        state::containers(&mut ctx.client, &project, true).await?,
        &args.services,
        false,
    );
    let mut images: BTreeMap<String, Value> = BTreeMap::new();
    let mut rows = Vec::new();
    for c in &list {
        let image_id = c
            .summary
            .get("ImageID")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !images.contains_key(&image_id) {
            let info = ctx
                .client
                .get_json(&format!("/images/{}/json", encode(&image_id)))
                .await
                .unwrap_or(Value::Null);
            images.insert(image_id.clone(), info);
        }
        let info = &images[&image_id];
        let name = c.summary.get("Image").and_then(Value::as_str).unwrap_or("");
        let (repo, tag) = match name.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
            _ => (name.to_string(), "latest".to_string()),
        };
        let short: String = image_id
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect();
        let size = info.get("Size").and_then(Value::as_f64).unwrap_or(0.0);
        rows.push(json!({
            "ContainerName": c.name,
            "Repository": repo,
            "Tag": tag,
            "ID": short,
            "FullID": image_id,
            "Size": human_size(size),
        }));
    }
    if args.quiet {
        let mut seen = Vec::new();
        for r in &rows {
            let id = r["FullID"].as_str().unwrap_or("").to_string();
            if !seen.contains(&id) {
                println!("{id}");
                seen.push(id);
            }
        }
        return Ok(0);
    }
    if args.format.as_deref() == Some("json") {
        println!("{}", Value::Array(rows));
        return Ok(0);
    }
    print!(
        "{}",
        ListFormat::new(args.format.as_deref(), DEFAULT, HEADERS).render(&rows)?
    );
    Ok(0)
}
