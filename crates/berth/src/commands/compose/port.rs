//! `compose port`: the host address a container port of a service is published on.

use clap::Args;
use serde_json::Value;

use super::project::Options;
use super::state;
use crate::client::{self, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct PortArgs {
    /// tcp or udp
    #[arg(long = "protocol", value_name = "string", default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if service has multiple replicas
    #[arg(long = "index", value_name = "int", default_value_t = 1)]
    pub index: u32,
    pub service: String,
    pub private_port: u16,
}

pub async fn run(ctx: &mut Context, options: &Options, args: PortArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let list = state::of_services(
        state::containers(&mut ctx.client, &project, true).await?,
        std::slice::from_ref(&args.service),
        false,
    );
    let Some(c) = list.iter().find(|c| c.number == args.index) else {
        return Err(ClientError::Other(anyhow::anyhow!(
            "service \"{}\" is not running",
            args.service
        )));
    };
    let found = c
        .summary
        .get("Ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .find(|p| {
            p.get("PrivatePort").and_then(Value::as_u64) == Some(u64::from(args.private_port))
                && p.get("Type").and_then(Value::as_str) == Some(args.protocol.as_str())
                && p.get("PublicPort").is_some()
        });
    match found {
        Some(p) => {
            let ip = p.get("IP").and_then(Value::as_str).unwrap_or("0.0.0.0");
            println!(
                "{ip}:{}",
                p.get("PublicPort").and_then(Value::as_u64).unwrap_or(0)
            );
            Ok(0)
        }
        None => Err(ClientError::Other(anyhow::anyhow!(
            "no port {}/{} for container {}",
            args.private_port,
            args.protocol,
            c.name
        ))),
    }
}
