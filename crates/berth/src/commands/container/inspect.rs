//! `berth inspect` (any object: container, then image, network, volume) and
//! `berth container inspect`.

use clap::Args;
use serde_json::Value;

use super::is_not_found;
use crate::client::{self, encode, Client, ClientError};
use crate::commands::image::inspect::InspectArgs;
use crate::commands::Context;
use crate::output::Template;

#[derive(Debug, Args)]
pub struct ContainerInspectArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short = 's', long = "size")]
    pub size: bool,
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// The object kinds `inspect` looks through, in order, with their endpoint.
const KINDS: &[&str] = &["container", "image", "network", "volume"];

fn endpoint(kind: &str, name: &str, size: bool) -> String {
    let name = encode(name);
    match kind {
        "container" if size => format!("/containers/{name}/json?size=1"),
        "container" => format!("/containers/{name}/json"),
        "image" => format!("/images/{name}/json"),
        "network" => format!("/networks/{name}"),
        _ => format!("/volumes/{name}"),
    }
}

/// Looks `name` up as each allowed kind in turn; `Ok(None)` when none has it. With a
/// single kind the daemon's own error is returned, as docker does for `--type`.
async fn find(
    client: &mut Client,
    name: &str,
    kinds: &[&str],
    size: bool,
) -> client::Result<Option<Value>> {
    if let [kind] = kinds {
        return client.get_json(&endpoint(kind, name, size)).await.map(Some);
    }
    for kind in kinds {
        match client.get_json(&endpoint(kind, name, size)).await {
            Ok(value) => return Ok(Some(value)),
            Err(e) if is_not_found(&e) => continue,
            // Older daemons answer unknown endpoints with 400/405/501; try the next kind.
            Err(ClientError::Daemon { status, .. })
                if kinds.len() > 1 && (status.is_client_error() || status.as_u16() == 501) =>
            {
                continue
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// `berth inspect [--type T] NAME...`.
pub async fn run(ctx: &mut Context, args: InspectArgs) -> client::Result<u8> {
    let kinds: Vec<&str> = match args.kind.as_deref() {
        None | Some("") => KINDS.to_vec(),
        Some(kind) if KINDS.contains(&kind) => vec![kind],
        Some(kind) => {
            return Err(ClientError::Other(anyhow::anyhow!(
                "unknown type: \"{kind}\": must be one of \"config\", \"container\", \"image\", \"network\", \"node\", \"plugin\", \"secret\", \"service\", \"task\", \"volume\""
            )))
        }
    };
    inspect_all(ctx, &args.names, &kinds, args.size, args.format.as_deref()).await
}

/// Fetches every name, prints what was found, then the errors (exit 1 if any).
async fn inspect_all(
    ctx: &mut Context,
    names: &[String],
    kinds: &[&str],
    size: bool,
    format: Option<&str>,
) -> client::Result<u8> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match find(&mut ctx.client, name, kinds, size).await {
            Ok(Some(value)) => found.push(value),
            Ok(None) => errors.push(format!("Error: No such object: {name}")),
            Err(e @ ClientError::Daemon { .. }) => errors.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    errors.extend(print_found(&found, format)?);
    if errors.is_empty() {
        return Ok(0);
    }
    eprintln!("{}", errors.join("\n"));
    Ok(1)
}

/// Prints the objects as docker's inspect does and returns the per-object template errors.
/// The daemon's JSON is printed re-indented, so `<`, `>` and `&` stay as the daemon wrote
/// them; templates fail on missing keys (`map has no entry for key "X"`).
fn print_found(found: &[Value], format: Option<&str>) -> client::Result<Vec<String>> {
    let array = Value::Array(found.to_vec());
    let template = match format {
        None | Some("") => {
            println!(
                "{}",
                berth_format::json::encode(&array, Some("    "), false)
            );
            return Ok(Vec::new());
        }
        Some("json") => {
            println!("{}", berth_format::json::encode(&array, None, false));
            return Ok(Vec::new());
        }
        Some(format) => Template::parse(format)
            .map_err(|e| ClientError::Other(anyhow::anyhow!("template parsing error: {e}")))?
            .missing_key_error(true),
    };
    let mut output = String::new();
    let mut errors = Vec::new();
    for item in found {
        match template.render(item) {
            Ok(text) => {
                output.push_str(&text);
                output.push('\n');
            }
            Err(e) => errors.push(format!("template parsing error: {e}")),
        }
    }
    if output.is_empty() {
        output.push('\n');
    }
    print!("{output}");
    Ok(errors)
}

/// `berth container inspect CONTAINER...`.
pub async fn run_container(ctx: &mut Context, args: ContainerInspectArgs) -> client::Result<u8> {
    inspect_all(
        ctx,
        &args.containers,
        &["container"],
        args.size,
        args.format.as_deref(),
    )
    .await
}
