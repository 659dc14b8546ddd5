//! `docker exec`: extra processes in a running container, run by its shim (no second
//! runtime process tree). Exec records live in memory, as dockerd's do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use berth_api::ApiError;
use berth_shim::protocol::ExecRequest;
use berth_shim::Request;
use serde::Deserialize;
use serde_json::{json, Value};

use super::attach::AttachStream;
use super::record::Status;
use crate::Engine;

/// `POST /containers/{id}/exec` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: Option<String>,
    pub tty: bool,
    pub console_size: Option<Vec<u16>>,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub privileged: bool,
    pub user: Option<String>,
    pub working_dir: Option<String>,
}

#[derive(Debug, Clone)]
struct ExecRecord {
    id: String,
    container_id: String,
    config: ExecConfig,
    running: bool,
    pid: u32,
    exit_code: Option<i64>,
}

#[derive(Default)]
pub struct Execs {
    by_id: Mutex<HashMap<String, ExecRecord>>,
}

impl Execs {
    /// Drops the exec records of a removed container (dockerd forgets them too).
    pub(crate) fn forget_container(&self, container_id: &str) {
        self.by_id
            .lock()
            .expect("execs poisoned")
            .retain(|_, e| e.container_id != container_id);
    }

    fn get(&self, id: &str) -> Result<ExecRecord, ApiError> {
        self.by_id
            .lock()
            .expect("execs poisoned")
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {id}")))
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut ExecRecord)) {
        if let Some(record) = self.by_id.lock().expect("execs poisoned").get_mut(id) {
            change(record);
        }
    }
}

impl Engine {
    fn running_container(&self, reference: &str) -> Result<Arc<super::Container>, ApiError> {
        let container = self.containers.get(reference)?;
        match container.status() {
            Status::Running => Ok(container),
            Status::Paused => Err(ApiError::conflict(format!(
                "Container {} is paused, unpause the container before exec",
                container.id
            ))),
            _ => Err(ApiError::conflict(format!(
                "container {} is not running",
                container.id
            ))),
        }
    }

