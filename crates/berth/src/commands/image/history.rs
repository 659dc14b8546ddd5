//! `berth history`.

use clap::Args;
use serde_json::{json, Value};

use super::short_id;
use crate::client::{self, encode};
use crate::commands::Context;
use crate::output::{self, ListFormat};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Format output using a custom template
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long = "human", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "bool")]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// IMAGE
    pub image: String,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub async fn run(ctx: &mut Context, args: HistoryArgs) -> client::Result<u8> {
    let history = ctx
        .client
        .get_json(&format!("/images/{}/history", encode(&args.image)))
        .await?;
    let items = history.as_array().cloned().unwrap_or_default();
    let id_of = |item: &Value| {
        let id = item
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or("<missing>");
        if id == "<missing>" || args.no_trunc {
            id.to_string()
        } else {
            short_id(id)
        }
    };
    if args.quiet {
        for item in &items {
            println!("{}", id_of(item));
        }
        return Ok(0);
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|item| {
            let created = item.get("Created").and_then(Value::as_i64).unwrap_or(0);
            let size = item.get("Size").and_then(Value::as_i64).unwrap_or(0);
            let created_by = item.get("CreatedBy").and_then(Value::as_str).unwrap_or("");
            let created_by = created_by.replace('\t', " ");
            let created_by = if args.no_trunc {
                created_by
            } else {
                output::ellipsis(&created_by, 45)
            };
            json!({
                "ID": id_of(item),
                "CreatedSince": if args.human { output::time_ago(created) } else { rfc3339(created) },
                "CreatedAt": rfc3339(created),
                "CreatedBy": created_by,
                "Size": if args.human { output::human_size(size as f64) } else { size.to_string() },
                "Comment": item.get("Comment").and_then(Value::as_str).unwrap_or(""),
            })
        })
        .collect();
    let default = if args.human {
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    } else {
        "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    };
    print!(
        "{}",
        ListFormat::new(args.format.as_deref(), default, HEADERS).render(&rows)?
    );
    Ok(0)
}

/// docker's history prints absolute times as RFC 3339 in local time.
fn rfc3339(unix_seconds: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_opt(unix_seconds, 0)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
