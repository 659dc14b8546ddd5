//! `berth network connect`.

use clap::Args;
use serde_json::{json, Map, Value};

use crate::client::{self, encode};
use crate::commands::volume::key_values;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct NetworkConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long = "alias", value_name = "strings", value_delimiter = ',')]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings", value_delimiter = ',')]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(
        long = "gw-priority",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub gw_priority: Option<i64>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long = "ip", value_name = "ip")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long = "ip6", value_name = "ip")]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long = "link", value_name = "list")]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "strings", value_delimiter = ',')]
    pub link_local_ip: Vec<String>,
    /// NETWORK
    #[arg(value_name = "NETWORK")]
    pub network: String,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub async fn run(ctx: &mut Context, args: NetworkConnectArgs) -> client::Result<u8> {
    let mut ipam = Map::new();
    if let Some(ip) = args.ip.as_deref().filter(|ip| !ip.is_empty()) {
        ipam.insert("IPv4Address".into(), json!(ip));
    }
    if let Some(ip) = args.ip6.as_deref().filter(|ip| !ip.is_empty()) {
        ipam.insert("IPv6Address".into(), json!(ip));
    }
    if !args.link_local_ip.is_empty() {
        ipam.insert("LinkLocalIPs".into(), json!(args.link_local_ip));
    }
    let list = |items: &[String]| {
        if items.is_empty() {
            Value::Null
        } else {
            json!(items)
        }
    };
    let driver_opts = if args.driver_opt.is_empty() {
        Value::Null
    } else {
        json!(key_values(&args.driver_opt))
    };
    let body = json!({
        "Container": args.container,
        "EndpointConfig": {
            "IPAMConfig": if ipam.is_empty() { Value::Null } else { Value::Object(ipam) },
            "Links": list(&args.link),
            "Aliases": list(&args.alias),
            "DriverOpts": driver_opts,
            "GwPriority": args.gw_priority.unwrap_or(0),
        },
    });
    ctx.client
        .post_json(
            &format!("/networks/{}/connect", encode(&args.network)),
            Some(&body),
        )
        .await?;
    Ok(0)
}
