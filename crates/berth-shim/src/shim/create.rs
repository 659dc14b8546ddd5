//! Creating and starting the container through libcontainer, with the stdio the
//! supervisor keeps: pipes, or a pty whose master libcontainer sends over a console socket.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_shim::protocol::FailureKind;
use berth_shim::ShimOptions;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::syscall::syscall::SyscallType;
use serde::Deserialize;

use super::sys;

/// The few fields of `config.json` the shim itself needs.
#[derive(Debug, Default, Deserialize)]
pub struct BundleInfo {
    #[serde(default)]
    pub process: ProcessInfo,
    #[serde(default)]
    pub linux: LinuxInfo,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProcessInfo {
    #[serde(default)]
    pub terminal: bool,
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxInfo {
    #[serde(default)]
    pub cgroups_path: Option<String>,
}

impl BundleInfo {
    pub fn load(bundle: &Path) -> Result<Self, Failure> {
        let path = bundle.join("config.json");
        let file = File::open(&path)
            .map_err(|e| Failure::other(format!("reading {}: {e}", path.display())))?;
        serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| Failure::other(format!("parsing {}: {e}", path.display())))
    }
}

/// A start failure, classified for Docker's exit codes.
#[derive(Debug)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn other(message: impl Into<String>) -> Self {
        Failure {
            kind: FailureKind::Other,
            message: message.into(),
        }
    }
}

/// The error and all its causes, `a: b: c`.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

/// Maps libcontainer's messages to Docker's (`exec: "x": executable file not found in $PATH`).
fn classify(message: String, argv0: &str) -> Failure {
    if message.contains("not found in $PATH") || message.contains("No such file or directory")
    {
        Failure {
            kind: FailureKind::NotFound,
            message: format!("exec: \"{argv0}\": executable file not found in $PATH"),
        }
    } else if message.contains("does not have correct permissions")
        || message.contains("Permission denied")
    {
        Failure {
            kind: FailureKind::PermissionDenied,
            message: format!("exec: \"{argv0}\": permission denied"),
        }
    } else if message.contains("chdir") || message.contains("cwd") {
        Failure {
            kind: FailureKind::BadWorkdir,
            message: format!("unable to start container process: {message}"),
        }
    } else {
        Failure::other(message)
    }
}

/// The supervisor's side of the container's stdio.
pub enum Stdio {
    Pipes {
        stdout: OwnedFd,
        stderr: OwnedFd,
        /// Write end of the container's stdin, with `--stdin`.
        stdin: Option<OwnedFd>,
    },
    Tty {
        master: OwnedFd,
    },
}

/// A created (and maybe started) container.
pub struct Created {
    pub pid: i32,
    pub stdio: Stdio,
}

fn dev_null(write: bool) -> Result<OwnedFd, Failure> {
    std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| Failure::other(format!("opening /dev/null: {e}")))
}

/// Creates the container (and starts it unless `--no-start`).
pub fn create(opts: &ShimOptions, info: &BundleInfo) -> Result<Created, Failure> {
    let io = |what: &str, e: std::io::Error| Failure::other(format!("{what}: {e}"));
    let argv0 = info.process.args.first().cloned().unwrap_or_default();
    let root = opts.runtime_root();
    std::fs::create_dir_all(&root).map_err(|e| io("creating runtime root", e))?;

    let mut builder = ContainerBuilder::new(opts.id.clone(), SyscallType::default())
        .with_root_path(root)
        .map_err(|e| Failure::other(chain(&e)))?;

    let console_path: PathBuf = opts.state_dir.join("console.sock");
    let mut console: Option<UnixListener> = None;
    let mut ours_out = None;
    let mut ours_err = None;
    let mut ours_in = None;
    if info.process.terminal {
        let _ = std::fs::remove_file(&console_path);
        let listener =
            UnixListener::bind(&console_path).map_err(|e| io("binding console socket", e))?;
        builder = builder.with_console_socket(Some(&console_path));
        console = Some(listener);
    } else {
        let (out_r, out_w) = sys::pipe().map_err(|e| io("pipe", e))?;
        let (err_r, err_w) = sys::pipe().map_err(|e| io("pipe", e))?;
        let stdin = if opts.stdin {
            let (in_r, in_w) = sys::pipe().map_err(|e| io("pipe", e))?;
            ours_in = Some(in_w);
            in_r
        } else {
            dev_null(false)?
        };
        builder = builder
            .with_stdin(stdin)
            .with_stdout(out_w)
            .with_stderr(err_w);
        ours_out = Some(out_r);
        ours_err = Some(err_r);
    }

    let mut container = builder
        .as_init(&opts.bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| classify(chain(&e), &argv0))?;
    let pid = container.pid().map(|p| p.as_raw()).unwrap_or(0);

    let stdio = match console {
        Some(listener) => {
            let master = receive_master(&listener);
            drop(listener);
            let _ = std::fs::remove_file(&console_path);
            match master {
                Ok(master) => Stdio::Tty { master },
                Err(e) => {
                    let _ = container.delete(true);
                    return Err(io("receiving the pty master", e));
                }
            }
        }
        None => Stdio::Pipes {
            stdout: ours_out.expect("pipes exist without a terminal"),
            stderr: ours_err.expect("pipes exist without a terminal"),
            stdin: ours_in,
        },
    };

    if !opts.no_start {
        if let Err(e) = container.start() {
            let msg = chain(&e);
            let _ = container.delete(true);
            return Err(classify(msg, &argv0));
        }
    }
    Ok(Created { pid, stdio })
}

/// Waits (bounded) for libcontainer's init to send the pty master.
fn receive_master(listener: &UnixListener) -> std::io::Result<OwnedFd> {
    let mut fds = [libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    if sys::poll(&mut fds, Duration::from_secs(10).as_millis() as i32)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no connection on the console socket",
        ));
    }
    let (stream, _) = listener.accept()?;
    sys::recv_fd(stream.as_raw_fd())
}

/// Loads libcontainer's record of the container.
pub fn load(opts: &ShimOptions) -> Result<Container, String> {
    Container::load(opts.runtime_root().join(&opts.id)).map_err(|e| chain(&e))
}

/// Starts a container created with `--no-start`.
pub fn start(opts: &ShimOptions) -> Result<(), String> {
    load(opts)?.start().map_err(|e| chain(&e))
}

/// Signals every process of the container (`kill --all`).
pub fn kill_all(opts: &ShimOptions, signal: i32) -> Result<(), String> {
    let sig = libcontainer::signal::Signal::try_from(signal).map_err(|e| e.to_string())?;
    load(opts)?.kill(sig, true).map_err(|e| chain(&e))
}

pub fn pause(opts: &ShimOptions) -> Result<(), String> {
    load(opts)?.pause().map_err(|e| chain(&e))
}

pub fn resume(opts: &ShimOptions) -> Result<(), String> {
    load(opts)?.resume().map_err(|e| chain(&e))
}

/// Removes the container's cgroups and libcontainer state (killing leftovers).
pub fn delete(opts: &ShimOptions) -> Result<(), String> {
    match load(opts) {
        Ok(mut c) => c.delete(true).map_err(|e| chain(&e)),
        Err(e) => {
            let dir = opts.runtime_root().join(&opts.id);
            if dir.exists() {
                Err(e)
            } else {
                Ok(())
            }
        }
    }
}
