//! Binding the `-H` addresses: unix sockets (with group and mode, replacing stale ones)
//! and TCP, optionally wrapped in TLS by the server.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use tokio::net::{TcpListener, UnixListener};

pub enum Listener {
    Unix {
        listener: UnixListener,
        path: PathBuf,
    },
    Tcp {
        listener: TcpListener,
    },
}

/// A parsed `-H` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAddr {
    Unix(PathBuf),
    Tcp(String),
}

pub fn parse_host(host: &str) -> anyhow::Result<HostAddr> {
    if let Some(path) = host.strip_prefix("unix://") {
        let path = if path.is_empty() {
            "/var/run/berth.sock"
        } else {
            path
        };
        return Ok(HostAddr::Unix(PathBuf::from(path)));
    }
    if let Some(addr) = host.strip_prefix("tcp://") {
        let addr = addr.trim_end_matches('/');
        if addr.is_empty() {
            bail!("invalid bind address ({host}): no address given");
        }
        // dockerd's defaults: a missing host binds every address, a missing port is 2375.
        let addr = match addr.rsplit_once(':') {
            Some(("", port)) => format!("0.0.0.0:{port}"),
            Some(_) => addr.to_string(),
            None => format!("{addr}:2375"),
        };
        return Ok(HostAddr::Tcp(addr));
    }
    if host.starts_with('/') {
        return Ok(HostAddr::Unix(PathBuf::from(host)));
    }
    bail!("invalid bind address ({host}): unsupported proto; use unix:///path or tcp://host:port")
}

pub async fn bind(host: &HostAddr, group: &str, group_explicit: bool) -> anyhow::Result<Listener> {
    match host {
        HostAddr::Unix(path) => bind_unix(path, group, group_explicit),
        HostAddr::Tcp(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("failed to listen on tcp://{addr}"))?;
            Ok(Listener::Tcp { listener })
        }
    }
}

fn bind_unix(path: &Path, group: &str, group_explicit: bool) -> anyhow::Result<Listener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating socket folder {}", parent.display()))?;
    }
    if path.exists() {
        // A socket someone still answers on belongs to a live daemon; one nobody answers
        // on is left over from a crash and is replaced.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "{} is in use by another daemon; stop it or choose another socket with -H",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing stale socket {}", path.display()))?;
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("failed to listen on unix://{}", path.display()))?;
    let gid = match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Some(g.gid),
        _ if group_explicit && !group.is_empty() => {
            let _ = std::fs::remove_file(path);
            bail!("group {group:?} for the socket does not exist");
        }
        _ => None,
    };
    let mode = if gid.is_some() { 0o660 } else { 0o600 };
    if let Some(gid) = gid {
        nix::unistd::chown(path, None, Some(gid))
            .with_context(|| format!("chown of {}", path.display()))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod of {}", path.display()))?;
    Ok(Listener::Unix {
        listener,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        assert_eq!(
            parse_host("unix:///tmp/x.sock").unwrap(),
            HostAddr::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1:2375").unwrap(),
            HostAddr::Tcp("127.0.0.1:2375".into())
        );
        assert_eq!(
            parse_host("tcp://:4000").unwrap(),
            HostAddr::Tcp("0.0.0.0:4000".into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1").unwrap(),
            HostAddr::Tcp("127.0.0.1:2375".into())
        );
        assert!(parse_host("udp://x").is_err());
    }
}
