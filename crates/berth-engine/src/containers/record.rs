//! A container as persisted in `<data-root>/containers/<id>/container.json`.

use std::path::{Path, PathBuf};

use berth_api::types::container::{ContainerConfig, HostConfig};
use serde::{Deserialize, Serialize};

pub const RECORD_FILE: &str = "container.json";

/// Lifecycle states, named as the API reports them in `State.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// A process exists (running or frozen).
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    pub pid: u32,
    pub shim_pid: u32,
    pub exit_code: i64,
    pub oom_killed: bool,
    pub error: String,
    /// RFC 3339 with nanoseconds; Go's zero time before the first start.
    pub started_at: String,
    pub finished_at: String,
    /// Set by `stop`/`kill` from a user so restart policies leave the container alone.
    pub manually_stopped: bool,
    /// Exits counted against `on-failure:N` and shown as `RestartCount`.
    pub restart_count: i64,
    /// The rootfs overlay is mounted.
    pub mounted: bool,
    /// Networks joined by the running container (addresses, published ports).
    #[serde(default)]
    pub networks: Vec<crate::networks::ContainerNetworking>,
    /// `State.Health`: set at the first start of a container with a health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<super::health::Health>,
}

/// Go's zero `time.Time` as moby prints it for never-set times.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// With the leading `/`, as the API reports it.
    pub name: String,
    pub created: String,
    /// The image as the user named it (`busybox`).
    pub image_name: String,
    /// The image's ID (`sha256:...`).
    pub image_id: String,
    /// argv[0] and the rest, after merging entrypoint and command.
    pub path: String,
    pub args: Vec<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    /// `NetworkingConfig` of the create request (endpoint aliases, static IPs).
    #[serde(default)]
    pub networking_config: Option<serde_json::Value>,
    pub state: State,
    pub log_path: PathBuf,
    /// Binds, volumes and `--mount` tmpfs as resolved at create (moby's `MountPoints`).
    #[serde(default)]
    pub mount_points: Vec<crate::volumes::MountRecord>,
    /// Legacy links on the default bridge, resolved at create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<super::links::Link>,
}

impl Record {
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::atomic::write_file(&dir.join(RECORD_FILE), &bytes)
    }

    pub fn load(dir: &Path) -> std::io::Result<Record> {
        let bytes = std::fs::read(dir.join(RECORD_FILE))?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }

    /// `name` without the leading slash.
    pub fn bare_name(&self) -> &str {
        self.name.trim_start_matches('/')
    }
}
