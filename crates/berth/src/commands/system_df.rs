//! `berth system df`: disk usage by images, containers, volumes and build cache.

use clap::Args;
use serde_json::{json, Value};

use super::Context;
use crate::client;
use crate::output::{self, ListFormat};

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Format output using a custom template
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

const DEFAULT_FORMAT: &str =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

pub async fn run(ctx: &mut Context, args: DfArgs) -> client::Result<u8> {
    let usage = ctx.client.get_json("/system/df").await?;
    let list = |key: &str| {
        usage
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let images = list("Images");
    let containers = list("Containers");
    let volumes = list("Volumes");
    let cache = list("BuildCache");
    let int = |v: &Value, key: &str| v.get(key).and_then(Value::as_i64).unwrap_or(0);

    let image_size: i64 = usage.get("LayersSize").and_then(Value::as_i64).unwrap_or(0);
    let images_active = images.iter().filter(|i| int(i, "Containers") > 0).count();
    let image_reclaimable: i64 = images
        .iter()
        .filter(|i| int(i, "Containers") == 0)
        .map(|i| int(i, "Size") - int(i, "SharedSize").max(0))
        .sum();
    let containers_active = containers
        .iter()
        .filter(|c| c.get("State").and_then(Value::as_str) == Some("running"))
        .count();
    let container_size: i64 = containers.iter().map(|c| int(c, "SizeRw")).sum();
    let container_reclaimable: i64 = containers
        .iter()
        .filter(|c| c.get("State").and_then(Value::as_str) != Some("running"))
        .map(|c| int(c, "SizeRw"))
        .sum();
    let volume_size = |v: &Value| v.get("UsageData").map(|u| int(u, "Size")).unwrap_or(0);
    let volume_refs = |v: &Value| v.get("UsageData").map(|u| int(u, "RefCount")).unwrap_or(0);
    let volumes_active = volumes.iter().filter(|v| volume_refs(v) > 0).count();
    let volume_total: i64 = volumes.iter().map(volume_size).sum();
    let volume_reclaimable: i64 = volumes
        .iter()
        .filter(|v| volume_refs(v) == 0)
        .map(volume_size)
        .sum();
    let cache_active = cache
        .iter()
        .filter(|c| c.get("InUse") == Some(&Value::Bool(true)))
        .count();
    let cache_size: i64 = cache.iter().map(|c| int(c, "Size")).sum();
    let cache_reclaimable: i64 = cache
        .iter()
        .filter(|c| c.get("InUse") != Some(&Value::Bool(true)))
        .map(|c| int(c, "Size"))
        .sum();

    let row = |kind: &str, total: usize, active: usize, size: i64, reclaimable: i64| {
        json!({
            "Type": kind,
            "TotalCount": total.to_string(),
            "Active": active.to_string(),
            "Size": output::human_size(size as f64),
            "Reclaimable": reclaimable_text(reclaimable, size),
        })
    };
    let rows = vec![
        row(
            "Images",
            images.len(),
            images_active,
            image_size,
            image_reclaimable,
        ),
        row(
            "Containers",
            containers.len(),
            containers_active,
            container_size,
            container_reclaimable,
        ),
        row(
            "Local Volumes",
            volumes.len(),
            volumes_active,
            volume_total,
            volume_reclaimable,
        ),
        row(
            "Build Cache",
            cache.len(),
            cache_active,
            cache_size,
            cache_reclaimable,
        ),
    ];
    if args.verbose && args.format.is_none() {
        print!("{}", verbose(&images, &containers, &volumes, &cache)?);
        return Ok(0);
    }
    let format = ListFormat::new(args.format.as_deref(), DEFAULT_FORMAT, HEADERS);
    print!("{}", format.render(&rows)?);
    Ok(0)
}

/// docker prints the reclaimable share as a percentage of the size.
fn reclaimable_text(reclaimable: i64, size: i64) -> String {
    let text = output::human_size(reclaimable as f64);
    if size > 0 {
        format!("{text} ({}%)", reclaimable * 100 / size)
    } else {
        text
    }
}

fn verbose(
    images: &[Value],
    containers: &[Value],
    volumes: &[Value],
    cache: &[Value],
) -> client::Result<String> {
    let mut out = String::new();
    out.push_str("Images space usage:\n\n");
    let image_rows: Vec<Value> = images
        .iter()
        .map(|i| {
            let tag = i
                .get("RepoTags")
                .and_then(Value::as_array)
                .and_then(|t| t.first())
                .and_then(Value::as_str)
                .unwrap_or("<none>:<none>");
            let (repo, tag) = tag.rsplit_once(':').unwrap_or((tag, "<none>"));
            let id = i
                .get("Id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim_start_matches("sha256:");
            let size = |k: &str| i.get(k).and_then(Value::as_i64).unwrap_or(0);
            json!({
                "Repository": repo, "Tag": tag, "ID": &id[..id.len().min(12)],
                "CreatedSince": output::time_ago(size("Created")),
                "Size": output::human_size(size("Size") as f64),
                "SharedSize": output::human_size(size("SharedSize").max(0) as f64),
                "UniqueSize": output::human_size((size("Size") - size("SharedSize").max(0)) as f64),
                "Containers": size("Containers").max(0).to_string(),
            })
        })
        .collect();
    out.push_str(&ListFormat::new(None,
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &[("Repository","REPOSITORY"),("Tag","TAG"),("ID","IMAGE ID"),("CreatedSince","CREATED"),("Size","SIZE"),("SharedSize","SHARED SIZE"),("UniqueSize","UNIQUE SIZE"),("Containers","CONTAINERS")]).render(&image_rows)?);
    out.push_str("\nContainers space usage:\n\n");
    let container_rows: Vec<Value> = containers.iter().map(|c| {
        let id = c.get("Id").and_then(Value::as_str).unwrap_or("");
        let names = c.get("Names").and_then(Value::as_array).and_then(|n| n.first()).and_then(Value::as_str).unwrap_or("").trim_start_matches('/');
        json!({
            "ID": &id[..id.len().min(12)],
            "Image": c.get("Image").and_then(Value::as_str).unwrap_or(""),
            "Command": format!("{:?}", c.get("Command").and_then(Value::as_str).unwrap_or("")),
            "LocalVolumes": c.get("Mounts").and_then(Value::as_array).map(|m| m.len()).unwrap_or(0).to_string(),
            "Size": output::human_size(c.get("SizeRw").and_then(Value::as_i64).unwrap_or(0) as f64),
            "CreatedSince": output::time_ago(c.get("Created").and_then(Value::as_i64).unwrap_or(0)),
            "Status": c.get("Status").and_then(Value::as_str).unwrap_or(""),
            "Names": names,
        })
    }).collect();
    out.push_str(&ListFormat::new(None,
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.CreatedSince}}\t{{.Status}}\t{{.Names}}",
        &[("ID","CONTAINER ID"),("Image","IMAGE"),("Command","COMMAND"),("LocalVolumes","LOCAL VOLUMES"),("Size","SIZE"),("CreatedSince","CREATED"),("Status","STATUS"),("Names","NAMES")]).render(&container_rows)?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    let volume_rows: Vec<Value> = volumes.iter().map(|v| json!({
        "Name": v.get("Name").and_then(Value::as_str).unwrap_or(""),
        "Links": v.get("UsageData").and_then(|u| u.get("RefCount")).and_then(Value::as_i64).unwrap_or(0).to_string(),
        "Size": output::human_size(v.get("UsageData").and_then(|u| u.get("Size")).and_then(Value::as_i64).unwrap_or(0) as f64),
    })).collect();
    out.push_str(
        &ListFormat::new(
            None,
            "table {{.Name}}\t{{.Links}}\t{{.Size}}",
            &[
                ("Name", "VOLUME NAME"),
                ("Links", "LINKS"),
                ("Size", "SIZE"),
            ],
        )
        .render(&volume_rows)?,
    );
    out.push_str("\nBuild cache usage: ");
    let total: i64 = cache
        .iter()
        .map(|c| c.get("Size").and_then(Value::as_i64).unwrap_or(0))
        .sum();
    out.push_str(&output::human_size(total as f64));
    out.push_str("\n\n");
    out.push_str(&ListFormat::new(None, "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
        &[("ID","CACHE ID"),("CacheType","CACHE TYPE"),("Size","SIZE"),("CreatedSince","CREATED"),("LastUsedSince","LAST USED"),("UsageCount","USAGE"),("Shared","SHARED")]).render(&[])?);
    Ok(out)
}
