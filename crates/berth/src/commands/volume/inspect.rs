//! `berth volume inspect`.

use clap::Args;

use crate::client::{self, encode, ClientError};
use crate::commands::image::inspect::print_objects;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct VolumeInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
    /// VOLUME
    #[arg(required = true, value_name = "VOLUME")]
    pub volumes: Vec<String>,
}

/// Prints every volume found (one JSON array, or the template per volume), then fails
/// with `No such volume` for the first missing one, as docker does.
pub async fn run(ctx: &mut Context, args: VolumeInspectArgs) -> client::Result<u8> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &args.volumes {
        match ctx
            .client
            .get_json(&format!("/volumes/{}", encode(name)))
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
        return Err(ClientError::Usage(format!("No such volume: {name}")));
    }
    Ok(0)
}