    /// `POST /containers/{id}/exec`.
    pub fn exec_create(&self, reference: &str, config: ExecConfig) -> Result<String, ApiError> {
        let container = self.running_container(reference)?;
        if config.cmd.as_ref().is_none_or(Vec::is_empty) {
            return Err(ApiError::invalid("No exec command specified"));
        }
        if config.privileged {
            return Err(ApiError::invalid(
                "privileged exec is not supported by this daemon yet",
            ));
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        let command = config.cmd.clone().unwrap_or_default().join(" ");
        self.execs.by_id.lock().expect("execs poisoned").insert(
            id.clone(),
            ExecRecord {
                id: id.clone(),
                container_id: container.id.clone(),
                config,
                running: false,
                pid: 0,
                exit_code: None,
            },
        );
        self.container_event(
            &container.snapshot(),
            &format!("exec_create: {command}"),
            &[("execID", id.clone())],
        );
        Ok(id)
    }

    /// `POST /exec/{id}/start`: starts the process; returns its stdio stream unless
    /// detached.
    pub async fn exec_start(
        self: &Arc<Self>,
        exec_id: &str,
        detach: bool,
        console: Option<(u16, u16)>,
    ) -> Result<Option<AttachStream>, ApiError> {
        let exec = self.execs.get(exec_id)?;
        if exec.running || exec.exit_code.is_some() {
            return Err(ApiError::conflict(format!(
                "exec {exec_id} has already started"
            )));
        }
        let container = self.running_container(&exec.container_id)?;
        let record = container.snapshot();
        let config = exec.config.clone();
        let user = config
            .user
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| record.config.user.clone());
        let rootfs = super::rootfs::rootfs_path(&container.dir);
        let group_add = record.host_config.group_add.clone().unwrap_or_default();
        let resolved = tokio::task::spawn_blocking(move || {
            berth_runtime::user::resolve(&rootfs, &user, &group_add)
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?
        .map_err(|e| ApiError::invalid(e.to_string()))?;
        let (height, width) = console
            .or_else(|| {
                let size = config.console_size.as_ref()?;
                Some((*size.first()?, *size.get(1)?))
            })
            .unzip();
        let request = ExecRequest {
            exec_id: exec_id.to_string(),
            args: config.cmd.clone().unwrap_or_default(),
            env: config.env.clone().unwrap_or_default(),
            cwd: config.working_dir.clone().filter(|w| !w.is_empty()),
            uid: Some(resolved.uid),
            gid: Some(resolved.gid),
            additional_gids: resolved.additional_gids,
            tty: config.tty,
            stdin: config.attach_stdin && !detach,
            detach,
            no_new_privileges: false,
            height,
            width,
        };
        let state_dir = container.state_dir.clone();
        let (response, stream) = tokio::task::spawn_blocking(move || {
            let mut client = berth_shim::Client::connect(&state_dir)?;
            let response = client.call(&Request::Exec(request))?;
            Ok::<_, berth_shim::ClientError>((response, client.into_stream()))
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?
        .map_err(|e| ApiError::system(format!("exec in {}: {e}", container.id)))?;
        if !response.ok {
            let message = response.error.unwrap_or_default();
            let code = if message.contains("executable file not found")
                || message.contains("no such file")
            {
                127
            } else {
                126
            };
            self.execs.update(exec_id, |e| e.exit_code = Some(code));
            return Err(ApiError::invalid(format!(
                "OCI runtime exec failed: exec failed: unable to start container process: {message}: unknown"
            )));
        }
        let pid = response.pid.unwrap_or(0);
        self.execs.update(exec_id, |e| {
            e.running = true;
            e.pid = pid;
        });
        let command = config.cmd.clone().unwrap_or_default().join(" ");
        self.container_event(
            &record,
            &format!("exec_start: {command}"),
            &[("execID", exec_id.to_string())],
        );
        if detach {
            let engine = self.clone();
            let exec_id = exec_id.to_string();
            tokio::spawn(async move { engine.exec_wait_finished(&exec_id).await });
            return Ok(None);
        }
        let (stream, buffered) = stream;
        stream
            .set_nonblocking(true)
            .map_err(|e| ApiError::system(e.to_string()))?;
        let stream = tokio::net::UnixStream::from_std(stream)
            .map_err(|e| ApiError::system(e.to_string()))?;
        Ok(Some(AttachStream {
            stream,
            buffered,
            tty: config.tty,
        }))
    }

    /// Records an exec's exit once its output stream has ended.
    pub async fn exec_finished(&self, exec_id: &str) {
        let Ok(exec) = self.execs.get(exec_id) else {
            return;
        };
        if exec.exit_code.is_some() {
            return; // it failed to start; the code is recorded already
        }
        let Ok(container) = self.containers.get(&exec.container_id) else {
            return;
        };
        // The stream ends when the process exits; its status follows right after.
        for _ in 0..200 {
            match self
                .shim_call(
                    &container,
                    Request::ExecState {
                        exec_id: exec_id.to_string(),
                    },
                )
                .await
            {
                Ok(response) => {
                    if let Some(state) = response.exec {
                        if !state.running {
                            let code = state.exit.map(|e| e.exit_code as i64).unwrap_or(0);
                            self.record_exec_exit(&exec, code);
                            return;
                        }
                    }
                }
                Err(_) => {
                    // The container (and its shim) is gone: the exec died with it.
                    self.record_exec_exit(&exec, 137);
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    async fn exec_wait_finished(&self, exec_id: &str) {
        let Ok(exec) = self.execs.get(exec_id) else {
            return;
        };
        let pid = exec.pid;
        if pid != 0 {
            super::exit::wait_for_process_exit(pid).await;
        }
        self.exec_finished(exec_id).await;
    }

    fn record_exec_exit(&self, exec: &ExecRecord, code: i64) {
        self.execs.update(&exec.id, |e| {
            e.running = false;
            e.exit_code = Some(code);
        });
        if let Ok(container) = self.containers.get(&exec.container_id) {
            let command = exec.config.cmd.clone().unwrap_or_default().join(" ");
            self.container_event(
                &container.snapshot(),
                &format!("exec_die: {command}"),
                &[("execID", exec.id.clone()), ("exitCode", code.to_string())],
            );
        }
    }

    /// `GET /exec/{id}/json`.
    pub fn exec_inspect(&self, exec_id: &str) -> Result<Value, ApiError> {
        let exec = self.execs.get(exec_id)?;
        let mut args = exec.config.cmd.clone().unwrap_or_default();
        let entrypoint = if args.is_empty() {
            String::new()
        } else {
            args.remove(0)
        };
        Ok(json!({
            "ID": exec.id,
            "Running": exec.running,
            "ExitCode": exec.exit_code,
            "ProcessConfig": {
                "tty": exec.config.tty,
                "entrypoint": entrypoint,
                "arguments": args,
                "privileged": exec.config.privileged,
                "user": exec.config.user.clone().unwrap_or_default(),
            },
            "OpenStdin": exec.config.attach_stdin,
            "OpenStderr": exec.config.attach_stderr,
            "OpenStdout": exec.config.attach_stdout,
            "CanRemove": false,
            "ContainerID": exec.container_id,
            "DetachKeys": exec.config.detach_keys.clone().unwrap_or_default(),
            "Pid": exec.pid,
        }))
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(
        &self,
        exec_id: &str,
        height: u16,
        width: u16,
    ) -> Result<(), ApiError> {
        let exec = self.execs.get(exec_id)?;
        let container = self.running_container(&exec.container_id)?;
        self.shim_call(
            &container,
            Request::Resize {
                height,
                width,
                exec_id: Some(exec_id.to_string()),
            },
        )
        .await?;
        Ok(())
    }

    /// Exec configs of a container, for `ExecIDs` in inspect.
    pub(crate) fn exec_ids(&self, container_id: &str) -> Vec<String> {
        self.execs
            .by_id
            .lock()
            .expect("execs poisoned")
            .values()
            .filter(|e| e.container_id == container_id && e.running)
            .map(|e| e.id.clone())
            .collect()
    }
}
