//! The few kernel switches the driver flips, per network namespace of the calling thread
//! (`/proc/sys/net` follows the namespace of the thread that opens it).

use std::fs;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[error("set {path} to {value}: {source}")]
pub struct SysctlError {
    pub path: PathBuf,
    pub value: String,
    pub source: io::Error,
}

fn write(path: PathBuf, value: &str) -> Result<(), SysctlError> {
    match fs::read_to_string(&path) {
        Ok(current) if current.trim() == value => return Ok(()),
        _ => {}
    }
    fs::write(&path, value).map_err(|source| SysctlError {
        path,
        value: value.to_string(),
        source,
    })
}

/// `net.ipv4.ip_forward = 1`: containers reach the outside through the host.
pub fn enable_ip_forward() -> Result<(), SysctlError> {
    write(PathBuf::from("/proc/sys/net/ipv4/ip_forward"), "1")
}

/// `net.ipv4.conf.<bridge>.route_localnet = 1`: lets packets to 127.0.0.1 that were DNATed
/// to a container leave through the bridge (the kernel drops 127/8 on the wire otherwise);
/// this is what makes published ports answer on the host's 127.0.0.1 without a proxy.
pub fn enable_route_localnet(interface: &str) -> Result<(), SysctlError> {
    write(
        PathBuf::from(format!(
            "/proc/sys/net/ipv4/conf/{interface}/route_localnet"
        )),
        "1",
    )
}

/// `net.bridge.bridge-nf-call-iptables = 1`: bridged (same-bridge) traffic goes through
/// iptables, which `icc=false` needs to drop it. Absent without `br_netfilter`: ignored.
pub fn enable_bridge_nf_call_iptables() -> Result<(), SysctlError> {
    let path = PathBuf::from("/proc/sys/net/bridge/bridge-nf-call-iptables");
    if !path.exists() {
        return Ok(());
    }
    write(path, "1")
}
