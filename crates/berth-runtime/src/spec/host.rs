//! What the host supports, probed once by the daemon (dockerd's `sysinfo`).

use std::path::{Path, PathBuf};

use oci_spec::runtime::Capability;

use crate::caps;
use crate::seccomp::{native_arch, KernelVersion};

/// Which cgroup hierarchy carries the resource controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Legacy or hybrid: controllers under `/sys/fs/cgroup/<controller>`.
    V1,
    /// Unified: `/sys/fs/cgroup` is cgroup2.
    V2,
}

/// Host facts that change the generated spec.
#[derive(Debug, Clone)]
pub struct HostInfo {
    /// Capabilities the daemon can hand out (its bounding ∩ effective set).
    pub capabilities: Vec<Capability>,
    pub kernel: KernelVersion,
    /// libseccomp name of the native arch (`amd64`).
    pub arch: String,
    /// False when the kernel has no seccomp: the default profile is then skipped.
    pub seccomp: bool,
    pub cgroup: CgroupVersion,
    pub memory_limit: bool,
    pub swap_limit: bool,
    pub memory_reservation: bool,
    pub memory_swappiness: bool,
    pub oom_kill_disable: bool,
    pub pids_limit: bool,
    pub cpu_shares: bool,
    pub cpu_cfs: bool,
    pub cpuset: bool,
    pub blkio_weight: bool,
    /// Online CPUs (`0-1`) and memory nodes (`0`), for `--cpuset-*` checks.
    pub cpus: String,
    pub mems: String,
    pub ncpu: usize,
    /// Hard limits of the daemon: `(RLIMIT_* number, hard)`; `u64::MAX` = unlimited.
    pub rlimit_hard: Vec<(i32, u64)>,
    /// sysctls Docker sets by default that exist on this kernel.
    pub ping_group_range: bool,
    pub unprivileged_port_start: bool,
    /// `/sys/devices/system/cpu/cpu*/thermal_throttle` that exist (masked since 2025).
    pub thermal_throttle: Vec<String>,
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

fn statfs_type(path: &Path) -> Option<i64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `buf` a properly sized out-param.
    unsafe {
        let mut buf: libc::statfs = std::mem::zeroed();
        if libc::statfs(c.as_ptr(), &mut buf) != 0 {
            return None;
        }
        Some(buf.f_type as i64)
    }
}

fn exists(p: impl AsRef<Path>) -> bool {
    p.as_ref().exists()
}

