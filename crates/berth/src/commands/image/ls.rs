//! `berth images` / `berth image ls`.

use clap::Args;
use serde_json::{json, Value};

use super::short_id;
use crate::client::{self, encode};
use crate::commands::Context;
use crate::output::{self, ListFormat};

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Show digests
    #[arg(long = "digests")]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

pub async fn run(ctx: &mut Context, args: ImagesArgs) -> client::Result<u8> {
    let mut filters = output::parse_filter_flags(&args.filter)?;
    if let Some(reference) = &args.reference {
        filters.add("reference", reference);
    }
    let mut query = vec![format!("all={}", args.all as u8)];
    if args.digests {
        query.push("digests=1".into());
    }
    if !filters.is_empty() {
        query.push(format!("filters={}", encode(&filters.to_json())));
    }
    let images = ctx
        .client
        .get_json(&format!("/images/json?{}", query.join("&")))
        .await?;
    let images = images.as_array().cloned().unwrap_or_default();

    if args.quiet {
        let mut seen = std::collections::HashSet::new();
        for image in &images {
            let id = text(image, "Id");
            let shown = if args.no_trunc {
                id.clone()
            } else {
                short_id(&id)
            };
            if seen.insert(shown.clone()) {
                println!("{shown}");
            }
        }
        return Ok(0);
    }
    let rows: Vec<Value> = images
        .iter()
        .flat_map(|image| rows_for(image, args.no_trunc))
        .collect();
    let default = if args.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    print!(
        "{}",
        ListFormat::new(args.format.as_deref(), default, HEADERS).render(&rows)?
    );
    Ok(0)
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One row per tag, like docker; an untagged image is one `<none>` row (with its digest
/// repository when it has one).
fn rows_for(image: &Value, no_trunc: bool) -> Vec<Value> {
    let id = text(image, "Id");
    let id = if no_trunc { id } else { short_id(&id) };
    let int = |k: &str| image.get(k).and_then(Value::as_i64).unwrap_or(0);
    let created = int("Created");
    let size = int("Size");
    let shared = int("SharedSize");
    let digests = strings(image, "RepoDigests");
    let digest_for = |repo: &str| {
        digests
            .iter()
            .find_map(|d| {
                d.split_once('@')
                    .filter(|(r, _)| *r == repo)
                    .map(|(_, h)| h.to_string())
            })
            .unwrap_or_else(|| "<none>".to_string())
    };
    let mut pairs: Vec<(String, String)> = strings(image, "RepoTags")
        .iter()
        .filter(|t| t.as_str() != "<none>:<none>")
        .map(|t| match t.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
            _ => (t.clone(), "<none>".to_string()),
        })
        .collect();
    if pairs.is_empty() {
        let repos: Vec<String> = digests
            .iter()
            .filter_map(|d| d.split_once('@').map(|(r, _)| r.to_string()))
            .collect();
        if repos.is_empty() {
            pairs.push(("<none>".into(), "<none>".into()));
        } else {
            pairs.extend(repos.into_iter().map(|r| (r, "<none>".to_string())));
        }
    }
    pairs
        .into_iter()
        .map(|(repo, tag)| {
            let digest = digest_for(&repo);
            json!({
                "Repository": repo,
                "Tag": tag,
                "Digest": digest,
                "ID": id,
                "CreatedSince": output::time_ago(created),
                "CreatedAt": output::created_at(created),
                "Size": output::human_size(size as f64),
                "VirtualSize": output::human_size(size as f64),
                "SharedSize": if shared < 0 { "N/A".to_string() } else { output::human_size(shared as f64) },
                "UniqueSize": if shared < 0 { "N/A".to_string() } else { output::human_size((size - shared) as f64) },
                "Containers": if int("Containers") < 0 { "N/A".to_string() } else { int("Containers").to_string() },
            })
        })
        .collect()
}
