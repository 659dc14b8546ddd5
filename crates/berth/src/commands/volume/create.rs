//! `berth volume create`.

use clap::Args;
use serde_json::{json, Value};

use super::key_values;
use crate::client::{self, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct VolumeCreateArgs {
    /// Specify volume driver name
    #[arg(
        short = 'd',
        long = "driver",
        value_name = "string",
        default_value = "local"
    )]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Specify volume name
    #[arg(long = "name", value_name = "string", hide = true)]
    pub name: Option<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// VOLUME
    #[arg(value_name = "VOLUME")]
    pub volume: Option<String>,
}

pub async fn run(ctx: &mut Context, args: VolumeCreateArgs) -> client::Result<u8> {
    let name = match (args.name.as_deref(), args.volume.as_deref()) {
        (Some(flag), Some(positional)) if !flag.is_empty() && flag != positional => {
            return Err(ClientError::Usage(
                "conflicting options: either specify --name or provide positional arg, not both"
                    .into(),
            ))
        }
        (Some(flag), _) if !flag.is_empty() => flag.to_string(),
        (_, Some(positional)) => positional.to_string(),
        _ => String::new(),
    };
    let body = json!({
        "Driver": args.driver,
        "DriverOpts": key_values(&args.opt),
        "Labels": key_values(&args.label),
        "Name": name,
    });
    let volume = ctx.client.post_json("/volumes/create", Some(&body)).await?;
    println!(
        "{}",
        volume.get("Name").and_then(Value::as_str).unwrap_or("")
    );
    Ok(0)
}
