//! Container wire types: the create request, `Config`, `HostConfig`, state, inspect and
//! list shapes. Field names follow the spec; unset numbers and booleans are zero as moby
//! prints them, unset lists and maps are null. `Cmd`, `Entrypoint` and `Shell` accept a
//! string or a list like moby's `StrSlice`; explicit nulls mean "unset".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::nullable;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    #[serde(
        rename = "Hostname",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub hostname: String,
    #[serde(
        rename = "Domainname",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub domainname: String,
    #[serde(rename = "User", default, deserialize_with = "nullable::or_default")]
    pub user: String,
    #[serde(
        rename = "AttachStdin",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub attach_stdin: bool,
    #[serde(
        rename = "AttachStdout",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub attach_stdout: bool,
    #[serde(
        rename = "AttachStderr",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub attach_stderr: bool,
    #[serde(rename = "ExposedPorts", default)]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(rename = "Tty", default, deserialize_with = "nullable::or_default")]
    pub tty: bool,
    #[serde(
        rename = "OpenStdin",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub open_stdin: bool,
    #[serde(
        rename = "StdinOnce",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub stdin_once: bool,
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, deserialize_with = "nullable::string_or_list")]
    pub cmd: Option<Vec<String>>,
    #[serde(
        rename = "Healthcheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub healthcheck: Option<HealthConfig>,
    #[serde(
        rename = "ArgsEscaped",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub args_escaped: Option<bool>,
    #[serde(rename = "Image", default, deserialize_with = "nullable::or_default")]
    pub image: String,
    #[serde(rename = "Volumes", default)]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(
        rename = "WorkingDir",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub working_dir: String,
    #[serde(
        rename = "Entrypoint",
        default,
        deserialize_with = "nullable::string_or_list"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(
        rename = "NetworkDisabled",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub network_disabled: Option<bool>,
    #[serde(rename = "OnBuild", default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_signal: Option<String>,
    #[serde(
        rename = "StopTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_timeout: Option<i64>,
    #[serde(
        rename = "Shell",
        default,
        deserialize_with = "nullable::string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<Vec<String>>,
    /// Fields this version does not model, kept so they round-trip.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostConfig {
    #[serde(
        rename = "CpuShares",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpu_shares: i64,
    #[serde(rename = "Memory", default, deserialize_with = "nullable::or_default")]
    pub memory: i64,
    #[serde(
        rename = "CgroupParent",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cgroup_parent: String,
    #[serde(
        rename = "BlkioWeight",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub blkio_weight: i64,
    #[serde(rename = "BlkioWeightDevice", default)]
    pub blkio_weight_device: Option<Value>,
    #[serde(rename = "BlkioDeviceReadBps", default)]
    pub blkio_device_read_bps: Option<Value>,
    #[serde(rename = "BlkioDeviceWriteBps", default)]
    pub blkio_device_write_bps: Option<Value>,
    #[serde(rename = "BlkioDeviceReadIOps", default)]
    pub blkio_device_read_iops: Option<Value>,
    #[serde(rename = "BlkioDeviceWriteIOps", default)]
    pub blkio_device_write_iops: Option<Value>,
    #[serde(
        rename = "CpuPeriod",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpu_period: i64,
    #[serde(
        rename = "CpuQuota",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpu_quota: i64,
    #[serde(
        rename = "CpuRealtimePeriod",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpu_realtime_period: i64,
    #[serde(
        rename = "CpuRealtimeRuntime",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpu_realtime_runtime: i64,
    #[serde(
        rename = "CpusetCpus",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpuset_cpus: String,
    #[serde(
        rename = "CpusetMems",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpuset_mems: String,
    #[serde(rename = "Devices", default)]
    pub devices: Option<Vec<DeviceMapping>>,
    #[serde(rename = "DeviceCgroupRules", default)]
    pub device_cgroup_rules: Option<Vec<String>>,
    #[serde(rename = "DeviceRequests", default)]
    pub device_requests: Option<Value>,
    #[serde(
        rename = "MemoryReservation",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub memory_reservation: i64,
    #[serde(
        rename = "MemorySwap",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub memory_swap: i64,
    #[serde(rename = "MemorySwappiness", default)]
    pub memory_swappiness: Option<i64>,
    #[serde(
        rename = "NanoCpus",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub nano_cpus: i64,
    #[serde(rename = "OomKillDisable", default)]
    pub oom_kill_disable: Option<bool>,
    #[serde(rename = "Init", default)]
    pub init: Option<bool>,
    #[serde(rename = "PidsLimit", default)]
    pub pids_limit: Option<i64>,
    #[serde(rename = "Ulimits", default)]
    pub ulimits: Option<Vec<Ulimit>>,
    #[serde(
        rename = "CpuCount",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpu_count: i64,
    #[serde(
        rename = "CpuPercent",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cpu_percent: i64,
    #[serde(
        rename = "IOMaximumIOps",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub io_maximum_iops: i64,
    #[serde(
        rename = "IOMaximumBandwidth",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub io_maximum_bandwidth: i64,
    #[serde(rename = "Binds", default)]
    pub binds: Option<Vec<String>>,
    #[serde(
        rename = "ContainerIDFile",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub container_id_file: String,
    #[serde(rename = "LogConfig", default)]
    pub log_config: Option<LogConfig>,
    #[serde(
        rename = "NetworkMode",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub network_mode: String,
    #[serde(rename = "PortBindings", default)]
    pub port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    #[serde(rename = "RestartPolicy", default)]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(
        rename = "AutoRemove",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub auto_remove: bool,
    #[serde(
        rename = "VolumeDriver",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub volume_driver: String,
    #[serde(rename = "VolumesFrom", default)]
    pub volumes_from: Option<Vec<String>>,
    #[serde(rename = "Mounts", default)]
    pub mounts: Option<Vec<Mount>>,
    #[serde(rename = "ConsoleSize", default)]
    pub console_size: Option<Value>,
    #[serde(rename = "Annotations", default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(rename = "CapAdd", default)]
    pub cap_add: Option<Vec<String>>,
    #[serde(rename = "CapDrop", default)]
    pub cap_drop: Option<Vec<String>>,
    #[serde(
        rename = "CgroupnsMode",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cgroupns_mode: String,
    #[serde(rename = "Dns", default)]
    pub dns: Option<Vec<String>>,
    #[serde(rename = "DnsOptions", default)]
    pub dns_options: Option<Vec<String>>,
    #[serde(rename = "DnsSearch", default)]
    pub dns_search: Option<Vec<String>>,
    #[serde(rename = "ExtraHosts", default)]
    pub extra_hosts: Option<Vec<String>>,
    #[serde(rename = "GroupAdd", default)]
    pub group_add: Option<Vec<String>>,
    #[serde(rename = "IpcMode", default, deserialize_with = "nullable::or_default")]
    pub ipc_mode: String,
    #[serde(rename = "Cgroup", default, deserialize_with = "nullable::or_default")]
    pub cgroup: String,
    #[serde(rename = "Links", default)]
    pub links: Option<Vec<String>>,
    #[serde(
        rename = "OomScoreAdj",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub oom_score_adj: i64,
    #[serde(rename = "PidMode", default, deserialize_with = "nullable::or_default")]
    pub pid_mode: String,
    #[serde(
        rename = "Privileged",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub privileged: bool,
    #[serde(
        rename = "PublishAllPorts",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub publish_all_ports: bool,
    #[serde(
        rename = "ReadonlyRootfs",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub readonly_rootfs: bool,
    #[serde(rename = "SecurityOpt", default)]
    pub security_opt: Option<Vec<String>>,
    #[serde(rename = "StorageOpt", default)]
    pub storage_opt: Option<BTreeMap<String, String>>,
    #[serde(rename = "Tmpfs", default)]
    pub tmpfs: Option<BTreeMap<String, String>>,
    #[serde(rename = "UTSMode", default, deserialize_with = "nullable::or_default")]
    pub uts_mode: String,
    #[serde(
        rename = "UsernsMode",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub userns_mode: String,
    #[serde(rename = "ShmSize", default, deserialize_with = "nullable::or_default")]
    pub shm_size: i64,
    #[serde(rename = "Sysctls", default)]
    pub sysctls: Option<BTreeMap<String, String>>,
    #[serde(rename = "Runtime", default, deserialize_with = "nullable::or_default")]
    pub runtime: String,
    #[serde(
        rename = "Isolation",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub isolation: String,
    #[serde(rename = "MaskedPaths", default)]
    pub masked_paths: Option<Vec<String>>,
    #[serde(rename = "ReadonlyPaths", default)]
    pub readonly_paths: Option<Vec<String>>,
    /// Fields this version does not model, kept so they round-trip.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    /// `""`, `no`, `always`, `unless-stopped`, `on-failure`.
    #[serde(rename = "Name", default, deserialize_with = "nullable::or_default")]
    pub name: String,
    #[serde(
        rename = "MaximumRetryCount",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    #[serde(rename = "Type", default, deserialize_with = "nullable::or_default")]
    pub kind: String,
    #[serde(rename = "Config", default, deserialize_with = "nullable::or_default")]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    #[serde(rename = "Name", default, deserialize_with = "nullable::or_default")]
    pub name: String,
    #[serde(rename = "Soft", default, deserialize_with = "nullable::or_default")]
    pub soft: i64,
    #[serde(rename = "Hard", default, deserialize_with = "nullable::or_default")]
    pub hard: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    #[serde(rename = "HostIp", default, deserialize_with = "nullable::or_default")]
    pub host_ip: String,
    #[serde(
        rename = "HostPort",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub host_port: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMapping {
    #[serde(
        rename = "PathOnHost",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub path_on_host: String,
    #[serde(
        rename = "PathInContainer",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub path_in_container: String,
    #[serde(
        rename = "CgroupPermissions",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub cgroup_permissions: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    #[serde(rename = "Test", default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(
        rename = "Interval",
        default,
        deserialize_with = "nullable::or_default",
        skip_serializing_if = "is_zero"
    )]
    pub interval: i64,
    #[serde(
        rename = "Timeout",
        default,
        deserialize_with = "nullable::or_default",
        skip_serializing_if = "is_zero"
    )]
    pub timeout: i64,
    #[serde(
        rename = "Retries",
        default,
        deserialize_with = "nullable::or_default",
        skip_serializing_if = "is_zero"
    )]
    pub retries: i64,
    #[serde(
        rename = "StartPeriod",
        default,
        deserialize_with = "nullable::or_default",
        skip_serializing_if = "is_zero"
    )]
    pub start_period: i64,
    #[serde(
        rename = "StartInterval",
        default,
        deserialize_with = "nullable::or_default",
        skip_serializing_if = "is_zero"
    )]
    pub start_interval: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A `--mount` / `HostConfig.Mounts` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    #[serde(rename = "Target", default, deserialize_with = "nullable::or_default")]
    pub target: String,
    #[serde(rename = "Source", default, deserialize_with = "nullable::or_default")]
    pub source: String,
    #[serde(rename = "Type", default, deserialize_with = "nullable::or_default")]
    pub kind: String,
    #[serde(
        rename = "ReadOnly",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub read_only: bool,
    #[serde(
        rename = "Consistency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub consistency: Option<String>,
    #[serde(
        rename = "BindOptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bind_options: Option<Value>,
    #[serde(
        rename = "VolumeOptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub volume_options: Option<Value>,
    #[serde(
        rename = "TmpfsOptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tmpfs_options: Option<Value>,
}