fn read_trim(p: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Every resource `--ulimit` knows, with its RLIMIT_* number.
pub(crate) const RLIMITS: &[(&str, i32)] = &[
    ("cpu", libc::RLIMIT_CPU as i32),
    ("fsize", libc::RLIMIT_FSIZE as i32),
    ("data", libc::RLIMIT_DATA as i32),
    ("stack", libc::RLIMIT_STACK as i32),
    ("core", libc::RLIMIT_CORE as i32),
    ("rss", libc::RLIMIT_RSS as i32),
    ("nproc", libc::RLIMIT_NPROC as i32),
    ("nofile", libc::RLIMIT_NOFILE as i32),
    ("memlock", libc::RLIMIT_MEMLOCK as i32),
    ("as", libc::RLIMIT_AS as i32),
    ("locks", libc::RLIMIT_LOCKS as i32),
    ("sigpending", libc::RLIMIT_SIGPENDING as i32),
    ("msgqueue", libc::RLIMIT_MSGQUEUE as i32),
    ("nice", libc::RLIMIT_NICE as i32),
    ("rtprio", libc::RLIMIT_RTPRIO as i32),
    ("rttime", libc::RLIMIT_RTTIME as i32),
];

fn hard_limits() -> Vec<(i32, u64)> {
    RLIMITS
        .iter()
        .map(|(_, res)| {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes into `lim`, a valid rlimit struct.
            let ok = unsafe { libc::getrlimit(*res as _, &mut lim) } == 0;
            (*res, if ok { lim.rlim_max } else { u64::MAX })
        })
        .collect()
}

impl HostInfo {
    /// Probes the running host.
    pub fn detect() -> Self {
        let cgroup = if statfs_type(Path::new("/sys/fs/cgroup")) == Some(CGROUP2_SUPER_MAGIC) {
            CgroupVersion::V2
        } else {
            CgroupVersion::V1
        };
        let ncpu = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut info = HostInfo {
            capabilities: caps::host_capabilities(),
            kernel: KernelVersion::host().unwrap_or_default(),
            arch: native_arch().to_string(),
            seccomp: read_trim("/proc/self/status")
                .map(|s| s.contains("Seccomp:"))
                .unwrap_or(true),
            cgroup,
            memory_limit: false,
            swap_limit: false,
            memory_reservation: false,
            memory_swappiness: false,
            oom_kill_disable: false,
            pids_limit: false,
            cpu_shares: false,
            cpu_cfs: false,
            cpuset: false,
            blkio_weight: false,
            cpus: read_trim("/sys/devices/system/cpu/online").unwrap_or_default(),
            mems: read_trim("/sys/devices/system/node/online").unwrap_or_else(|| "0".into()),
            ncpu,
            rlimit_hard: hard_limits(),
            ping_group_range: exists("/proc/sys/net/ipv4/ping_group_range"),
            unprivileged_port_start: exists("/proc/sys/net/ipv4/ip_unprivileged_port_start"),
            thermal_throttle: thermal_throttle_paths(),
        };
        match cgroup {
            CgroupVersion::V1 => {
                let v1 = |c: &str, f: &str| exists(PathBuf::from("/sys/fs/cgroup").join(c).join(f));
                info.memory_limit = v1("memory", "memory.limit_in_bytes");
                info.swap_limit = v1("memory", "memory.memsw.limit_in_bytes");
                info.memory_reservation = v1("memory", "memory.soft_limit_in_bytes");
                info.memory_swappiness = v1("memory", "memory.swappiness");
                info.oom_kill_disable = v1("memory", "memory.oom_control");
                info.pids_limit = exists("/sys/fs/cgroup/pids");
                info.cpu_shares = v1("cpu", "cpu.shares");
                info.cpu_cfs = v1("cpu", "cpu.cfs_quota_us");
                info.cpuset = exists("/sys/fs/cgroup/cpuset/cpuset.cpus");
                info.blkio_weight = v1("blkio", "blkio.weight") || v1("blkio", "blkio.bfq.weight");
            }
            CgroupVersion::V2 => {
                let controllers =
                    read_trim("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default();
                let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
                info.memory_limit = has("memory");
                info.swap_limit = has("memory");
                info.memory_reservation = has("memory");
                info.memory_swappiness = false;
                info.oom_kill_disable = false;
                info.pids_limit = has("pids");
                info.cpu_shares = has("cpu");
                info.cpu_cfs = has("cpu");
                info.cpuset = has("cpuset");
                info.blkio_weight = has("io");
            }
        }
        info
    }

    /// A host that supports everything; for tests and dry runs.
    pub fn permissive() -> Self {
        HostInfo {
            capabilities: caps::caps_from_mask(u64::MAX),
            kernel: KernelVersion {
                kernel: 6,
                major: 1,
            },
            arch: "amd64".into(),
            seccomp: true,
            cgroup: CgroupVersion::V1,
            memory_limit: true,
            swap_limit: true,
            memory_reservation: true,
            memory_swappiness: true,
            oom_kill_disable: true,
            pids_limit: true,
            cpu_shares: true,
            cpu_cfs: true,
            cpuset: true,
            blkio_weight: true,
            cpus: "0-3".into(),
            mems: "0".into(),
            ncpu: 4,
            rlimit_hard: RLIMITS.iter().map(|(_, r)| (*r, u64::MAX)).collect(),
            ping_group_range: true,
            unprivileged_port_start: true,
            thermal_throttle: Vec::new(),
        }
    }

    /// Docker's default cgroup namespace: private on cgroup v2, the host's on v1.
    pub fn default_cgroupns_private(&self) -> bool {
        self.cgroup == CgroupVersion::V2
    }

    /// The daemon's hard limit for an RLIMIT_* resource (`u64::MAX` = unlimited).
    pub fn hard_limit(&self, resource: i32) -> u64 {
        self.rlimit_hard
            .iter()
            .find(|(r, _)| *r == resource)
            .map(|(_, h)| *h)
            .unwrap_or(u64::MAX)
    }

    /// Docker's masked paths for this host.
    pub fn masked_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = [
            "/proc/acpi",
            "/proc/asound",
            "/proc/interrupts",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/sched_debug",
            "/proc/scsi",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/sys/devices/virtual/powercap",
            "/sys/firmware",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        paths.extend(self.thermal_throttle.iter().cloned());
        paths
    }
}

fn thermal_throttle_paths() -> Vec<String> {
    let possible = read_trim("/sys/devices/system/cpu/possible").unwrap_or_default();
    crate::spec::parse_cpuset(&possible)
        .unwrap_or_default()
        .into_iter()
        .map(|cpu| format!("/sys/devices/system/cpu/cpu{cpu}/thermal_throttle"))
        .filter(|p| exists(p))
        .collect()
}
