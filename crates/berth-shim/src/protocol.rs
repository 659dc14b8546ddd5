//! The shim's control protocol and on-disk files.
//!
//! ## State directory
//!
//! One directory per container (`/run/berth/<id>/` in production), owned by the shim:
//!
//! | file | content |
//! |---|---|
//! | [`SOCKET_FILE`] | control socket (unix stream), present while the shim runs |
//! | [`SHIM_PID_FILE`] | pid of the shim, written before the container starts |
//! | [`INIT_PID_FILE`] | host pid of the container's init process |
//! | [`EXIT_FILE`] | [`ExitStatus`] as JSON, written atomically when the container exits |
//! | [`SHIM_LOG_FILE`] | the shim's own diagnostics |
//!
//! ## Launch
//!
//! `berth-shim --id ID --bundle DIR --state-dir DIR [...]` forks a detached supervisor
//! (new session, reparented away from the caller) and waits until the container has
//! started or failed. It then prints one JSON line, a [`LaunchResult`], to stdout and
//! exits 0 (started) or 1 (failed). The supervisor lives on until the container exits.
//!
//! ## Control socket
//!
//! Newline-delimited JSON: the client writes one [`Request`] per line and reads one
//! [`Response`] per line, in order, on the same connection. `attach` switches the
//! connection to a raw stream after its response: container output flows to the client
//! (Docker's 8-byte multiplexed frames without a TTY, raw bytes with one) and bytes from
//! the client go to the container's stdin. `wait` answers only when the container has
//! exited. When the socket is gone the container has exited: read [`EXIT_FILE`].

use serde::{Deserialize, Serialize};

pub const SOCKET_FILE: &str = "shim.sock";
pub const SHIM_PID_FILE: &str = "shim.pid";
pub const INIT_PID_FILE: &str = "init.pid";
pub const EXIT_FILE: &str = "exit.json";
pub const SHIM_LOG_FILE: &str = "shim.log";

/// Stream ids of Docker's multiplexed attach format.
pub const STREAM_STDIN: u8 = 0;
pub const STREAM_STDOUT: u8 = 1;
pub const STREAM_STDERR: u8 = 2;

/// A request on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Current [`State`].
    State,
    /// Sends `signal` to the init process, or with `all` to every process of the
    /// container's cgroup.
    Kill {
        signal: i32,
        #[serde(default)]
        all: bool,
    },
    /// Answers with the [`ExitStatus`] once the container has exited.
    Wait,
    /// Starts a container created with `--no-start`.
    Start,
    /// Freezes / thaws the container's cgroup.
    Pause,
    Resume,
    /// Sets the TTY size of the container, or of an exec with `exec_id`.
    Resize {
        height: u16,
        width: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exec_id: Option<String>,
    },
    /// Turns the connection into a stream of the selected stdio.
    Attach {
        #[serde(default)]
        stdin: bool,
        #[serde(default = "yes")]
        stdout: bool,
        #[serde(default = "yes")]
        stderr: bool,
    },
    /// Closes the container's stdin (EOF for the process).
    CloseStdin,
    /// Runs another process in the container (`docker exec`). Unless `detach`, the
    /// connection becomes that process's stdio stream after the answer (like `attach`),
    /// and closes once the process has exited and its output is drained; its exit code
    /// is then available from [`Request::ExecState`].
    Exec(ExecRequest),
    /// State of an exec process.
    ExecState {
        exec_id: String,
    },
}

/// A process to run in a running container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExecRequest {
    /// Caller-chosen id (the engine's exec id).
    pub exec_id: String,
    pub args: Vec<String>,
    /// `KEY=value` added to the container's environment.
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Resolved user (defaults: the container's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub stdin: bool,
    /// Do not stream: stdio goes to /dev/null.
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub no_new_privileges: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u16>,
}

/// Answer to [`Request::ExecState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecState {
    pub exec_id: String,
    pub pid: u32,
    pub running: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitStatus>,
}

fn yes() -> bool {
    true
}

/// Lifecycle of the container as seen by the shim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

/// How the container's init process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// Exit code, or 128 + signal number when killed by a signal (Docker's convention).
    pub exit_code: i32,
    /// The signal that killed the process, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// The kernel's OOM killer killed a process of the container.
    #[serde(default)]
    pub oom_killed: bool,
    /// RFC 3339 time with nanoseconds, UTC.
    pub finished_at: String,
}

/// Answer to [`Request::State`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub status: Status,
    /// Host pid of the init process (0 before creation).
    pub pid: u32,
    pub shim_pid: u32,
    pub tty: bool,
    /// The container has an open stdin that `attach` can write to.
    pub stdin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitStatus>,
}

/// One line of answer on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitStatus>,
    /// Pid of a process just started by `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecState>,
}

impl Response {
    pub fn ok() -> Self {
        Response {
            ok: true,
            ..Default::default()
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(message.into()),
            ..Default::default()
        }
    }
}

/// Why a container could not be started, classified for Docker's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The command does not exist (`docker run` exits 127).
    NotFound,
    /// The command exists but cannot be executed (126).
    PermissionDenied,
    /// The working directory is not usable (126 in Docker, an OCI error).
    BadWorkdir,
    /// Anything else (125).
    Other,
}

/// What the launching `berth-shim` process prints on stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum LaunchResult {
    Started {
        pid: u32,
        shim_pid: u32,
    },
    Failed {
        kind: FailureKind,
        /// Docker-style message, e.g. `exec: "foo": executable file not found in $PATH`.
        message: String,
    },
}

/// Docker's multiplexed-stream header for a frame of `len` bytes on `stream`.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let n = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_json() {
        let r: Request = serde_json::from_str(r#"{"op":"kill","signal":15}"#).unwrap();
        assert_eq!(
            r,
            Request::Kill {
                signal: 15,
                all: false
            }
        );
        let r: Request = serde_json::from_str(r#"{"op":"attach","stdin":true}"#).unwrap();
        assert_eq!(
            r,
            Request::Attach {
                stdin: true,
                stdout: true,
                stderr: true
            }
        );
        assert_eq!(
            serde_json::to_string(&Request::State).unwrap(),
            r#"{"op":"state"}"#
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"dance"}"#).is_err());
    }

    #[test]
    fn launch_result_shape() {
        let s = serde_json::to_string(&LaunchResult::Failed {
            kind: FailureKind::NotFound,
            message: "x".into(),
        })
        .unwrap();
        assert_eq!(s, r#"{"result":"failed","kind":"not_found","message":"x"}"#);
    }

    #[test]
    fn frame_header_is_big_endian() {
        assert_eq!(frame_header(2, 0x0102), [2, 0, 0, 0, 0, 0, 1, 2]);
    }
}
