//! Which URLs serve a registry host and how to talk to them: mirrors for Docker Hub,
//! HTTPS with the CA and client certificates from `certs.d/<host>/`, and plain HTTP or
//! unverified TLS for insecure registries (localhost and 127.0.0.0/8 always, as docker).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::error::RegistryError;

/// The host Docker Hub's registry API lives on.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// How to reach one registry: `https://host:port` or `http://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://registry-1.docker.io`, `http://127.0.0.1:5000`, a mirror URL.
    pub base: String,
    /// The `host[:port]` key for certificates and insecure checks.
    pub host: String,
    /// A mirror: failing over to the next endpoint is fine.
    pub mirror: bool,
    /// May fall back to HTTP and skip certificate checks.
    pub insecure: bool,
}

/// Is `host[:port]` insecure by docker's rules: loopback always, then the configured
/// `insecure-registries` (a `host[:port]` or a CIDR).
pub fn is_insecure(host: &str, configured: &[String]) -> bool {
    let bare = strip_port(host);
    let ip = bare
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if bare == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    configured.iter().any(|entry| {
        let entry = entry
            .trim()
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/');
        if entry == host || entry == bare {
            return true;
        }
        match (entry.split_once('/'), ip) {
            (Some((net, bits)), Some(ip)) => cidr_contains(net, bits, ip),
            _ => false,
        }
    })
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..h.len() + 1]);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

fn cidr_contains(net: &str, bits: &str, ip: IpAddr) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// An HTTP client for one registry host: its CAs and client certificate from
/// `<certs_dir>/<host>/` (`*.crt`, `*.cert` + `*.key`), certificate checks off when
/// insecure.
pub fn http_client(
    certs_dir: &Path,
    host: &str,
    insecure: bool,
) -> Result<reqwest::Client, RegistryError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        // A registry that stops sending mid-blob is treated as gone.
        .read_timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(90))
        .danger_accept_invalid_certs(insecure);
    let dir = certs_dir.join(host);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in &names {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext == "crt" {
                let pem = read(path)?;
                for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    RegistryError::Unsupported(format!("CA file {}: {e}", path.display()))
                })? {
                    builder = builder.add_root_certificate(cert);
                }
            } else if ext == "cert" {
                let key_path = path.with_extension("key");
                if !key_path.is_file() {
                    return Err(RegistryError::Unsupported(format!(
                        "missing key {} for client certificate {}",
                        key_path.display(),
                        path.display()
                    )));
                }
                let mut pem = read(path)?;
                pem.push(b'\n');
                pem.extend(read(&key_path)?);
                let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                    RegistryError::Unsupported(format!(
                        "client certificate {}: {e}",
                        path.display()
                    ))
                })?;
                builder = builder.identity(identity);
            }
        }
    }
    builder.build().map_err(|e| {
        RegistryError::Transport(format!(
            "setting up TLS for {host}: {}",
            super::error::describe(&e)
        ))
    })
}

fn read(path: &Path) -> Result<Vec<u8>, RegistryError> {
    std::fs::read(path)
        .map_err(|e| RegistryError::Unsupported(format!("read {}: {e}", path.display())))
}

/// `http://mirror:5000/` → (`http://mirror:5000`, `mirror:5000`).
pub fn parse_mirror(url: &str) -> Option<(String, String)> {
    let parsed = reqwest::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?;
    let host = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let base = format!("{}://{}", parsed.scheme(), host);
    Some((base, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_rules() {
        assert!(is_insecure("127.0.0.1:5000", &[]));
        assert!(is_insecure("127.3.2.1", &[]));
        assert!(is_insecure("localhost:5000", &[]));
        assert!(!is_insecure("example.com:5000", &[]));
        assert!(is_insecure(
            "example.com:5000",
            &["example.com:5000".into()]
        ));
        assert!(is_insecure("10.1.2.3:5000", &["10.0.0.0/8".into()]));
        assert!(!is_insecure("11.1.2.3:5000", &["10.0.0.0/8".into()]));
    }

    #[test]
    fn mirrors() {
        assert_eq!(
            parse_mirror("http://127.0.0.1:5000/"),
            Some(("http://127.0.0.1:5000".into(), "127.0.0.1:5000".into()))
        );
        assert_eq!(
            parse_mirror("https://mirror.example"),
            Some(("https://mirror.example".into(), "mirror.example".into()))
        );
    }
}