/// `POST /containers/create` body: the `Config` fields at the top level, plus
/// `HostConfig` and `NetworkingConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateRequest {
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(
        rename = "HostConfig",
        default,
        deserialize_with = "nullable::or_default"
    )]
    pub host_config: HostConfig,
    #[serde(rename = "NetworkingConfig", default)]
    pub networking_config: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerState {
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "Running")]
    pub running: bool,
    #[serde(rename = "Paused")]
    pub paused: bool,
    #[serde(rename = "Restarting")]
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    #[serde(rename = "Dead")]
    pub dead: bool,
    #[serde(rename = "Pid")]
    pub pid: i64,
    #[serde(rename = "ExitCode")]
    pub exit_code: i64,
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "StartedAt")]
    pub started_at: String,
    #[serde(rename = "FinishedAt")]
    pub finished_at: String,
    #[serde(rename = "Health", default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Value>,
}

/// `POST /containers/create` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateResponse {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Warnings")]
    pub warnings: Vec<String>,
}

/// `POST /containers/{id}/wait` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitResponse {
    #[serde(rename = "StatusCode")]
    pub status_code: i64,
    #[serde(rename = "Error", skip_serializing_if = "Option::is_none")]
    pub error: Option<WaitError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitError {
    #[serde(rename = "Message")]
    pub message: String,
}

/// A port of `ps` output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Port {
    #[serde(rename = "IP", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(rename = "PrivatePort")]
    pub private_port: u16,
    #[serde(rename = "PublicPort", skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
    #[serde(rename = "Type")]
    pub kind: String,
}
