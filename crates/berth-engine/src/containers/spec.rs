//! A container record turned into `berth-runtime`'s configuration, from which the OCI
//! spec is built with Docker's defaults.

use std::path::{Path, PathBuf};

use berth_api::ApiError;
use berth_runtime::spec::{
    ContainerConfig, DeviceMapping, MountKind, MountPoint, NsMode, Resources, Ulimit,
};

use super::etc_files::EtcFiles;
use super::record::Record;
use super::Containers;
use crate::volumes::{MountRecord, MountType};

pub struct SpecInputs<'a> {
    pub record: &'a Record,
    pub rootfs: PathBuf,
    pub etc: &'a EtcFiles,
    pub init_binary: &'a Path,
    pub containers: &'a Containers,
    /// Variables of legacy links, under the container's own.
    pub link_env: &'a [String],
}

pub fn runtime_config(inputs: SpecInputs<'_>) -> Result<ContainerConfig, ApiError> {
    let record = inputs.record;
    let config = &record.config;
    let host = &record.host_config;
    let mut args = vec![record.path.clone()];
    args.extend(record.args.iter().cloned());
    let console_size = host
        .console_size
        .as_ref()
        .and_then(|v| v.as_array())
        .and_then(|a| Some((a.first()?.as_u64()? as u16, a.get(1)?.as_u64()? as u16)))
        .filter(|(h, w)| *h > 0 && *w > 0);
    let namespace = |kind: &str, mode: &str| namespace_mode(kind, mode, inputs.containers);
    Ok(ContainerConfig {
        id: record.id.clone(),
        rootfs: inputs.rootfs,
        args,
        env: super::links::merge_env(inputs.link_env, config.env.as_deref().unwrap_or_default()),
        working_dir: config.working_dir.clone(),
        user: config.user.clone(),
        group_add: host.group_add.clone().unwrap_or_default(),
        hostname: config.hostname.clone(),
        domainname: config.domainname.clone(),
        tty: config.tty,
        console_size,
        init_binary: host
            .init
            .unwrap_or(false)
            .then(|| inputs.init_binary.to_path_buf()),
        privileged: host.privileged,
        cap_add: host.cap_add.clone().unwrap_or_default(),
        cap_drop: host.cap_drop.clone().unwrap_or_default(),
        security_opt: host.security_opt.clone().unwrap_or_default(),
        readonly_rootfs: host.readonly_rootfs,
        masked_paths: host.masked_paths.clone(),
        readonly_paths: host
            .readonly_paths
            .clone()
            .or_else(|| (!host.privileged).then(readonly_paths_with_cgroups)),
        network: namespace("net", network_mode(&host.network_mode))?,
        pid: namespace("pid", &host.pid_mode)?,
        ipc: namespace("ipc", &host.ipc_mode)?,
        ipc_none: host.ipc_mode == "none",
        uts: namespace("uts", &host.uts_mode)?,
        cgroupns_private: host.cgroupns_mode == "private",
        shm_size: host.shm_size,
        shm_path: None,
        ulimits: host
            .ulimits
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|u| Ulimit {
                name: u.name,
                soft: u.soft,
                hard: u.hard,
            })
            .collect(),
        sysctls: host.sysctls.clone().unwrap_or_default(),
        resources: Resources {
            memory: host.memory,
            memory_swap: host.memory_swap,
            memory_reservation: host.memory_reservation,
            memory_swappiness: host.memory_swappiness.filter(|s| *s >= 0),
            nano_cpus: host.nano_cpus,
            cpu_shares: host.cpu_shares,
            cpu_period: host.cpu_period,
            cpu_quota: host.cpu_quota,
            cpuset_cpus: host.cpuset_cpus.clone(),
            cpuset_mems: host.cpuset_mems.clone(),
            pids_limit: host.pids_limit,
            oom_kill_disable: host.oom_kill_disable,
            blkio_weight: host.blkio_weight.clamp(0, u16::MAX as i64) as u16,
        },
        cgroup_parent: host.cgroup_parent.clone(),
        mounts: mounts(record)?,
        hosts_path: Some(inputs.etc.hosts.clone()),
        hostname_path: Some(inputs.etc.hostname.clone()),
        resolv_conf_path: Some(inputs.etc.resolv_conf.clone()),
        devices: host
            .devices
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|d| DeviceMapping {
                path_in_container: if d.path_in_container.is_empty() {
                    d.path_on_host.clone()
                } else {
                    d.path_in_container
                },
                path_on_host: PathBuf::from(d.path_on_host),
                cgroup_permissions: if d.cgroup_permissions.is_empty() {
                    "rwm".into()
                } else {
                    d.cgroup_permissions
                },
            })
            .collect(),
        oom_score_adj: host.oom_score_adj.clamp(-1000, 1000) as i32,
        annotations: host.annotations.clone().unwrap_or_default(),
    })
}

