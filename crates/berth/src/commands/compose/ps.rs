//! `compose ps`: the project's containers as Compose lists them.

use clap::Args;
use serde_json::{json, Value};

use super::logs::short_name;
use super::project::Options;
use super::state;
use crate::client;
use crate::commands::Context;
use crate::output::ListFormat;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all stopped containers (including those created by the run command)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Only display IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Display services
    #[arg(long = "services")]
    pub services_only: bool,
    /// Format output using a custom template: 'table', 'json', or a Go template
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]
    #[arg(long = "status", value_name = "stringArray")]
    pub status: Vec<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    pub services: Vec<String>,
}

const DEFAULT: &str = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("Service", "SERVICE"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("Ports", "PORTS"),
    ("ID", "CONTAINER ID"),
    ("State", "STATE"),
    ("Project", "PROJECT"),
];

/// `0.0.0.0:8080->80/tcp, 443/tcp` from a container summary's `Ports`.
pub fn ports_text(summary: &Value) -> String {
    let mut items: Vec<(u64, String)> = summary
        .get("Ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let private = p.get("PrivatePort").and_then(Value::as_u64).unwrap_or(0);
            let kind = p.get("Type").and_then(Value::as_str).unwrap_or("tcp");
            let text = match p.get("PublicPort").and_then(Value::as_u64) {
                Some(public) => {
                    let ip = p.get("IP").and_then(Value::as_str).unwrap_or("0.0.0.0");
                    let ip = if ip.contains(':') {
                        format!("[{ip}]")
                    } else {
                        ip.to_string()
                    };
                    format!("{ip}:{public}->{private}/{kind}")
                }
                None => format!("{private}/{kind}"),
            };
            (private, text)
        })
        .collect();
    items.sort();
    items.dedup();
    items
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn run(ctx: &mut Context, options: &Options, args: PsArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let mut list = state::of_services(
        state::containers(&mut ctx.client, &project, true).await?,
        &args.services,
        args.all,
    );
    if !args.all {
        list.retain(|c| c.running() || c.state == "paused");
    }
    if !args.status.is_empty() {
        list.retain(|c| args.status.contains(&c.state));
    }
    if args.services_only {
        let mut names: Vec<&str> = list.iter().map(|c| c.service.as_str()).collect();
        names.dedup();
        for n in names {
            println!("{n}");
        }
        return Ok(0);
    }
    if args.quiet {
        for c in &list {
            println!(
                "{}",
                if args.no_trunc {
                    c.id.clone()
                } else {
                    c.id.chars().take(12).collect()
                }
            );
        }
        return Ok(0);
    }
    let now = chrono::Utc::now().timestamp();
    let rows: Vec<Value> = list
        .iter()
        .map(|c| {
            let s = &c.summary;
            let command = s.get("Command").and_then(Value::as_str).unwrap_or("");
            let command = if args.no_trunc || command.chars().count() <= 20 {
                format!("\"{command}\"")
            } else {
                format!("\"{}…\"", command.chars().take(19).collect::<String>())
            };
            let created = s.get("Created").and_then(Value::as_i64).unwrap_or(now);
            json!({
                "ID": c.id,
                "Name": c.name,
                "Names": c.name,
                "Image": s.get("Image").cloned().unwrap_or(Value::Null),
                "Command": command,
                "Project": project,
                "Service": c.service,
                "Created": created,
                "RunningFor": crate::output::time_ago(created),
                "State": c.state,
                "Status": s.get("Status").cloned().unwrap_or(Value::Null),
                "Health": "",
                "ExitCode": 0,
                "Ports": ports_text(s),
                "Labels": s.get("Labels").cloned().unwrap_or(Value::Null),
                "Short": short_name(&project, c),
            })
        })
        .collect();
    if args.format.as_deref() == Some("json") {
        for row in &rows {
            println!("{row}");
        }
        return Ok(0);
    }
    let format = ListFormat::new(args.format.as_deref(), DEFAULT, HEADERS);
    print!("{}", format.render(&rows)?);
    Ok(0)
}
