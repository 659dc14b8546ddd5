//! `ports:` entries, short (`[IP:][HOST:]CONTAINER[/PROTO]`, ranges allowed) and long
//! (`{target, published, host_ip, protocol, mode}`) syntax, one `Port` per container port.

use serde_json::Value;

use crate::error::{invalid, Result};
use crate::model::Port;
use crate::values::{check_keys, int_value, opt_string, string};

pub fn parse(value: &Value, place: &str) -> Result<Vec<Port>> {
    match value {
        Value::Object(map) => {
            check_keys(
                map,
                &[
                    "target",
                    "published",
                    "host_ip",
                    "protocol",
                    "mode",
                    "name",
                    "app_protocol",
                ],
                place,
            )?;
            let target = int_value(map.get("target"), &format!("{place}.target"))?
                .ok_or_else(|| invalid(place, "target is required"))?;
            let target = port_number(target, place)?;
            let published = opt_string(map.get("published"), &format!("{place}.published"))?
                .filter(|p| !p.is_empty());
            if let Some(p) = &published {
                range(p, place)?;
            }
            Ok(vec![Port {
                target,
                published,
                host_ip: opt_string(map.get("host_ip"), &format!("{place}.host_ip"))?,
                protocol: opt_string(map.get("protocol"), place)?.unwrap_or_else(|| "tcp".into()),
                mode: opt_string(map.get("mode"), place)?.unwrap_or_else(|| "ingress".into()),
            }])
        }
        other => short(&string(other, place)?, place),
    }
}

fn port_number(n: i64, place: &str) -> Result<u16> {
    u16::try_from(n)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(place, format!("invalid port {n}")))
}

/// `8000` or `8000-8010` → (first, last).
fn range(text: &str, place: &str) -> Result<(u16, u16)> {
    let bad = || invalid(place, format!("invalid port {text:?}"));
    let parse = |s: &str| s.trim().parse::<u16>().ok().filter(|p| *p > 0);
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse(a).ok_or_else(bad)?, parse(b).ok_or_else(bad)?);
            if b < a {
                return Err(bad());
            }
            Ok((a, b))
        }
        None => {
            let p = parse(text).ok_or_else(bad)?;
            Ok((p, p))
        }
    }
}

fn short(text: &str, place: &str) -> Result<Vec<Port>> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, proto)) => (spec, proto.to_string()),
        None => (text, "tcp".to_string()),
    };
    // An IPv6 host address is written in brackets: `[::1]:8080:80`.
    let (host_ip, rest) = if let Some(after) = spec.strip_prefix('[') {
        let (ip, rest) = after
            .split_once("]:")
            .ok_or_else(|| invalid(place, format!("invalid port {text:?}")))?;
        (Some(ip.to_string()), rest)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.len() {
            1 | 2 => (None, spec),
            3 => (Some(parts[0].to_string()), &spec[parts[0].len() + 1..]),
            _ => return Err(invalid(place, format!("invalid port {text:?}"))),
        }
    };
    let (published, container) = match rest.split_once(':') {
        Some((host, container)) => (Some(host).filter(|h| !h.is_empty()), container),
        None => (None, rest),
    };
    let (first, last) = range(container, place)?;
    let host = published.map(|p| range(p, place)).transpose()?;
    let count = last - first;
    if let Some((h1, h2)) = host {
        if h2 - h1 != count && h1 != h2 {
            return Err(invalid(
                place,
                format!("port ranges of {text:?} have different lengths"),
            ));
        }
    }
    let mut out = Vec::new();
    for i in 0..=count {
        let published = match host {
            None => None,
            // A host range for one container port lets the daemon pick within it.
            Some((h1, h2)) if count == 0 && h1 != h2 => Some(format!("{h1}-{h2}")),
            Some((h1, _)) => Some((h1 + i).to_string()),
        };
        out.push(Port {
            target: first + i,
            published,
            host_ip: host_ip.clone().filter(|ip| !ip.is_empty()),
            protocol: protocol.clone(),
            mode: "ingress".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(v: Value) -> Vec<(u16, Option<String>, Option<String>, String)> {
        parse(&v, "p")
            .unwrap()
            .into_iter()
            .map(|p| (p.target, p.published, p.host_ip, p.protocol))
            .collect()
    }

    #[test]
    fn short_forms() {
        assert_eq!(one(json!("80")), vec![(80, None, None, "tcp".into())]);
        assert_eq!(
            one(json!("8080:80/udp")),
            vec![(80, Some("8080".into()), None, "udp".into())]
        );
        assert_eq!(
            one(json!("127.0.0.1:8080:80")),
            vec![(
                80,
                Some("8080".into()),
                Some("127.0.0.1".into()),
                "tcp".into()
            )]
        );
        assert_eq!(
            one(json!("127.0.0.1::80")),
            vec![(80, None, Some("127.0.0.1".into()), "tcp".into())]
        );
        assert_eq!(one(json!("9000-9001:80-81")).len(), 2);
        assert_eq!(one(json!(3000)), vec![(3000, None, None, "tcp".into())]);
        assert!(parse(&json!("x:80"), "p").is_err());
    }

    #[test]
    fn long_form() {
        assert_eq!(
            one(json!({"target": 80, "published": "8080", "host_ip": "127.0.0.1"})),
            vec![(
                80,
                Some("8080".into()),
                Some("127.0.0.1".into()),
                "tcp".into()
            )]
        );
        assert!(parse(&json!({"target": 80, "bogus": 1}), "p").is_err());
    }
}
