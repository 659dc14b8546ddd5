//! `berth network inspect`.

use clap::Args;

use crate::client::{self, encode, ClientError};
use crate::commands::image::inspect::print_objects;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct NetworkInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// NETWORK
    #[arg(required = true, value_name = "NETWORK")]
    pub networks: Vec<String>,
}

/// Prints every network found (one JSON array, or the template per network), then the
/// daemon's error for each one that failed, exiting 1, as docker does.
pub async fn run(ctx: &mut Context, args: NetworkInspectArgs) -> client::Result<u8> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &args.networks {
        let path = if args.verbose {
            format!("/networks/{}?verbose=true", encode(name))
        } else {
            format!("/networks/{}", encode(name))
        };
        match ctx.client.get_json(&path).await {
            Ok(value) => found.push(value),
            Err(e @ ClientError::Daemon { .. }) => errors.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    print_objects(&found, args.format.as_deref())?;
    if !errors.is_empty() {
        eprintln!("{}", errors.join("\n"));
        return Ok(1);
    }
    Ok(0)
}
