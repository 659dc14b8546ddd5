use std::collections::BTreeMap;

use berth_api::build_info;
use berth_api::types::system::{
    AddressPool, Commit, IndexInfo, PluginsInfo, RegistryServiceConfig, RuntimeInfo, SwarmInfo,
    SystemDataUsage, SystemInfo,
};

use crate::host::CgroupVersion;
use crate::Engine;

/// Counts of objects that `/info` reports; filled by the container and image services.
#[derive(Debug, Default, Clone, Copy)]
pub struct ObjectCounts {
    pub containers_running: u64,
    pub containers_paused: u64,
    pub containers_stopped: u64,
    pub images: u64,
}

impl Engine {
    /// Counts of containers and images as the services know them now.
    pub fn object_counts(&self) -> ObjectCounts {
        let mut counts = ObjectCounts {
            images: self.image_count(),
            ..ObjectCounts::default()
        };
        for container in self.containers.all() {
            match container.status() {
                crate::containers::Status::Running | crate::containers::Status::Restarting => {
                    counts.containers_running += 1
                }
                crate::containers::Status::Paused => counts.containers_paused += 1,
                _ => counts.containers_stopped += 1,
            }
        }
        counts
    }

    /// `GET /info`.
    pub fn info(&self) -> SystemInfo {
        let config = self.config();
        let counts = self.object_counts();
        let host = &self.host;
        let v1 = host.cgroup_version == CgroupVersion::V1;
        let mut runtimes = BTreeMap::new();
        runtimes.insert(
            "berth-shim".to_string(),
            RuntimeInfo {
                path: "berth-shim".into(),
            },
        );
        SystemInfo {
            id: self.id.clone(),
            containers: counts.containers_running
                + counts.containers_paused
                + counts.containers_stopped,
            containers_running: counts.containers_running,
            containers_paused: counts.containers_paused,
            containers_stopped: counts.containers_stopped,
            images: counts.images,
            driver: "overlay2".into(),
            driver_status: vec![
                [
                    "Backing Filesystem".into(),
                    backing_filesystem(&config.data_root),
                ],
                ["Supports d_type".into(), "true".into()],
                ["Using metacopy".into(), "false".into()],
                ["Native Overlay Diff".into(), "true".into()],
                ["userxattr".into(), "false".into()],
            ],
            docker_root_dir: config.data_root.display().to_string(),
            plugins: PluginsInfo {
                volume: vec!["local".into()],
                network: vec!["bridge".into(), "host".into(), "null".into()],
                authorization: None,
                log: vec!["json-file".into(), "none".into(), "syslog".into()],
            },
            memory_limit: true,
            swap_limit: std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
                .exists()
                || !v1,
            cpu_cfs_period: true,
            cpu_cfs_quota: true,
            cpu_shares: true,
            cpu_set: true,
            pids_limit: true,
            oom_kill_disable: v1,
            ipv4_forwarding: ipv4_forwarding(),
            debug: config.debug,
            nfd: open_fd_count(),
            n_goroutines: thread_count(),
            system_time: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            logging_driver: config.log_driver.clone(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: host.cgroup_version.as_str().into(),
            n_events_listener: self.events.listener_count() as u64,
            kernel_version: host.kernel_version.clone(),
            operating_system: host.operating_system.clone(),
            os_version: host.os_version.clone(),
            os_type: std::env::consts::OS.into(),
            architecture: host.architecture.clone(),
            ncpu: host.ncpu,
            mem_total: host.mem_total,
            index_server_address: "https://index.docker.io/v1/".into(),
            registry_config: registry_config(&config.registry_mirrors, &config.insecure_registries),
            generic_resources: None,
            http_proxy: std::env::var("HTTP_PROXY").unwrap_or_default(),
            https_proxy: std::env::var("HTTPS_PROXY").unwrap_or_default(),
            no_proxy: std::env::var("NO_PROXY").unwrap_or_default(),
            name: host.hostname.clone(),
            labels: config.labels.clone(),
            experimental_build: false,
            server_version: build_info::VERSION.into(),
            runtimes,
            default_runtime: "berth-shim".into(),
            swarm: SwarmInfo {
                local_node_state: "inactive".into(),
                ..Default::default()
            },
            live_restore_enabled: config.live_restore,
            isolation: String::new(),
            init_binary: "berth-init".into(),
            containerd_commit: Commit::default(),
            runc_commit: Commit::default(),
            init_commit: Commit::default(),
            security_options: security_options(v1),
            product_license: String::new(),
            default_address_pools: config
                .default_address_pools
                .iter()
                .map(|(base, size)| AddressPool {
                    base: base.clone(),
                    size: *size,
                })
                .collect(),
            firewall_backend: None,
            cdi_spec_dirs: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// `GET /system/df`.
    pub async fn data_usage(&self) -> Result<SystemDataUsage, berth_api::ApiError> {
        let (images, layers_size) = self.image_usage().await?;
        let containers = self.container_list(&crate::containers::ListOptions {
            all: true,
            limit: None,
            size: true,
            filters: berth_api::Filters::default(),
        })?;
        let users = |image_id: &str| {
            containers
                .iter()
                .filter(|c| c.get("ImageID").and_then(|v| v.as_str()) == Some(image_id))
                .count() as i64
        };
        Ok(SystemDataUsage {
            layers_size,
            images: images
                .into_iter()
                .map(|mut image| {
                    image.containers = users(&image.id);
                    serde_json::to_value(image).unwrap_or_default()
                })
                .collect(),
            containers,
            volumes: self.volumes_disk_usage().await,
            ..SystemDataUsage::default()
        })
    }
}

/// Protections every container gets; cgroup namespaces only exist on v2 hosts.
fn security_options(cgroup_v1: bool) -> Vec<String> {
    let mut options = vec!["name=seccomp,profile=builtin".to_string()];
    if !cgroup_v1 {
        options.push("name=cgroupns".to_string());
    }
    options
}

/// The registry settings `/info` shows: docker.io is official and secure, the
/// loopback range is insecure by default as dockerd, plus `insecure-registries`.
fn registry_config(mirrors: &[String], insecure: &[String]) -> RegistryServiceConfig {
    let mut cidrs = vec!["127.0.0.0/8".to_string(), "::1/128".to_string()];
    let mut index_configs = BTreeMap::new();
    index_configs.insert(
        "docker.io".to_string(),
        IndexInfo {
            name: "docker.io".into(),
            mirrors: mirrors.to_vec(),
            secure: true,
            official: true,
        },
    );
    for entry in insecure {
        if entry.contains('/') {
            cidrs.push(entry.clone());
        } else {
            index_configs.insert(
                entry.clone(),
                IndexInfo {
                    name: entry.clone(),
                    mirrors: Vec::new(),
                    secure: false,
                    official: false,
                },
            );
        }
    }
    RegistryServiceConfig {
        insecure_registry_cidrs: cidrs,
        index_configs,
        mirrors: mirrors.to_vec(),
    }
}

fn backing_filesystem(path: &std::path::Path) -> String {
    match nix::sys::statfs::statfs(path).map(|s| s.filesystem_type()) {
        Ok(t) if t == nix::sys::statfs::EXT4_SUPER_MAGIC => "extfs".into(),
        Ok(t) if t == nix::sys::statfs::XFS_SUPER_MAGIC => "xfs".into(),
        Ok(t) if t == nix::sys::statfs::BTRFS_SUPER_MAGIC => "btrfs".into(),
        Ok(t) if t == nix::sys::statfs::TMPFS_MAGIC => "tmpfs".into(),
        _ => "unknown".into(),
    }
}

fn ipv4_forwarding() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
        .map(|v| v.trim() == "1")
        .unwrap_or(false)
}

fn open_fd_count() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

/// Docker reports goroutines; the closest figure here is the daemon's thread count.
fn thread_count() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}
