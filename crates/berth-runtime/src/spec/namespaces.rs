//! Namespaces (`--pid/--ipc/--uts/--network host`, joined namespaces) and namespaced
//! sysctls (Docker's defaults for a private network namespace, `--sysctl`).

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType};

use super::{ContainerConfig, HostInfo, NsMode};
use crate::error::SpecError;

fn ns(typ: LinuxNamespaceType, mode: &NsMode) -> Result<Option<LinuxNamespace>, SpecError> {
    Ok(match mode {
        NsMode::Host => None,
        NsMode::Private => Some(LinuxNamespaceBuilder::default().typ(typ).build()?),
        NsMode::Path(p) => Some(
            LinuxNamespaceBuilder::default()
                .typ(typ)
                .path(p.clone())
                .build()?,
        ),
    })
}

/// Docker's order: mount, network, uts, pid, ipc, then cgroup when private.
pub(super) fn build(config: &ContainerConfig) -> Result<Vec<LinuxNamespace>, SpecError> {
    let list = [
        (LinuxNamespaceType::Mount, &NsMode::Private),
        (LinuxNamespaceType::Network, &config.network),
        (LinuxNamespaceType::Uts, &config.uts),
        (LinuxNamespaceType::Pid, &config.pid),
        (LinuxNamespaceType::Ipc, &config.ipc),
    ];
    let mut out = Vec::new();
    for (typ, mode) in list {
        if let Some(n) = ns(typ, mode)? {
            out.push(n);
        }
    }
    if config.cgroupns_private {
        out.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Cgroup)
                .build()?,
        );
    }
    Ok(out)
}

const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Which namespace a sysctl belongs to, if any.
fn namespace_of(key: &str) -> Option<(&'static str, bool)> {
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(("IPC", true))
    } else if key.starts_with("net.") {
        Some(("network", true))
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(("UTS", true))
    } else {
        None
    }
}

/// `linux.sysctl`: Docker's defaults for a private network namespace, then the user's.
/// Rejects sysctls that are not namespaced or whose namespace is the host's.
pub(super) fn sysctls(
    config: &ContainerConfig,
    host: &HostInfo,
) -> Result<BTreeMap<String, String>, SpecError> {
    let mut out = BTreeMap::new();
    if config.network != NsMode::Host {
        if host.ping_group_range {
            // Unprivileged ICMP echo sockets, so `ping` works without CAP_NET_RAW.
            out.insert(
                "net.ipv4.ping_group_range".to_string(),
                "0 2147483647".to_string(),
            );
        }
        if host.unprivileged_port_start {
            // Any port below 1024 without CAP_NET_BIND_SERVICE.
            out.insert(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "0".to_string(),
            );
        }
    }
    for (key, value) in &config.sysctls {
        let host_ns = match namespace_of(key) {
            Some(("IPC", _)) => config.ipc == NsMode::Host,
            Some(("network", _)) => config.network == NsMode::Host,
            Some(_) => config.uts == NsMode::Host,
            None => {
                return Err(SpecError::Invalid(format!(
                    "sysctl \"{key}\" is not in a separate kernel namespace"
                )))
            }
        };
        if host_ns {
            let which = namespace_of(key).map(|(n, _)| n).unwrap_or("");
            return Err(SpecError::Invalid(format!(
                "sysctl \"{key}\" not allowed in host {which} namespace"
            )));
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}
