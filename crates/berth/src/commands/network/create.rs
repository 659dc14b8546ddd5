//! `berth network create`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use clap::Args;
use serde_json::{json, Map, Value};

use crate::client::{self, ClientError};
use crate::commands::volume::key_values;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    /// Enable manual container attachment
    #[arg(long = "attachable")]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string")]
    pub config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(
        short = 'd',
        long = "driver",
        value_name = "string",
        default_value = "bridge"
    )]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long = "gateway", value_name = "strings", value_delimiter = ',')]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long = "ingress")]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long = "internal")]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings", value_delimiter = ',')]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", value_name = "string", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv6 networking
    #[arg(long = "ipv6", num_args = 0..=1, default_missing_value = "true", value_name = "bool")]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long = "scope", value_name = "string")]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long = "subnet", value_name = "strings", value_delimiter = ',')]
    pub subnet: Vec<String>,
    /// NETWORK
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

pub async fn run(ctx: &mut Context, args: NetworkCreateArgs) -> client::Result<u8> {
    let ipam_config = consolidate_ipam(
        &args.subnet,
        &args.ip_range,
        &args.gateway,
        &key_values(&args.aux_address),
    )
    .map_err(ClientError::Usage)?;
    let mut body = Map::new();
    body.insert("Name".into(), json!(args.name));
    body.insert("Driver".into(), json!(args.driver));
    body.insert(
        "Scope".into(),
        json!(args.scope.clone().unwrap_or_default()),
    );
    if let Some(ipv6) = args.ipv6 {
        body.insert("EnableIPv6".into(), json!(ipv6));
    }
    body.insert(
        "IPAM".into(),
        json!({
            "Driver": args.ipam_driver,
            "Config": ipam_config,
            "Options": key_values(&args.ipam_opt),
        }),
    );
    body.insert("Internal".into(), json!(args.internal));
    body.insert("Attachable".into(), json!(args.attachable));
    body.insert("Ingress".into(), json!(args.ingress));
    body.insert("ConfigOnly".into(), json!(args.config_only));
    if let Some(from) = args.config_from.as_deref().filter(|f| !f.is_empty()) {
        body.insert("ConfigFrom".into(), json!({ "Network": from }));
    }
    body.insert("Options".into(), json!(key_values(&args.opt)));
    body.insert("Labels".into(), json!(key_values(&args.label)));
    let answer = ctx
        .client
        .post_json("/networks/create", Some(&Value::Object(body)))
        .await?;
    if let Some(warning) = answer
        .get("Warning")
        .and_then(Value::as_str)
        .filter(|w| !w.is_empty())
    {
        eprintln!("{warning}");
    }
    println!("{}", answer.get("Id").and_then(Value::as_str).unwrap_or(""));
    Ok(0)
}

/// An address or a CIDR as (address, prefix length); a bare address is a full-length
/// prefix.
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = match text.split_once('/') {
        Some((ip, bits)) => (ip.parse::<IpAddr>().ok()?, Some(bits.parse::<u8>().ok()?)),
        None => (text.parse::<IpAddr>().ok()?, None),
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn as_bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// docker's `subnetMatches`: whether `data` (an address or CIDR) lies in `subnet`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let (net, bits) = parse_cidr(subnet)
        .filter(|_| subnet.contains('/'))
        .ok_or_else(|| format!("invalid subnet {subnet}: invalid CIDR address: {subnet}"))?;
    let (ip, _) = parse_cidr(data).ok_or_else(|| {
        if data.contains('/') {
            format!("invalid CIDR address: {data}")
        } else {
            format!("ParseAddr({data:?}): unable to parse IP")
        }
    })?;
    if net.is_ipv4() != ip.is_ipv4() {
        return Ok(false);
    }
    let (net, width) = as_bits(net);
    let (ip, _) = as_bits(ip);
    let shift = u32::from(width - bits);
    let mask = if shift >= 128 {
        0
    } else {
        (u128::MAX << shift) & (u128::MAX >> (128 - u32::from(width)))
    };
    Ok(net & mask == ip & mask)
}

/// docker's `consolidateIpam`: one IPAM config per subnet, with the range and gateway
/// that fall inside it.
fn consolidate_ipam(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &BTreeMap<String, String>,
) -> Result<Vec<Value>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    struct Config {
        subnet: String,
        range: String,
        gateway: String,
        aux: BTreeMap<String, String>,
    }
    let mut configs: Vec<Config> = Vec::new();
    for subnet in subnets {
        for other in &configs {
            if subnet_matches(subnet, &other.subnet)? || subnet_matches(&other.subnet, subnet)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
        configs.push(Config {
            subnet: subnet.clone(),
            range: String::new(),
            gateway: String::new(),
            aux: BTreeMap::new(),
        });
    }
    for range in ranges {
        let mut matched = false;
        for config in configs.iter_mut() {
            if !subnet_matches(&config.subnet, range)? {
                continue;
            }
            if !config.range.is_empty() {
                return Err(format!(
                    "cannot configure multiple ranges ({range}, {}) on the same subnet ({})",
                    config.range, config.subnet
                ));
            }
            config.range = range.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {range}"));
        }
    }
    for gateway in gateways {
        let mut matched = false;
        for config in configs.iter_mut() {
            if !subnet_matches(&config.subnet, gateway)? {
                continue;
            }
            if !config.gateway.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({gateway}, {}) for the same subnet ({})",
                    config.gateway, config.subnet
                ));
            }
            config.gateway = gateway.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {gateway}"));
        }
    }
    for (key, address) in aux {
        let mut matched = false;
        for config in configs.iter_mut() {
            if subnet_matches(&config.subnet, address)? {
                config.aux.insert(key.clone(), address.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {address}"));
        }
    }
    Ok(configs
        .into_iter()
        .map(|c| {
            let mut value = Map::new();
            value.insert("Subnet".into(), json!(c.subnet));
            if !c.range.is_empty() {
                value.insert("IPRange".into(), json!(c.range));
            }
            if !c.gateway.is_empty() {
                value.insert("Gateway".into(), json!(c.gateway));
            }
            value.insert("AuxiliaryAddresses".into(), json!(c.aux));
            Value::Object(value)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ranges_and_gateways_go_to_their_subnet() {
        let configs = consolidate_ipam(
            &strings(&["10.1.0.0/16", "10.2.0.0/24"]),
            &strings(&["10.2.0.128/25"]),
            &strings(&["10.1.0.254", "10.2.0.1"]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(configs[0]["Gateway"], "10.1.0.254");
        assert!(configs[0].get("IPRange").is_none());
        assert_eq!(configs[1]["IPRange"], "10.2.0.128/25");
        assert_eq!(configs[1]["Gateway"], "10.2.0.1");
    }

    #[test]
    fn docker_errors() {
        let err = |s: &[&str], r: &[&str], g: &[&str]| {
            consolidate_ipam(&strings(s), &strings(r), &strings(g), &BTreeMap::new()).unwrap_err()
        };
        assert_eq!(
            err(&[], &[], &["10.0.0.1"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.0.0.0/8", "10.1.0.0/16"], &[], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            err(&["10.0.0.0/24"], &[], &["10.0.1.1"]),
            "no matching subnet for gateway 10.0.1.1"
        );
        assert_eq!(
            err(&["10.0.0.0/24"], &["10.0.1.0/28"], &[]),
            "no matching subnet for range 10.0.1.0/28"
        );
    }
}
