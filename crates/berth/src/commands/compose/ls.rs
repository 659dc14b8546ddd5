//! `compose ls`: the projects that have containers on the daemon (found by label).

use std::collections::BTreeMap;

use clap::Args;
use serde_json::{json, Value};

use super::labels;
use crate::client::{self, encode};
use crate::commands::Context;
use crate::output::ListFormat;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show all stopped Compose projects
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Only display project names
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Format the output. Values: [table | json]
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
}

const DEFAULT: &str = "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Status", "STATUS"),
    ("ConfigFiles", "CONFIG FILES"),
];

pub async fn run(ctx: &mut Context, args: LsArgs) -> client::Result<u8> {
    let filters = json!({"label": [labels::PROJECT]});
    let list = ctx
        .client
        .get_json(&format!(
            "/containers/json?all=1&filters={}",
            encode(&filters.to_string())
        ))
        .await?;
    // project → (state → count, config files)
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, String)> = BTreeMap::new();
    for c in list.as_array().cloned().unwrap_or_default() {
        let label = |k: &str| {
            c.get("Labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let entry = projects.entry(label(labels::PROJECT)).or_default();
        let state = c
            .get("State")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        *entry.0.entry(state).or_default() += 1;
        if entry.1.is_empty() {
            entry.1 = label(labels::CONFIG_FILES);
        }
    }
    let rows: Vec<Value> = projects
        .into_iter()
        .filter(|(_, (states, _))| args.all || states.contains_key("running"))
        .map(|(name, (states, files))| {
            let status: Vec<String> = states.iter().map(|(s, n)| format!("{s}({n})")).collect();
            json!({"Name": name, "Status": status.join(", "), "ConfigFiles": files})
        })
        .collect();
    if args.quiet {
        for r in &rows {
            println!("{}", r["Name"].as_str().unwrap_or(""));
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