/// Until user networks exist every container but `host` gets its own network namespace
/// (loopback only); `bridge`, `default` and `none` all mean that.
fn network_mode(mode: &str) -> &str {
    match mode {
        "host" => "host",
        m if m.starts_with("container:") => m,
        _ => "",
    }
}

/// `""`/`private` → own namespace, `host` → the host's, `container:X` → X's.
fn namespace_mode(kind: &str, mode: &str, containers: &Containers) -> Result<NsMode, ApiError> {
    match mode {
        "" | "private" | "shareable" | "none" => Ok(NsMode::Private),
        "host" => Ok(NsMode::Host),
        other => match other.strip_prefix("container:") {
            Some(reference) => {
                let target = containers.get(reference)?;
                let record = target.snapshot();
                if !record.state.status.is_live() || record.state.pid == 0 {
                    return Err(ApiError::conflict(format!(
                        "cannot join namespace of a non running container: container {reference} is not running"
                    )));
                }
                Ok(NsMode::Path(PathBuf::from(format!(
                    "/proc/{}/ns/{kind}",
                    record.state.pid
                ))))
            }
            None => Err(ApiError::invalid(format!(
                "invalid namespace mode: {other}"
            ))),
        },
    }
}

/// The container's mounts for the runtime: the binds, volumes and `--mount` tmpfs
/// resolved at create (volumes as binds of their `_data`), and `--tmpfs`. The runtime
/// resolves each destination inside the rootfs, so symlinks cannot lead outside it.
fn mounts(record: &Record) -> Result<Vec<MountPoint>, ApiError> {
    let mut out = Vec::new();
    for mount in &record.mount_points {
        out.push(mount_point(mount)?);
    }
    for (path, options) in record.host_config.tmpfs.clone().unwrap_or_default() {
        let options = (!options.is_empty()).then_some(options);
        out.push(MountPoint::tmpfs(&path, options.as_deref()));
    }
    Ok(out)
}

fn mount_point(mount: &MountRecord) -> Result<MountPoint, ApiError> {
    let mut point = match mount.kind {
        MountType::Tmpfs => {
            let mut point = MountPoint::tmpfs(&mount.destination, mount.tmpfs_options.as_deref());
            point.read_only = !mount.rw;
            return Ok(point);
        }
        MountType::Bind => {
            // docker -v creates a missing host folder; --mount refused it at create.
            if mount.create_source && std::fs::symlink_metadata(&mount.source).is_err() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .create(&mount.source)
                    .map_err(|e| {
                        ApiError::system(format!(
                            "error while creating mount source path '{}': {e}",
                            mount.source
                        ))
                    })?;
            }
            MountPoint::bind(&mount.source, &mount.destination, !mount.rw)
        }
        MountType::Volume => {
            let mut point = MountPoint::bind(&mount.source, &mount.destination, !mount.rw);
            point.kind = MountKind::Volume;
            point
        }
    };
    point.non_recursive = mount.non_recursive;
    if !mount.propagation.is_empty() {
        point.propagation = Some(mount.propagation.clone());
    }
    Ok(point)
}

/// Docker's read-only paths plus, on a cgroup v1 host, each controller under
/// `/sys/fs/cgroup`: the runtime mounts them read-write, and a container must not lift
/// its own limits (`echo max > /sys/fs/cgroup/pids/pids.max`).
fn readonly_paths_with_cgroups() -> Vec<String> {
    let mut paths = berth_runtime::spec::docker_readonly_paths();
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        return paths; // v2: the cgroup namespace and a read-only mount already cover it
    }
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            // Follows symlinks (`cpu -> cpu,cpuacct`): the runtime mounts those names too.
            let is_dir = entry.path().is_dir();
            if is_dir {
                paths.push(format!(
                    "/sys/fs/cgroup/{}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    paths.sort();
    paths
}
