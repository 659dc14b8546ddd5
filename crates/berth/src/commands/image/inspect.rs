//! `berth image inspect` (and `berth inspect` for images).

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Return JSON for specified type
    #[arg(long = "type", value_name = "string")]
    pub kind: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long = "size")]
    pub size: bool,
    /// IMAGE
    #[arg(required = true, value_name = "IMAGE")]
    pub names: Vec<String>,
}

/// Fetches each object, prints them as docker does (one JSON array, or the template per
/// object), and fails with exit 1 after printing what was found if any name is missing.
pub async fn run(ctx: &mut Context, args: InspectArgs) -> client::Result<u8> {
    if let Some(kind) = args.kind.as_deref() {
        if kind != "image" {
            return Err(ClientError::Usage(format!(
                "\"{kind}\" is not a valid value for --type"
            )));
        }
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &args.names {
        match ctx
            .client
            .get_json(&format!("/images/{}/json", encode(name)))
            .await
        {
            Ok(value) => found.push(value),
            Err(ClientError::Daemon { status, .. }) if status == http::StatusCode::NOT_FOUND => {
                missing.push(name.clone())
            }
            Err(e) => return Err(e),
        }
    }
    print_objects(&found, args.format.as_deref())?;
    if let Some(name) = missing.first() {
        return Err(ClientError::Usage(format!("No such image: {name}")));
    }
    Ok(0)
}

pub fn print_objects(objects: &[Value], format: Option<&str>) -> client::Result<()> {
    let inspected = berth_format::formatter::render_inspect(format, objects)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    print!("{}", inspected.output);
    Ok(())
}
