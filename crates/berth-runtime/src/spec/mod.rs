//! A Docker-style container configuration turned into an OCI runtime [`Spec`] with
//! Docker's defaults: mounts, capabilities, seccomp, masked and read-only paths,
//! devices, namespaces, rlimits, sysctls and cgroup resources.
//!
//! The engine fills a [`ContainerConfig`] from the container's `Config`/`HostConfig`
//! (image defaults already merged), probes the host once with [`HostInfo::detect`], and
//! calls [`build`]. The result is what `berth-shim` hands to libcontainer as the bundle's
//! `config.json` (see [`write_bundle`]).

mod devices;
mod host;
mod mounts;
mod namespaces;
mod process;
mod resources;
mod security;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBuilder, RootBuilder, Spec, SpecBuilder};

pub use host::{CgroupVersion, HostInfo};
pub use mounts::MountKind;
pub use process::docker_env;
pub use resources::{parse_cpuset, validate_resources};
pub use security::{SeccompChoice, SecurityOptions};

use crate::error::SpecError;

/// Default `PATH` of Linux containers (moby `oci.DefaultPathEnv`).
pub const DEFAULT_PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Default `/dev/shm` size: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;
/// Where the `--init` binary appears inside containers (Docker's path, so `ps` looks the same).
pub const INIT_PATH: &str = "/sbin/docker-init";
/// Default parent of container cgroups (Docker uses `/docker`).
pub const DEFAULT_CGROUP_PARENT: &str = "/berth";

/// How a container gets a namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NsMode {
    /// A new namespace of its own (Docker's default).
    #[default]
    Private,
    /// The host's namespace (`--pid host`, `--network host`, ...).
    Host,
    /// Join an existing namespace, e.g. a netns prepared by the network driver or
    /// `/proc/PID/ns/ipc` of another container.
    Path(PathBuf),
}

/// A bind mount, volume or tmpfs requested by the user (or added by the engine, such as
/// `/etc/hosts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPoint {
    pub kind: MountKind,
    /// Host path for binds and volumes; ignored for tmpfs.
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
    /// `rprivate` (default), `private`, `rshared`, `shared`, `rslave`, `slave`.
    pub propagation: Option<String>,
    /// Plain `bind` instead of `rbind`.
    pub non_recursive: bool,
    /// tmpfs options (`size=64m,mode=1777,exec`).
    pub tmpfs_options: Option<String>,
}

impl MountPoint {
    /// A recursive private bind of `source` at `destination`.
    pub fn bind(source: impl Into<PathBuf>, destination: &str, read_only: bool) -> Self {
        MountPoint {
            kind: MountKind::Bind,
            source: source.into(),
            destination: destination.to_string(),
            read_only,
            propagation: None,
            non_recursive: false,
            tmpfs_options: None,
        }
    }

    /// A tmpfs at `destination` with Docker's `--tmpfs` defaults plus `options`.
    pub fn tmpfs(destination: &str, options: Option<&str>) -> Self {
        MountPoint {
            kind: MountKind::Tmpfs,
            source: PathBuf::from("tmpfs"),
            destination: destination.to_string(),
            read_only: false,
            propagation: None,
            non_recursive: false,
            tmpfs_options: options.map(str::to_string),
        }
    }
}

/// `--device HOST[:CONTAINER[:PERMS]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    pub path_on_host: PathBuf,
    pub path_in_container: String,
    /// Subset of `rwm`.
    pub cgroup_permissions: String,
}

/// `--ulimit NAME=SOFT[:HARD]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// `nofile`, `nproc`, `core`, ... (without `RLIMIT_`).
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// Cgroup limits, in Docker's units (bytes, nano-CPUs, microseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// `-m`: bytes, 0 = unlimited.
    pub memory: i64,
    /// `--memory-swap`: memory + swap in bytes; 0 = twice `memory`, -1 = unlimited.
    pub memory_swap: i64,
    /// `--memory-reservation`: soft limit in bytes.
    pub memory_reservation: i64,
    /// `--memory-swappiness`: 0..=100, -1 or None = host default.
    pub memory_swappiness: Option<i64>,
    /// `--cpus` × 10^9.
    pub nano_cpus: i64,
    /// `--cpu-shares` (relative weight, 1024 = default).
    pub cpu_shares: i64,
    /// `--cpu-period` in microseconds.
    pub cpu_period: i64,
    /// `--cpu-quota` in microseconds.
    pub cpu_quota: i64,
    /// `--cpuset-cpus` (`0-2,4`).
    pub cpuset_cpus: String,
    /// `--cpuset-mems`.
    pub cpuset_mems: String,
    /// `--pids-limit`: None = unset, 0 or negative = unlimited.
    pub pids_limit: Option<i64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: Option<bool>,
    /// `--blkio-weight`: 10..=1000, 0 = unset.
    pub blkio_weight: u16,
}

