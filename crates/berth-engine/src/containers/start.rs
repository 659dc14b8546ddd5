//! `POST /containers/{id}/start`: mount the rootfs, write the bundle, launch the shim.

use std::sync::Arc;

use berth_api::{ApiError, ErrorKind};
use berth_shim::{FailureKind, LaunchResult, Request, ShimOptions};

use super::etc_files;
use super::exit::wait_for_process_exit;
use super::record::Status;
use super::rootfs;
use super::spec::{runtime_config, SpecInputs};
use super::{now_rfc3339, Container};
use crate::Engine;

impl Engine {
    pub async fn container_start(self: &Arc<Self>, reference: &str) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        match container.status() {
            Status::Running => {
                return Err(ApiError::new(
                    ErrorKind::NotModified,
                    "container already started",
                ))
            }
            Status::Paused => {
                return Err(ApiError::conflict(
                    "cannot start a paused container, try unpause instead",
                ))
            }
            Status::Removing | Status::Dead => {
                return Err(ApiError::conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    container.id
                )))
            }
            _ => {}
        }
        let result = self.start_locked(&container).await;
        if result.is_err() && container.snapshot().host_config.auto_remove {
            // `--rm`: a container that could not start is removed like one that exited
            // (clients wait for `condition=removed`). The removal waits for our op lock.
            let engine = self.clone();
            let id = container.id.clone();
            tokio::spawn(async move {
                if let Err(e) = engine.container_remove(&id, true, true).await {
                    tracing::warn!("removing {id} after its failed start: {}", e.message);
                }
            });
        }
        result
    }

    /// Starts a container whose operation lock the caller holds.
    pub(crate) async fn start_locked(
        self: &Arc<Self>,
        container: &Arc<Container>,
    ) -> Result<(), ApiError> {
        let record = container.snapshot();
        let store = self.image_store();
        let image_id = berth_image::Digest::parse(&record.image_id)
            .map_err(|e| ApiError::system(format!("container {}: bad image ID: {e}", record.id)))?;
        let lowers = crate::images::blocking(move || Ok(store.layer_dirs(&image_id)?)).await?;

        let embedded_dns = self.uses_embedded_dns(&record);
        let links = super::links::settings(&record, &self.containers)?;
        let daemon_dns = self.networks.daemon_dns.clone();
        let dir = container.dir.clone();
        let state_dir = container.state_dir.clone();
        let runtime = self.runtime.clone();
        let engine = self.clone();
        let prepared = {
            let record = record.clone();
            tokio::task::spawn_blocking(move || -> Result<LaunchResult, ApiError> {
                let rootfs = rootfs::mount_overlay(&dir, &lowers)?;
                let result = (|| {
                    // Volumes (device mounts, copy-up) once the image is in place.
                    engine.volumes_mount(&record.id, &record.mount_points)?;
                    engine.volumes_copy_up(&rootfs, &record.mount_points)?;
                    let etc = etc_files::write(
                        &dir,
                        &record,
                        &etc_files::Inputs {
                            embedded_dns,
                            link_hosts: &links.hosts,
                            daemon_dns: &daemon_dns,
                        },
                    )?;
                    // dockerd creates a missing working directory (owned by the user)
                    // before the start, and refuses one that is a file.
                    if !record.config.working_dir.is_empty() {
                        let group_add = record.host_config.group_add.clone().unwrap_or_default();
                        let user =
                            berth_runtime::user::resolve(&rootfs, &record.config.user, &group_add)
                                .map_err(|e| ApiError::invalid(e.to_string()))?;
                        berth_runtime::spec::ensure_working_dir(
                            &rootfs,
                            &record.config.working_dir,
                            user.uid,
                            user.gid,
                        )
                        .map_err(|e| ApiError::invalid(e.to_string()))?;
                    }
                    let config = runtime_config(SpecInputs {
                        record: &record,
                        rootfs: rootfs.clone(),
                        etc: &etc,
                        init_binary: &runtime.init_binary,
                        containers: &engine.containers,
                        link_env: &links.env,
                    })?;
                    let built = berth_runtime::spec::build(&config, &runtime.host)
                        .map_err(|e| ApiError::invalid(e.to_string()))?;
                    let _ = std::fs::remove_dir_all(&state_dir);
                    berth_runtime::spec::write_bundle(&state_dir, &built.spec)
                        .map_err(|e| ApiError::system(e.to_string()))?;
                    let options = shim_options(&record, &state_dir);
                    berth_shim::launch(&runtime.shim_binary, &options)
                        .map_err(|e| ApiError::system(format!("starting the shim: {e}")))
                })();
                if !matches!(result, Ok(LaunchResult::Started { .. })) {
                    engine.volumes_unmount(&record.id, &record.mount_points);
                    let _ = rootfs::unmount(&dir);
                    let _ = std::fs::remove_dir_all(&state_dir);
                }
                result
            })
            .await
            .map_err(|e| ApiError::system(format!("start task failed: {e}")))?
        };
        match prepared {
            Ok(LaunchResult::Started { pid, shim_pid }) => {
                // Created, not started: the network namespace exists now; join the
                // networks before the process runs.
                let engine = self.clone();
                let net_record = record.clone();
                let joined =
                    tokio::task::spawn_blocking(move || engine.connect_container(&net_record, pid))
                        .await
                        .map_err(|e| ApiError::system(e.to_string()))
                        .and_then(|r| r);
                let networks = match joined {
                    Ok(networks) => networks,
                    Err(e) => {
                        // SAFETY: kill only signals the created container's init.
                        unsafe {
                            libc::kill(pid as libc::pid_t, libc::SIGKILL);
                        }
                        wait_for_process_exit(shim_pid).await;
                        let _ = rootfs::unmount(&container.dir);
                        let _ = std::fs::remove_dir_all(&container.state_dir);
                        let _ = container.update(|r| {
                            r.state.error = e.message.clone();
                            r.state.mounted = false;
                        });
                        return Err(e);
                    }
                };
                etc_files::add_own_addresses(&container.dir, &record, &networks);
                if let Some(bridge) = networks
                    .iter()
                    .find(|n| n.network_name == crate::networks::DEFAULT_NETWORK)
                {
                    super::links::update_parents(
                        &self.containers,
                        &record,
                        &bridge.endpoint.ip.to_string(),
                    );
                }
                apply_oom_kill_disable(&record);
                if let Ok(updated) = container.update(|r| r.state.networks = networks) {
                    self.add_link_rules(&updated);
                }
                // Attachers connect first, then the process runs.
                self.hand_over_attachers(container).await;
                if let Err(e) = self.shim_call(container, Request::Start).await {
                    // The shim cleans up after a failed start and exits.
                    wait_for_process_exit(shim_pid).await;
                    self.release_container_networks(&container.snapshot());
                    let _ = container.update(|r| r.state.networks.clear());
                    self.release_volume_mounts(container);
                    let _ = rootfs::unmount(&container.dir);
                    let _ = std::fs::remove_dir_all(&container.state_dir);
                    return Err(self.record_start_failure(
                        container,
                        classify(&e.message),
                        e.message,
                    ));
                }
                let record = container.update(|r| {
                    r.state.status = Status::Running;
                    r.state.pid = pid;
                    r.state.shim_pid = shim_pid;
                    r.state.started_at = now_rfc3339();
                    r.state.exit_code = 0;
                    r.state.error.clear();
                    r.state.oom_killed = false;
                    r.state.manually_stopped = false;
                    r.state.mounted = true;
                    super::health::reset(r);
                })?;
                self.container_event(&record, "start", &[]);
                self.watch_exit(container.clone(), shim_pid);
                self.start_health_monitor(container, shim_pid);
                Ok(())
            }
            Ok(LaunchResult::Failed { kind, message }) => {
                Err(self.record_start_failure(container, kind, message))
            }
            Err(e) => {
                let _ = container.update(|r| {
                    r.state.error = e.message.clone();
                    r.state.mounted = false;
                    if r.state.status == Status::Restarting {
                        r.state.status = Status::Exited;
                    }
                });
                Err(e)
            }
        }
    }
}

