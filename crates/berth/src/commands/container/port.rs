//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the host addresses of published ports.

use clap::Args;
use serde_json::Value;

use super::inspect_container;
use crate::client::{self, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct PortArgs {
    /// CONTAINER
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

/// Go's `net.JoinHostPort`: IPv6 hosts in brackets.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `sortorder.NaturalLess`: digit runs compare as numbers.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = std::str::from_utf8(&a[si..i])
                .unwrap_or("0")
                .trim_start_matches('0');
            let nb = std::str::from_utf8(&b[sj..j])
                .unwrap_or("0")
                .trim_start_matches('0');
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
            continue;
        }
        if a[i] != b[j] {
            return a[i].cmp(&b[j]);
        }
        i += 1;
        j += 1;
    }
    (a.len() - i).cmp(&(b.len() - j))
}

pub async fn run(ctx: &mut Context, args: PortArgs) -> client::Result<u8> {
    let container = inspect_container(&mut ctx.client, &args.container).await?;
    let ports = container
        .get("NetworkSettings")
        .and_then(|n| n.get("Ports"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let frontend = |f: &Value| {
        join_host_port(
            f.get("HostIp").and_then(Value::as_str).unwrap_or(""),
            f.get("HostPort").and_then(Value::as_str).unwrap_or(""),
        )
    };
    let mut out = Vec::new();
    if let Some(wanted) = &args.port {
        let (port, proto) = wanted.split_once('/').unwrap_or((wanted, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        if super::parse::parse_uint(port, 16).is_err() {
            return Err(ClientError::Other(anyhow::anyhow!(
                "Error: invalid port ({port}): strconv.ParseUint: parsing \"{port}\": invalid syntax"
            )));
        }
        let frontends = ports
            .get(&format!("{port}/{proto}"))
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty());
        let Some(frontends) = frontends else {
            return Err(ClientError::Other(anyhow::anyhow!(
                "Error: No public port '{wanted}' published for {}",
                args.container
            )));
        };
        out.extend(frontends.iter().map(frontend));
    } else {
        for (from, frontends) in &ports {
            for f in frontends.as_array().into_iter().flatten() {
                out.push(format!("{from} -> {}", frontend(f)));
            }
        }
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    if !out.is_empty() {
        println!("{}", out.join("\n"));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_and_hosts() {
        let mut v = vec![
            "80/tcp -> 0.0.0.0:8080",
            "8080/tcp -> 0.0.0.0:1",
            "9/tcp -> 0.0.0.0:2",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "9/tcp -> 0.0.0.0:2",
                "80/tcp -> 0.0.0.0:8080",
                "8080/tcp -> 0.0.0.0:1"
            ]
        );
        assert_eq!(join_host_port("::", "80"), "[::]:80");
        assert_eq!(join_host_port("0.0.0.0", "80"), "0.0.0.0:80");
    }
}