/// Everything dockerd looks at when it builds a container's OCI spec. Image defaults
/// (entrypoint/cmd, env, workdir, user) must already be merged in by the caller.
#[derive(Debug, Clone, Default)]
pub struct ContainerConfig {
    /// Full container id; names the cgroup and, shortened, the default hostname.
    pub id: String,
    /// The prepared root filesystem (e.g. an overlay mount), as a host path.
    pub rootfs: PathBuf,
    /// argv: entrypoint followed by command.
    pub args: Vec<String>,
    /// `KEY=value` entries from the image and `-e`; `KEY` alone unsets a default.
    pub env: Vec<String>,
    /// `-w`; empty means `/`.
    pub working_dir: String,
    /// `-u user[:group]`; empty means root.
    pub user: String,
    /// `--group-add`.
    pub group_add: Vec<String>,
    /// `-h`; empty means the first 12 characters of the id.
    pub hostname: String,
    /// `--domainname`.
    pub domainname: String,
    /// `-t`.
    pub tty: bool,
    /// Initial console size (height, width) for `-t`.
    pub console_size: Option<(u16, u16)>,
    /// `--init`: host path of the `berth-init` binary, bind-mounted at [`INIT_PATH`].
    pub init_binary: Option<PathBuf>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt` entries (`seccomp=unconfined`, `seccomp=<profile JSON>`,
    /// `no-new-privileges[=true]`, `apparmor=...`, `label=...`, `systempaths=unconfined`).
    pub security_opt: Vec<String>,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// Overrides Docker's masked paths when set (`systempaths=unconfined` sets empty).
    pub masked_paths: Option<Vec<String>>,
    /// Overrides Docker's read-only paths when set.
    pub readonly_paths: Option<Vec<String>>,
    pub network: NsMode,
    pub pid: NsMode,
    pub ipc: NsMode,
    /// `--ipc none`: private IPC namespace without `/dev/shm`.
    pub ipc_none: bool,
    pub uts: NsMode,
    /// Private cgroup namespace (`--cgroupns private`; Docker's default on cgroup v2).
    pub cgroupns_private: bool,
    /// `--shm-size` in bytes; 0 means 64 MiB.
    pub shm_size: i64,
    /// Host directory to bind at `/dev/shm` instead of a fresh tmpfs (shared IPC).
    pub shm_path: Option<PathBuf>,
    pub ulimits: Vec<Ulimit>,
    pub sysctls: BTreeMap<String, String>,
    pub resources: Resources,
    /// `--cgroup-parent`; empty means [`DEFAULT_CGROUP_PARENT`].
    pub cgroup_parent: String,
    /// User mounts (`-v`, `--mount`, `--tmpfs`) in any order.
    pub mounts: Vec<MountPoint>,
    /// Host files bound at /etc/hosts, /etc/hostname and /etc/resolv.conf.
    pub hosts_path: Option<PathBuf>,
    pub hostname_path: Option<PathBuf>,
    pub resolv_conf_path: Option<PathBuf>,
    pub devices: Vec<DeviceMapping>,
    /// `--oom-score-adj`.
    pub oom_score_adj: i32,
    /// OCI annotations (`--annotation`).
    pub annotations: BTreeMap<String, String>,
}

impl ContainerConfig {
    /// The hostname the container will see.
    pub fn effective_hostname(&self) -> String {
        if !self.hostname.is_empty() {
            self.hostname.clone()
        } else {
            self.id.chars().take(12).collect()
        }
    }

    /// The cgroup path given to the runtime: `<parent>/<id>`, always absolute.
    pub fn cgroup_path(&self) -> String {
        let parent = if self.cgroup_parent.is_empty() {
            DEFAULT_CGROUP_PARENT
        } else {
            self.cgroup_parent.as_str()
        };
        let parent = parent.trim_end_matches('/');
        if parent.starts_with('/') {
            format!("{parent}/{}", self.id)
        } else {
            format!("/{parent}/{}", self.id)
        }
    }
}

/// A generated spec and the warnings dockerd would return from `create`.
#[derive(Debug, Clone)]
pub struct BuiltSpec {
    pub spec: Spec,
    pub warnings: Vec<String>,
}

/// Builds the OCI spec of a container. Reads the rootfs's `/etc/passwd` and `/etc/group`
/// for `user`, and `/dev` of the host for `--privileged` and `--device`.
pub fn build(config: &ContainerConfig, host: &HostInfo) -> Result<BuiltSpec, SpecError> {
    let security = SecurityOptions::parse(&config.security_opt)?;
    let mut warnings = Vec::new();
    let resources = resources::effective(&config.resources, host, &mut warnings)?;

    let caps = process::capability_set(config, host)?;
    let process = process::build(config, host, &security, &caps)?;

    let mut linux = LinuxBuilder::default()
        .cgroups_path(PathBuf::from(config.cgroup_path()))
        .namespaces(namespaces::build(config)?)
        .resources(resources::to_oci(&resources, config, host)?)
        .devices(devices::linux_devices(config)?)
        .sysctl(
            namespaces::sysctls(config, host)?
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        );

    let unconfined_paths = security.unconfined_system_paths;
    let masked = match (&config.masked_paths, config.privileged || unconfined_paths) {
        (Some(p), _) => p.clone(),
        (None, true) => Vec::new(),
        (None, false) => host.masked_paths(),
    };
    let readonly = match (
        &config.readonly_paths,
        config.privileged || unconfined_paths,
    ) {
        (Some(p), _) => p.clone(),
        (None, true) => Vec::new(),
        (None, false) => docker_readonly_paths(),
    };
    linux = linux.masked_paths(masked).readonly_paths(readonly);

    if let Some(seccomp) = security::seccomp_filter(config, host, &security, &caps)? {
        linux = linux.seccomp(seccomp);
    }
    let writable_cgroups = security.writable_cgroups.unwrap_or(config.privileged);
    let (mount_list, propagation) = mounts::build(config, writable_cgroups)?;
    if let Some(p) = propagation {
        linux = linux.rootfs_propagation(p);
    }

    let mut spec = SpecBuilder::default()
        .version(oci_spec::runtime::VERSION)
        .root(
            RootBuilder::default()
                .path(config.rootfs.clone())
                .readonly(config.readonly_rootfs)
                .build()?,
        )
        .process(process)
        .mounts(mount_list)
        .linux(linux.build()?);
    if config.uts != NsMode::Host {
        spec = spec.hostname(config.effective_hostname());
        if !config.domainname.is_empty() {
            spec = spec.domainname(config.domainname.clone());
        }
    }
    if !config.annotations.is_empty() {
        spec = spec.annotations(
            config
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::HashMap<_, _>>(),
        );
    }
    let mut spec = spec.build()?;
    // SpecBuilder starts from oci-spec's defaults (hostname "youki", empty annotations).
    if config.uts == NsMode::Host {
        spec.set_hostname(None);
    }
    if config.annotations.is_empty() {
        spec.set_annotations(None);
    }
    Ok(BuiltSpec { spec, warnings })
}

/// Docker's read-only paths.
pub fn docker_readonly_paths() -> Vec<String> {
    [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Writes `spec` as `<bundle>/config.json` atomically (temp file, fsync, rename).
pub fn write_bundle(bundle: &Path, spec: &Spec) -> Result<PathBuf, SpecError> {
    use std::io::Write;
    std::fs::create_dir_all(bundle).map_err(|e| SpecError::io(bundle, e))?;
    let path = bundle.join("config.json");
    let tmp = bundle.join(".config.json.tmp");
    let data = serde_json::to_vec(spec)?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| SpecError::io(&tmp, e))?;
    f.write_all(&data)
        .and_then(|_| f.sync_all())
        .map_err(|e| SpecError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| SpecError::io(&path, e))?;
    if let Ok(dir) = std::fs::File::open(bundle) {
        let _ = dir.sync_all();
    }
    Ok(path)
}

/// Creates the working directory inside the rootfs like dockerd does before a start
/// (owned by the container user when created). Fails with Docker's message when the
/// path exists and is not a directory.
pub fn ensure_working_dir(
    rootfs: &Path,
    working_dir: &str,
    uid: u32,
    gid: u32,
) -> Result<(), SpecError> {
    if working_dir.is_empty() || working_dir == "/" {
        return Ok(());
    }
    let path = crate::scoped::resolve(rootfs, Path::new(working_dir))
        .map_err(|e| SpecError::io(rootfs.join(working_dir.trim_start_matches('/')), e))?;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => return Err(SpecError::WorkdirNotDirectory(working_dir.to_string())),
        Err(_) => {}
    }
    // Create missing components one by one so that each new one gets the user's owner.
    let mut current = rootfs.to_path_buf();
    for part in path
        .strip_prefix(rootfs)
        .unwrap_or(Path::new(""))
        .components()
    {
        current.push(part);
        match std::fs::metadata(&current) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => return Err(SpecError::WorkdirNotDirectory(working_dir.to_string())),
            Err(_) => {
                std::fs::create_dir(&current).map_err(|e| SpecError::io(&current, e))?;
                std::os::unix::fs::chown(&current, Some(uid), Some(gid))
                    .map_err(|e| SpecError::io(&current, e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
