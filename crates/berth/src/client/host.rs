//! Which daemon to talk to and how: `-H`, then `BERTH_HOST`, then `DOCKER_HOST`, then the
//! default socket; TLS from flags or `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`.

use std::path::PathBuf;

use anyhow::bail;

pub const DEFAULT_HOST: &str = "unix:///var/run/berth.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Verify the daemon's certificate against `ca` (`--tlsverify`); plain `--tls` does not.
    pub verify: bool,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Target {
    /// The host as the user wrote it, for messages.
    pub display: String,
    pub endpoint: Endpoint,
    pub tls: Option<TlsOptions>,
}

/// Global connection options as parsed from the command line.
#[derive(Debug, Clone, Default)]
pub struct ConnectionFlags {
    pub host: Option<String>,
    pub tls: bool,
    pub tlsverify: bool,
    pub tlscacert: Option<PathBuf>,
    pub tlscert: Option<PathBuf>,
    pub tlskey: Option<PathBuf>,
    pub config_dir: Option<PathBuf>,
}

pub fn resolve(flags: &ConnectionFlags) -> anyhow::Result<Target> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let display = flags
        .host
        .clone()
        .or_else(|| env("BERTH_HOST"))
        .or_else(|| env("DOCKER_HOST"))
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    let endpoint = parse_endpoint(&display)?;
    let verify = flags.tlsverify || env("DOCKER_TLS_VERIFY").is_some();
    let tls_wanted = verify || flags.tls;
    let cert_dir = env("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .or_else(|| flags.config_dir.clone())
        .unwrap_or_else(default_config_dir);
    let tls = (tls_wanted && matches!(endpoint, Endpoint::Tcp { .. })).then(|| TlsOptions {
        verify,
        ca: flags
            .tlscacert
            .clone()
            .unwrap_or_else(|| cert_dir.join("ca.pem")),
        cert: flags
            .tlscert
            .clone()
            .unwrap_or_else(|| cert_dir.join("cert.pem")),
        key: flags
            .tlskey
            .clone()
            .unwrap_or_else(|| cert_dir.join("key.pem")),
    });
    Ok(Target {
        display,
        endpoint,
        tls,
    })
}

/// `~/.docker`, where docker keeps its config and default certificates.
pub fn default_config_dir() -> PathBuf {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".docker")
        })
}

pub fn parse_endpoint(host: &str) -> anyhow::Result<Endpoint> {
    if let Some(path) = host.strip_prefix("unix://") {
        if path.is_empty() {
            bail!("invalid host {host:?}: empty socket path");
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    let rest = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
        .or_else(|| host.strip_prefix("https://"));
    let Some(rest) = rest else {
        bail!("unable to parse docker host `{host}`");
    };
    let rest = rest.trim_end_matches('/');
    let (name, port) = match rest.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || name.starts_with('[') => {
            let port: u16 = port
                .parse()
                .map_err(|_| anyhow::anyhow!("invalid bind address format: {host}"))?;
            (name, port)
        }
        _ => (rest, 2375),
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let name = if name.is_empty() { "127.0.0.1" } else { name };
    Ok(Endpoint::Tcp {
        host: name.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("unix:///tmp/x.sock").unwrap(),
            Endpoint::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            parse_endpoint("tcp://127.0.0.1:23750").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 23750
            }
        );
        assert_eq!(
            parse_endpoint("tcp://localhost").unwrap(),
            Endpoint::Tcp {
                host: "localhost".into(),
                port: 2375
            }
        );
        assert!(parse_endpoint("ftp://x").is_err());
    }
}
