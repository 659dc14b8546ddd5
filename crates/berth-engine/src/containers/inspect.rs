//! `GET /containers/{id}/json`.

use berth_api::ApiError;
use serde_json::{json, Value};

use super::etc_files;
use crate::Engine;

impl Engine {
    /// Whether a container exists (by ID, name or prefix) and was created with a TTY: what
    /// stream handlers need, without building a whole inspect document (layer lookups).
    pub fn container_tty(&self, reference: &str) -> Result<bool, ApiError> {
        Ok(self.containers.get(reference)?.snapshot().config.tty)
    }

    pub fn container_inspect(&self, reference: &str, size: bool) -> Result<Value, ApiError> {
        let container = self.containers.get(reference)?;
        let record = container.snapshot();
        let state = &record.state;
        let etc = etc_files::paths(&container.dir);
        let layer_dirs = berth_image::Digest::parse(&record.image_id)
            .ok()
            .and_then(|id| self.image_store().layer_dirs(&id).ok())
            .unwrap_or_default();
        let lower = layer_dirs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let ids = self.exec_ids(&record.id);
        let exec_ids = if ids.is_empty() {
            Value::Null
        } else {
            json!(ids)
        };
        let mut value = json!({
            "Id": record.id,
            "Created": record.created,
            "Path": record.path,
            "Args": record.args,
            "State": {
                "Status": state.status.as_str(),
                "Running": state.status.is_live(),
                "Paused": state.status == super::Status::Paused,
                "Restarting": state.status == super::Status::Restarting,
                "OOMKilled": state.oom_killed,
                "Dead": state.status == super::Status::Dead,
                "Pid": state.pid,
                "ExitCode": state.exit_code,
                "Error": state.error,
                "StartedAt": state.started_at,
                "FinishedAt": state.finished_at,
            },
            "Image": record.image_id,
            "ResolvConfPath": etc.resolv_conf,
            "HostnamePath": etc.hostname,
            "HostsPath": etc.hosts,
            "LogPath": record.log_path,
            "Name": record.name,
            "RestartCount": state.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": exec_ids,
            "HostConfig": record.host_config,
            "GraphDriver": {
                "Name": "overlay2",
                "Data": {
                    "LowerDir": lower,
                    "MergedDir": container.dir.join("rootfs"),
                    "UpperDir": container.dir.join("upper"),
                    "WorkDir": container.dir.join("work"),
                }
            },
            "Mounts": mount_points(&record),
            "Config": record.config,
            "NetworkSettings": crate::networks::view::network_settings(&record, &self.networks),
        });
        value["HostConfig"]["Links"] =
            json!(super::links::inspect_value(&record, &self.containers));
        if let Some(health) = &state.health {
            value["State"]["Health"] = json!(health);
        }
        if size {
            let rw = super::remove::dir_size(&container.dir.join("upper"));
            value["SizeRw"] = json!(rw);
            value["SizeRootFs"] = json!(rw);
        }
        Ok(value)
    }
}

/// `Mounts` as docker reports them: the binds, volumes and `--mount` tmpfs resolved at
/// create (`--tmpfs` mounts are only in `HostConfig.Tmpfs`, as in docker).
pub(crate) fn mount_points(record: &super::Record) -> Vec<Value> {
    record.mount_points.iter().map(|m| m.to_json()).collect()
}