impl Engine {
    /// Records a failed start like docker (exit code 127/126/128, `State.Error`) and
    /// returns the error for the client.
    fn record_start_failure(
        &self,
        container: &Container,
        kind: FailureKind,
        message: String,
    ) -> ApiError {
        let (code, status) = match kind {
            FailureKind::NotFound => (127, ErrorKind::InvalidParameter),
            FailureKind::PermissionDenied | FailureKind::BadWorkdir => {
                (126, ErrorKind::InvalidParameter)
            }
            FailureKind::Other => (128, ErrorKind::System),
        };
        let message = format!("failed to create task for container: {message}: unknown");
        let _ = container.update(|r| {
            r.state.status = Status::Exited;
            r.state.exit_code = code;
            r.state.error = message.clone();
            r.state.mounted = false;
            r.state.finished_at = now_rfc3339();
        });
        ApiError::new(status, message)
    }
}

/// The shim reports start failures as text; docker's exit codes follow the text.
fn classify(message: &str) -> FailureKind {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
    {
        FailureKind::NotFound
    } else if message.contains("permission denied") {
        FailureKind::PermissionDenied
    } else {
        FailureKind::Other
    }
}

fn shim_options(record: &super::Record, state_dir: &std::path::Path) -> ShimOptions {
    let mut options = ShimOptions::new(&record.id, state_dir, state_dir);
    options.log_path = Some(record.log_path.clone());
    let log = record.host_config.log_config.clone().unwrap_or_default();
    options.log = log.kind != "none";
    if let Some(size) = log.config.get("max-size") {
        options.log_max_size = berth_format::units::ram_in_bytes(size).unwrap_or(0).max(0) as u64;
    }
    if let Some(files) = log.config.get("max-file") {
        options.log_max_file = files.parse().unwrap_or(1).max(1);
    }
    if log.kind == "syslog" {
        options.syslog = Some(syslog_options(record, &log.config));
    }
    options.stdin = record.config.open_stdin;
    options.stdin_once = record.config.stdin_once;
    options.no_start = true;
    options
}

