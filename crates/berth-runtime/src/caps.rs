//! Linux capabilities: Docker's default set, `--cap-add`/`--cap-drop` (with `ALL`),
//! `--privileged`, and what the host can actually grant.
//!
//! Docker only ever hands out capabilities that the daemon itself holds: a capability
//! missing from the daemon's bounding set (for example `CAP_SYS_RESOURCE` inside some
//! sandboxes) is "not supported by your kernel or not available in the current
//! environment", both when asked for by name and when `ALL`/`--privileged` expand.

use oci_spec::runtime::Capability;

use crate::error::SpecError;

/// One row of the capability table: kernel bit number, name without `CAP_`, OCI value.
struct CapInfo {
    bit: u8,
    name: &'static str,
    cap: Capability,
}

macro_rules! cap_table {
    ($($bit:literal $name:literal $variant:ident),* $(,)?) => {
        const CAPS: &[CapInfo] = &[$(CapInfo { bit: $bit, name: $name, cap: Capability::$variant }),*];
    };
}

// Kernel numbering from <linux/capability.h>; the order matters for `ALL` listings.
cap_table! {
    0 "CHOWN" Chown,
    1 "DAC_OVERRIDE" DacOverride,
    2 "DAC_READ_SEARCH" DacReadSearch,
    3 "FOWNER" Fowner,
    4 "FSETID" Fsetid,
    5 "KILL" Kill,
    6 "SETGID" Setgid,
    7 "SETUID" Setuid,
    8 "SETPCAP" Setpcap,
    9 "LINUX_IMMUTABLE" LinuxImmutable,
    10 "NET_BIND_SERVICE" NetBindService,
    11 "NET_BROADCAST" NetBroadcast,
    12 "NET_ADMIN" NetAdmin,
    13 "NET_RAW" NetRaw,
    14 "IPC_LOCK" IpcLock,
    15 "IPC_OWNER" IpcOwner,
    16 "SYS_MODULE" SysModule,
    17 "SYS_RAWIO" SysRawio,
    18 "SYS_CHROOT" SysChroot,
    19 "SYS_PTRACE" SysPtrace,
    20 "SYS_PACCT" SysPacct,
    21 "SYS_ADMIN" SysAdmin,
    22 "SYS_BOOT" SysBoot,
    23 "SYS_NICE" SysNice,
    24 "SYS_RESOURCE" SysResource,
    25 "SYS_TIME" SysTime,
    26 "SYS_TTY_CONFIG" SysTtyConfig,
    27 "MKNOD" Mknod,
    28 "LEASE" Lease,
    29 "AUDIT_WRITE" AuditWrite,
    30 "AUDIT_CONTROL" AuditControl,
    31 "SETFCAP" Setfcap,
    32 "MAC_OVERRIDE" MacOverride,
    33 "MAC_ADMIN" MacAdmin,
    34 "SYSLOG" Syslog,
    35 "WAKE_ALARM" WakeAlarm,
    36 "BLOCK_SUSPEND" BlockSuspend,
    37 "AUDIT_READ" AuditRead,
    38 "PERFMON" Perfmon,
    39 "BPF" Bpf,
    40 "CHECKPOINT_RESTORE" CheckpointRestore,
}

/// Docker's default capability set (moby `oci/caps.DefaultCapabilities`), in Docker's order.
pub const DOCKER_DEFAULT: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Canonical name of a capability, with the `CAP_` prefix (`CAP_NET_ADMIN`).
pub fn cap_name(cap: Capability) -> String {
    let info = CAPS.iter().find(|c| c.cap == cap);
    format!("CAP_{}", info.map(|c| c.name).unwrap_or("UNKNOWN"))
}

/// Looks a capability up by name; accepts any case, with or without `CAP_`.
pub fn parse_cap(name: &str) -> Option<Capability> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPS.iter().find(|c| c.name == bare).map(|c| c.cap)
}

/// The capabilities this process may grant: those in both its bounding and effective
/// sets, in kernel order. Falls back to every known capability when /proc is unreadable.
pub fn host_capabilities() -> Vec<Capability> {
    match std::fs::read_to_string("/proc/self/status") {
        Ok(status) => {
            let field = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            };
            let mask = match (field("CapBnd:"), field("CapEff:")) {
                (Some(b), Some(e)) => b & e,
                (Some(b), None) => b,
                _ => return all_known(),
            };
            caps_from_mask(mask)
        }
        Err(_) => all_known(),
    }
}

/// Capabilities whose bit is set in `mask` (the format of `CapBnd:` in /proc/PID/status).
pub fn caps_from_mask(mask: u64) -> Vec<Capability> {
    CAPS.iter()
        .filter(|c| mask & (1u64 << c.bit) != 0)
        .map(|c| c.cap)
        .collect()
}

fn all_known() -> Vec<Capability> {
    CAPS.iter().map(|c| c.cap).collect()
}

/// Requested capability change, as in a Docker `HostConfig`.
#[derive(Debug, Clone, Default)]
pub struct CapRequest<'a> {
    pub add: &'a [String],
    pub drop: &'a [String],
    pub privileged: bool,
}

enum Normalized {
    All,
    Cap(Capability),
}

fn normalize(names: &[String], host: &[Capability]) -> Result<Vec<Normalized>, SpecError> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let upper = name.to_ascii_uppercase();
        if upper == "ALL" {
            out.push(Normalized::All);
            continue;
        }
        let full = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        let cap = parse_cap(&full).ok_or_else(|| SpecError::UnknownCapability(full.clone()))?;
        if !host.contains(&cap) {
            return Err(SpecError::UnavailableCapability(full));
        }
        out.push(Normalized::Cap(cap));
    }
    Ok(out)
}

