//! `berth top CONTAINER [ps OPTIONS]`.

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct TopArgs {
    /// CONTAINER
    pub container: String,
    /// ps OPTIONS
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ps OPTIONS"
    )]
    pub ps_args: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: TopArgs) -> client::Result<u8> {
    let mut path = format!("/containers/{}/top", encode(&args.container));
    if !args.ps_args.is_empty() {
        path.push_str(&format!("?ps_args={}", encode(&args.ps_args.join(" "))));
    }
    let top = ctx.client.get_json(&path).await?;
    let cells = |row: &Value| -> String {
        row.as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .unwrap_or_default()
    };
    let mut text = cells(top.get("Titles").unwrap_or(&Value::Null));
    text.push('\n');
    if let Some(Value::Array(processes)) = top.get("Processes") {
        for process in processes {
            text.push_str(&cells(process));
            text.push('\n');
        }
    }
    print!("{}", output::tabwrite(&text, 20, 1, 3));
    Ok(0)
}