/// The syslog driver's settings from `LogConfig.Config` (checked at create time; a bad
/// value falls back to docker's default here).
fn syslog_options(
    record: &super::Record,
    config: &std::collections::BTreeMap<String, String>,
) -> berth_shim::SyslogOptions {
    let get = |key: &str| config.get(key).map(String::as_str).unwrap_or("");
    berth_shim::SyslogOptions {
        address: berth_shim::SyslogAddress::parse(get("syslog-address")).unwrap_or_default(),
        facility: berth_shim::options::parse_facility(get("syslog-facility"))
            .unwrap_or(berth_shim::options::FACILITY_DAEMON),
        tag: Some(log_tag(record, config.get("tag").map(String::as_str))),
        format: berth_shim::SyslogFormat::parse(get("syslog-format")).unwrap_or_default(),
    }
}

/// Expands docker's `tag` log option (a Go template; default `{{.ID}}`): `{{.ID}}`,
/// `{{.FullID}}`, `{{.Name}}`, `{{.ImageID}}`, `{{.ImageFullID}}`, `{{.ImageName}}`,
/// `{{.DaemonName}}`. Other actions are kept as written.
fn log_tag(record: &super::Record, template: Option<&str>) -> String {
    let template = template.filter(|t| !t.is_empty()).unwrap_or("{{.ID}}");
    let short = |id: &str| -> String {
        let id = id.split_once(':').map_or(id, |(_, hex)| hex);
        id.chars().take(12).collect()
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let action = &rest[start..start + len + 2];
        let value = match action[2..action.len() - 2].trim() {
            ".ID" => short(&record.id),
            ".FullID" => record.id.clone(),
            ".Name" => record.name.trim_start_matches('/').to_string(),
            ".ImageID" => short(&record.image_id),
            ".ImageFullID" => record.image_id.clone(),
            ".ImageName" => record.image_name.clone(),
            ".DaemonName" => "berth".to_string(),
            _ => action.to_string(),
        };
        out.push_str(&value);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// `--oom-kill-disable` on cgroup v1: libcontainer 0.7 leaves `memory.oom_control` at 0
/// whatever the spec says, so the engine sets it between create and start.
fn apply_oom_kill_disable(record: &super::Record) {
    if record.host_config.oom_kill_disable != Some(true) || super::introspect::cgroup::is_v2() {
        return;
    }
    let path = super::introspect::cgroup::dir(record, "memory").join("memory.oom_control");
    if let Err(e) = std::fs::write(&path, "1") {
        tracing::warn!("disabling the OOM killer of {}: {e}", record.id);
    }
}