/// Computes the container's capability set the way Docker's `TweakCapabilities` does:
/// privileged gets everything the host has; `--cap-add ALL` gets everything minus the
/// drops; `--cap-drop ALL` keeps only the adds; otherwise defaults minus drops plus adds.
/// The result never holds a capability the host lacks, and has no duplicates.
pub fn tweak(req: &CapRequest<'_>, host: &[Capability]) -> Result<Vec<Capability>, SpecError> {
    if req.privileged {
        return Ok(host.to_vec());
    }
    let defaults = || DOCKER_DEFAULT.iter().copied().filter(|c| host.contains(c));
    if req.add.is_empty() && req.drop.is_empty() {
        return Ok(defaults().collect());
    }
    let drops = normalize(req.drop, host)?;
    let adds = normalize(req.add, host)?;
    let dropped = |c: &Capability| {
        drops
            .iter()
            .any(|d| matches!(d, Normalized::Cap(x) if x == c))
    };
    let add_all = adds.iter().any(|a| matches!(a, Normalized::All));
    let drop_all = drops.iter().any(|d| matches!(d, Normalized::All));
    let explicit_adds = adds.iter().filter_map(|a| match a {
        Normalized::Cap(c) => Some(*c),
        Normalized::All => None,
    });

    let mut caps: Vec<Capability> = if add_all {
        host.iter().copied().filter(|c| !dropped(c)).collect()
    } else if drop_all {
        explicit_adds.collect()
    } else {
        defaults()
            .filter(|c| !dropped(c))
            .chain(explicit_adds)
            .collect()
    };
    let mut seen = Vec::with_capacity(caps.len());
    caps.retain(|c| {
        if seen.contains(c) {
            false
        } else {
            seen.push(*c);
            true
        }
    });
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn host_without_sys_resource() -> Vec<Capability> {
        caps_from_mask(0x1fffeffffff)
    }

    #[test]
    fn mask_decoding_matches_kernel_bits() {
        let caps = host_without_sys_resource();
        assert_eq!(caps.len(), 40);
        assert!(!caps.contains(&Capability::SysResource));
        assert!(caps.contains(&Capability::CheckpointRestore));
        assert_eq!(caps_from_mask(1 << 21), vec![Capability::SysAdmin]);
    }

    #[test]
    fn names_parse_in_any_form() {
        assert_eq!(parse_cap("net_admin"), Some(Capability::NetAdmin));
        assert_eq!(parse_cap("CAP_NET_ADMIN"), Some(Capability::NetAdmin));
        assert_eq!(parse_cap("cap_sys_admin"), Some(Capability::SysAdmin));
        assert_eq!(parse_cap("NOPE"), None);
        assert_eq!(cap_name(Capability::AuditWrite), "CAP_AUDIT_WRITE");
    }

    #[test]
    fn defaults_are_dockers_fourteen() {
        let host = host_without_sys_resource();
        let caps = tweak(&CapRequest::default(), &host).unwrap();
        assert_eq!(caps, DOCKER_DEFAULT.to_vec());
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn add_and_drop() {
        let host = host_without_sys_resource();
        let add = s(&["NET_ADMIN", "cap_sys_ptrace"]);
        let drop = s(&["chown", "CAP_KILL"]);
        let caps = tweak(
            &CapRequest {
                add: &add,
                drop: &drop,
                privileged: false,
            },
            &host,
        )
        .unwrap();
        assert!(caps.contains(&Capability::NetAdmin));
        assert!(caps.contains(&Capability::SysPtrace));
        assert!(!caps.contains(&Capability::Chown));
        assert!(!caps.contains(&Capability::Kill));
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn drop_all_keeps_only_adds() {
        let host = host_without_sys_resource();
        let add = s(&["NET_BIND_SERVICE"]);
        let drop = s(&["ALL"]);
        let caps = tweak(
            &CapRequest {
                add: &add,
                drop: &drop,
                privileged: false,
            },
            &host,
        )
        .unwrap();
        assert_eq!(caps, vec![Capability::NetBindService]);
    }

    #[test]
    fn add_all_is_host_minus_drops() {
        let host = host_without_sys_resource();
        let add = s(&["all"]);
        let drop = s(&["MKNOD"]);
        let caps = tweak(
            &CapRequest {
                add: &add,
                drop: &drop,
                privileged: false,
            },
            &host,
        )
        .unwrap();
        assert_eq!(caps.len(), host.len() - 1);
        assert!(!caps.contains(&Capability::Mknod));
        assert!(!caps.contains(&Capability::SysResource));
    }

    #[test]
    fn privileged_is_exactly_the_host_set() {
        let host = host_without_sys_resource();
        let caps = tweak(
            &CapRequest {
                privileged: true,
                ..Default::default()
            },
            &host,
        )
        .unwrap();
        assert_eq!(caps, host);
    }

    #[test]
    fn errors_use_dockers_wording() {
        let host = host_without_sys_resource();
        let add = s(&["FOO"]);
        let err = tweak(
            &CapRequest {
                add: &add,
                ..Default::default()
            },
            &host,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FOO\"");
        let add = s(&["SYS_RESOURCE"]);
        let err = tweak(
            &CapRequest {
                add: &add,
                ..Default::default()
            },
            &host,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "capability not supported by your kernel or not available in the current environment: \"CAP_SYS_RESOURCE\""
        );
    }
}
