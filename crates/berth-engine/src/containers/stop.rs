//! Signals and state changes of running containers: stop, kill, restart, pause, unpause.

use std::sync::Arc;
use std::time::Duration;

use berth_api::{ApiError, ErrorKind};
use berth_shim::Request;

use super::record::Status;
use super::Container;
use crate::Engine;

/// Docker's default grace period before SIGKILL.
const DEFAULT_STOP_TIMEOUT: i64 = 10;

impl Engine {
    /// `POST /containers/{id}/stop?t=&signal=`.
    pub async fn container_stop(
        self: &Arc<Self>,
        reference: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        if record.state.status == Status::Restarting {
            container.update(|r| {
                r.state.manually_stopped = true;
                r.state.status = Status::Exited;
            })?;
            self.container_event(&record, "stop", &[]);
            return Ok(());
        }
        if !record.state.status.is_live() {
            return Err(ApiError::new(
                ErrorKind::NotModified,
                "container already stopped",
            ));
        }
        container.update(|r| r.state.manually_stopped = true)?;
        self.stop_locked(&container, timeout, signal).await?;
        self.container_event(&container.snapshot(), "stop", &[]);
        Ok(())
    }

    /// Sends the stop signal, waits up to the timeout, then SIGKILL. The caller holds the
    /// container's operation lock.
    pub(crate) async fn stop_locked(
        &self,
        container: &Arc<Container>,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<(), ApiError> {
        let record = container.snapshot();
        let signal_name = signal
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| record.config.stop_signal.clone().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "SIGTERM".to_string());
        let signal = parse_signal(&signal_name)?;
        let timeout = timeout
            .or(record.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        if record.state.status == Status::Paused {
            // A frozen process cannot act on a signal.
            self.shim_call(container, Request::Resume).await?;
        }
        let signalled = std::time::Instant::now();
        self.signal_container(container, signal)?;
        let grace = (timeout >= 0).then(|| Duration::from_secs(timeout as u64));
        if self.wait_not_live(container, grace).await {
            tracing::debug!(
                container = %container.id,
                ms = signalled.elapsed().as_secs_f64() * 1e3,
                "stopped by the stop signal"
            );
            return Ok(());
        }
        self.signal_container(container, libc::SIGKILL)?;
        self.wait_not_live(container, None).await;
        Ok(())
    }

    /// `POST /containers/{id}/kill?signal=`.
    pub async fn container_kill(
        &self,
        reference: &str,
        signal: Option<&str>,
    ) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Err(ApiError::conflict(format!(
                "Cannot kill container: {reference}: Container {} is not running",
                record.id
            )));
        }
        let signal = parse_signal(signal.filter(|s| !s.is_empty()).unwrap_or("SIGKILL"))?;
        self.signal_container(&container, signal)?;
        Ok(())
    }

    /// `POST /containers/{id}/restart?t=&signal=`.
    pub async fn container_restart(
        self: &Arc<Self>,
        reference: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        if container.status().is_live() {
            container.update(|r| r.state.manually_stopped = true)?;
            self.stop_locked(&container, timeout, signal).await?;
            // moby's restart stops through containerStop, which reports `stop`.
            self.container_event(&container.snapshot(), "stop", &[]);
        }
        self.start_locked(&container).await?;
        self.container_event(&container.snapshot(), "restart", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/pause` and `/unpause`: the cgroup freezer, through the shim.
    pub async fn container_pause(&self, reference: &str, pause: bool) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        match (pause, record.state.status) {
            (true, Status::Running) | (false, Status::Paused) => {}
            (true, Status::Paused) => {
                return Err(ApiError::conflict(format!(
                    "Container {} is already paused",
                    record.id
                )))
            }
            (false, _) => {
                return Err(ApiError::conflict(format!(
                    "Container {} is not paused",
                    record.id
                )))
            }
            (true, _) => {
                return Err(ApiError::conflict(format!(
                    "Container {} is not running",
                    record.id
                )))
            }
        }
        let request = if pause {
            Request::Pause
        } else {
            Request::Resume
        };
        self.shim_call(&container, request).await?;
        let record = container.update(|r| {
            r.state.status = if pause {
                Status::Paused
            } else {
                Status::Running
            }
        })?;
        self.container_event(&record, if pause { "pause" } else { "unpause" }, &[]);
        Ok(())
    }

    /// Signals the container's init process and publishes the `kill` event.
    fn signal_container(&self, container: &Container, signal: i32) -> Result<(), ApiError> {
        let record = container.snapshot();
        if record.state.pid == 0 {
            return Ok(());
        }
        // SAFETY: kill only sends a signal; the pid is the container's init, which the
        // shim keeps as its child until it is reaped.
        let rc = unsafe { libc::kill(record.state.pid as libc::pid_t, signal) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ESRCH) {
                return Err(ApiError::system(format!("signaling {}: {err}", record.id)));
            }
        }
        self.container_event(&record, "kill", &[("signal", signal.to_string())]);
        Ok(())
    }

    /// Waits until the container is no longer running; false when `limit` passed first.
    pub(crate) async fn wait_not_live(
        &self,
        container: &Container,
        limit: Option<Duration>,
    ) -> bool {
        let mut changes = container.subscribe();
        let wait = async {
            loop {
                if !container.status().is_live() {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        match limit {
            Some(limit) => tokio::time::timeout(limit, wait).await.is_ok(),
            None => {
                wait.await;
                true
            }
        }
    }

    /// One request to the container's shim, on the blocking pool.
    pub(crate) async fn shim_call(
        &self,
        container: &Container,
        request: Request,
    ) -> Result<berth_shim::Response, ApiError> {
        let state_dir = container.state_dir.clone();
        let response = tokio::task::spawn_blocking(move || {
            let mut client = berth_shim::Client::connect(&state_dir)?;
            client.call(&request)
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?
        .map_err(|e| ApiError::system(format!("talking to the shim of {}: {e}", container.id)))?;
        if !response.ok {
            return Err(ApiError::system(response.error.clone().unwrap_or_default()));
        }
        Ok(response)
    }
}

/// `SIGTERM`, `TERM`, `term` or `15`.
pub fn parse_signal(text: &str) -> Result<i32, ApiError> {
    if let Ok(n) = text.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let signal = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return Err(ApiError::invalid(format!("Invalid signal: {text}"))),
    };
    Ok(signal)
}
