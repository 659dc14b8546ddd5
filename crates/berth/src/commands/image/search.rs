//! `berth search`: `GET /images/search?term=&limit=&filters=`, shown as docker's table.

use berth_format::template::Methods;
use clap::Args;
use serde_json::{json, Value};

use crate::client::{self, encode, ClientError};
use crate::commands::Context;
use crate::output;

use super::auth;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Pretty-print search using a Go template
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Max number of search results
    #[arg(long = "limit", value_name = "int")]
    pub limit: Option<i64>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    #[arg(value_name = "TERM")]
    pub term: String,
}

const DEFAULT_FORMAT: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
    ("IsAutomated", "AUTOMATED"),
];

pub async fn run(ctx: &mut Context, args: SearchArgs) -> client::Result<u8> {
    let filters = output::parse_filter_flags(&args.filter)?;
    let mut path = format!("/images/search?term={}", encode(&args.term));
    if let Some(limit) = args.limit {
        path.push_str(&format!("&limit={limit}"));
    }
    if !filters.is_empty() {
        path.push_str(&format!("&filters={}", encode(&filters.to_json())));
    }
    ctx.client
        .set_registry_auth(Some(auth::header_for_image(&args.term)));
    let answer = ctx.client.get_json(&path).await;
    ctx.client.set_registry_auth(None);
    let results = answer?.as_array().cloned().unwrap_or_default();
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") => DEFAULT_FORMAT,
        Some(user) => user,
    };
    let list = berth_format::ListFormat::new(Some(format), DEFAULT_FORMAT, HEADERS)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    let rows = results
        .iter()
        .map(|r| (row(r, !args.no_trunc), Methods::new()));
    let text = list
        .render_each(rows)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    print!("{text}");
    Ok(0)
}

/// docker's `searchContext`: the description's first line, cut at 45 characters with
/// `…`; `[OK]` for official (and automated) images.
fn row(result: &Value, truncate: bool) -> Value {
    let text = |k: &str| {
        result
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let flag = |k: &str| {
        if result.get(k).and_then(Value::as_bool).unwrap_or(false) {
            "[OK]"
        } else {
            ""
        }
    };
    let mut description = text("description").replace('\n', " ");
    if truncate && description.chars().count() > 45 {
        description = description.chars().take(44).collect::<String>() + "…";
    }
    json!({
        "Name": text("name"),
        "Description": description,
        "StarCount": result.get("star_count").and_then(Value::as_i64).unwrap_or(0).to_string(),
        "IsOfficial": flag("is_official"),
        "IsAutomated": flag("is_automated"),
    })
}
