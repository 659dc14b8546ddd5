//! Facts about the host that `/info` and `/version` report, read once at start.

use std::path::Path;

#[derive(Debug, Clone)]
pub struct HostFacts {
    pub hostname: String,
    pub kernel_version: String,
    pub operating_system: String,
    pub os_version: String,
    pub architecture: String,
    pub ncpu: u64,
    pub mem_total: u64,
    pub cgroup_version: CgroupVersion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

impl CgroupVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "1",
            CgroupVersion::V2 => "2",
        }
    }
}

impl HostFacts {
    pub fn probe() -> Self {
        let uts = nix::sys::utsname::uname().ok();
        let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
            uts.as_ref()
                .map(|u| f(u).to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let (operating_system, os_version) = read_os_release();
        HostFacts {
            hostname: field(|u| u.nodename()),
            kernel_version: field(|u| u.release()),
            operating_system,
            os_version,
            architecture: field(|u| u.machine()),
            ncpu: std::thread::available_parallelism()
                .map(|n| n.get() as u64)
                .unwrap_or(1),
            mem_total: read_mem_total(),
            cgroup_version: detect_cgroup_version(Path::new("/sys/fs/cgroup")),
        }
    }
}

/// `PRETTY_NAME` and `VERSION_ID` from os-release, as dockerd's `OperatingSystem`.
fn read_os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let pretty = value("PRETTY_NAME");
    (
        if pretty.is_empty() {
            "Linux".into()
        } else {
            pretty
        },
        value("VERSION_ID"),
    )
}

fn read_mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

/// cgroup v2 only when the root itself is a cgroup2 mount (`cgroup.controllers` at the
/// top); a hybrid host with `unified/` below a tmpfs is v1, like dockerd decides.
pub fn detect_cgroup_version(root: &Path) -> CgroupVersion {
    if root.join("cgroup.controllers").exists() {
        CgroupVersion::V2
    } else {
        CgroupVersion::V1
    }
}
