//! `compose top`: the processes of each running container of the project.

use clap::Args;
use serde_json::Value;

use super::project::Options;
use super::state;
use crate::client;
use crate::commands::Context;
use crate::output::tabwrite;

#[derive(Debug, Args)]
pub struct TopArgs {
    pub services: Vec<String>,
}

pub async fn run(ctx: &mut Context, options: &Options, args: TopArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let list = state::of_services(
        state::containers(&mut ctx.client, &project, false).await?,
        &args.services,
        false,
    );
    for (i, c) in list.iter().enumerate() {
        let top = ctx
            .client
            .get_json(&format!("/containers/{}/top", c.id))
            .await?;
        if i > 0 {
            println!();
        }
        println!("{}", c.name);
        let mut text = String::new();
        let titles: Vec<&str> = top
            .get("Titles")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        text.push_str(&titles.join("\t"));
        text.push('\n');
        for row in top
            .get("Processes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let cells: Vec<String> = row
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|v| v.as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            text.push_str(&cells.join("\t"));
            text.push('\n');
        }
        print!("{}", tabwrite(&text, 0, 4, 3));
    }
    Ok(0)
}
