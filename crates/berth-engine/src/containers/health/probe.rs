//! One probe run: an exec of the check command through the container's shim, its
//! stdout and stderr collected (up to 4096 bytes), killed when it outlasts the timeout.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use berth_shim::protocol::ExecRequest;
use berth_shim::Request;
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::{HealthResult, LimitedOutput, Probe};
use crate::containers::{now_rfc3339, Container};
use crate::Engine;

/// How long the output of a killed probe may keep coming before the result is recorded
/// anyway (a child of the probe may hold the pipe open).
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(2);

impl Engine {
    /// Runs the probe once and returns its result as `Health.Log` shows it. Failures to
    /// run it at all are results too (exit code -1 and the error, as moby records them).
    pub(super) async fn run_probe(
        &self,
        container: &Arc<Container>,
        probe: &Probe,
    ) -> HealthResult {
        let start = now_rfc3339();
        let (exit_code, output) = match self.probe_exec(container, probe).await {
            Ok(outcome) => outcome,
            Err(message) => (-1, message),
        };
        HealthResult {
            start,
            end: now_rfc3339(),
            exit_code,
            output,
        }
    }

    async fn probe_exec(
        &self,
        container: &Arc<Container>,
        probe: &Probe,
    ) -> Result<(i64, String), String> {
        let record = container.snapshot();
        let rootfs = crate::containers::rootfs::rootfs_path(&container.dir);
        let user = record.config.user.clone();
        let group_add = record.host_config.group_add.clone().unwrap_or_default();
        let resolved = tokio::task::spawn_blocking(move || {
            berth_runtime::user::resolve(&rootfs, &user, &group_add)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;

        // The probe shows as an exec, with its events, as in docker.
        let exec_id = hex::encode(rand::random::<[u8; 32]>());
        let command = probe.argv.join(" ");
        let exec_attr = [("execID", exec_id.clone())];
        self.container_event(&record, &format!("exec_create: {command}"), &exec_attr);
        let request = ExecRequest {
            exec_id: exec_id.clone(),
            args: probe.argv.clone(),
            cwd: Some(record.config.working_dir.clone()).filter(|w| !w.is_empty()),
            uid: Some(resolved.uid),
            gid: Some(resolved.gid),
            additional_gids: resolved.additional_gids,
            ..Default::default()
        };
        let state_dir = container.state_dir.clone();
        let (response, (stream, buffered)) = tokio::task::spawn_blocking(move || {
            let mut client = berth_shim::Client::connect(&state_dir)?;
            let response = client.call(&Request::Exec(request))?;
            Ok::<_, berth_shim::ClientError>((response, client.into_stream()))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("exec in {}: {e}", container.id))?;
        if !response.ok {
            return Err(format!(
                "OCI runtime exec failed: exec failed: unable to start container process: {}: unknown",
                response.error.unwrap_or_default()
            ));
        }
        // A pidfd taken now: the kill at the timeout cannot hit a recycled pid.
        let pidfd = response.pid.and_then(pidfd_open);
        self.container_event(&record, &format!("exec_start: {command}"), &exec_attr);

        stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut stream = tokio::net::UnixStream::from_std(stream).map_err(|e| e.to_string())?;
        let mut frames = Frames::default();
        frames.feed(&buffered);
        let deadline = Instant::now() + probe.timeout;
        let timed_out = !read_until(&mut stream, &mut frames, deadline).await;
        if timed_out {
            if let Some(fd) = &pidfd {
                pidfd_kill(fd);
            }
            read_until(&mut stream, &mut frames, Instant::now() + DRAIN_AFTER_KILL).await;
        }
        drop(stream);
        let exit_code = if timed_out {
            137
        } else {
            self.exec_exit_code(container, &exec_id).await
        };
        self.container_event(
            &record,
            &format!("exec_die: {command}"),
            &[
                ("execID", exec_id.clone()),
                ("exitCode", exit_code.to_string()),
            ],
        );
        let output = frames.output.text();
        if timed_out {
            let limit = go_duration(probe.timeout);
            let message = if output.is_empty() {
                format!("Health check exceeded timeout ({limit})")
            } else {
                format!("Health check exceeded timeout ({limit}): {output}")
            };
            return Ok((-1, message));
        }
        Ok((exit_code, output))
    }

    /// The exit code of a finished exec (its stream has ended; the status follows).
    async fn exec_exit_code(&self, container: &Container, exec_id: &str) -> i64 {
        for _ in 0..200 {
            let request = Request::ExecState {
                exec_id: exec_id.to_string(),
            };
            match self.shim_call(container, request).await {
                Ok(response) => {
                    if let Some(state) = response.exec.filter(|s| !s.running) {
                        return state.exit.map(|e| e.exit_code as i64).unwrap_or(0);
                    }
                }
                // The shim is gone: the container, and the probe with it, ended.
                Err(_) => return 137,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        -1
    }
}

/// Reads multiplexed frames until the stream ends (true) or `deadline` passes (false).
async fn read_until(
    stream: &mut tokio::net::UnixStream,
    frames: &mut Frames,
    deadline: Instant,
) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(n)) => frames.feed(&buf[..n]),
        }
    }
}

/// Docker's 8-byte-header frames from the shim, stdout and stderr into one output.
#[derive(Default)]
struct Frames {
    pending: Vec<u8>,
    output: LimitedOutput,
}

impl Frames {
    fn feed(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        loop {
            if self.pending.len() < 8 {
                return;
            }
            let len = u32::from_be_bytes([
                self.pending[4],
                self.pending[5],
                self.pending[6],
                self.pending[7],
            ]) as usize;
            if self.pending.len() < 8 + len {
                return;
            }
            self.output.push(&self.pending[8..8 + len]);
            self.pending.drain(..8 + len);
        }
    }
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a non-negative result is a fresh descriptor that we own from here on.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn pidfd_kill(fd: &OwnedFd) {
    // SAFETY: pidfd_send_signal only signals the process the open pidfd refers to.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

/// A duration as Go's `time.Duration.String` prints it (`30s`, `1m30s`, `500ms`).
pub(crate) fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let fraction = |value: u128, unit: u128| -> String {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let text = format!("{whole}.{rest:0digits$}");
        text.trim_end_matches('0').to_string()
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 1_000_000));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = nanos % 60_000_000_000;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", fraction(seconds, 1_000_000_000)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn frames_are_joined() {
        let mut f = Frames::default();
        let mut data = berth_shim::protocol::frame_header(1, 3).to_vec();
        data.extend_from_slice(b"ab\n");
        data.extend_from_slice(&berth_shim::protocol::frame_header(2, 2));
        data.extend_from_slice(b"e\n");
        f.feed(&data[..5]);
        f.feed(&data[5..]);
        assert_eq!(f.output.text(), "ab\ne\n");
    }
}
