//! Creating and starting the container through libcontainer, with the stdio the
//! supervisor keeps: pipes, or a pty whose master libcontainer sends over a console socket.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_shim::protocol::{ExecRequest, FailureKind};
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
    if message.contains("not found in $PATH") || message.contains("No such file or directory") {
        // Docker's wording: a path is stat'ed, a bare name is looked up in $PATH.
        let message = if argv0.contains('/') {
            format!("exec: \"{argv0}\": stat {argv0}: no such file or directory")
        } else {
            format!("exec: \"{argv0}\": executable file not found in $PATH")
        };
        Failure {
            kind: FailureKind::NotFound,
            message,
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
    /// Detached exec: everything on /dev/null.
    Null,
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

/// Stdio being prepared for a process libcontainer is about to create.
struct PendingStdio {
    console: Option<(UnixListener, PathBuf)>,
    ours: Option<(OwnedFd, OwnedFd, Option<OwnedFd>)>,
}

impl PendingStdio {
    /// Wires `builder` for a terminal (console socket at `console_path`), pipes, or
    /// /dev/null everywhere (`null`).
    fn prepare(
        mut builder: ContainerBuilder,
        tty: bool,
        stdin: bool,
        null: bool,
        console_path: &Path,
    ) -> Result<(ContainerBuilder, Self), Failure> {
        let io = |what: &str, e: std::io::Error| Failure::other(format!("{what}: {e}"));
        if null {
            builder = builder
                .with_stdin(dev_null(false)?)
                .with_stdout(dev_null(true)?)
                .with_stderr(dev_null(true)?);
            return Ok((
                builder,
                PendingStdio {
                    console: None,
                    ours: None,
                },
            ));
        }
        if tty {
            let _ = std::fs::remove_file(console_path);
            let listener =
                UnixListener::bind(console_path).map_err(|e| io("binding console socket", e))?;
            builder = builder.with_console_socket(Some(console_path));
            return Ok((
                builder,
                PendingStdio {
                    console: Some((listener, console_path.to_path_buf())),
                    ours: None,
                },
            ));
        }
        let (out_r, out_w) = sys::pipe().map_err(|e| io("pipe", e))?;
        let (err_r, err_w) = sys::pipe().map_err(|e| io("pipe", e))?;
        let (child_in, our_in) = if stdin {
            let (in_r, in_w) = sys::pipe().map_err(|e| io("pipe", e))?;
            (in_r, Some(in_w))
        } else {
            (dev_null(false)?, None)
        };
        builder = builder
            .with_stdin(child_in)
            .with_stdout(out_w)
            .with_stderr(err_w);
        Ok((
            builder,
            PendingStdio {
                console: None,
                ours: Some((out_r, err_r, our_in)),
            },
        ))
    }

    /// After the process exists: our ends of its stdio.
    fn finish(self) -> std::io::Result<Stdio> {
        if let Some((listener, path)) = self.console {
            let master = receive_master(&listener);
            drop(listener);
            let _ = std::fs::remove_file(&path);
            return master.map(|master| Stdio::Tty { master });
        }
        Ok(match self.ours {
            Some((stdout, stderr, stdin)) => Stdio::Pipes {
                stdout,
                stderr,
                stdin,
            },
            None => Stdio::Null,
        })
    }

    fn abandon(self) {
        if let Some((_, path)) = self.console {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn base_builder(opts: &ShimOptions) -> Result<ContainerBuilder, Failure> {
    let root = opts.runtime_root();
    std::fs::create_dir_all(&root)
        .map_err(|e| Failure::other(format!("creating runtime root: {e}")))?;
    ContainerBuilder::new(opts.id.clone(), SyscallType::default())
        .with_root_path(root)
        .map_err(|e| Failure::other(chain(&e)))
}

/// Creates the container (and starts it unless `--no-start`).
pub fn create(opts: &ShimOptions, info: &BundleInfo) -> Result<Created, Failure> {
    let argv0 = info.process.args.first().cloned().unwrap_or_default();
    let (builder, pending) = PendingStdio::prepare(
        base_builder(opts)?,
        info.process.terminal,
        opts.stdin,
        false,
        &opts.state_dir.join("console.sock"),
    )?;
    let built = builder
        .as_init(&opts.bundle)
        .with_systemd(false)
        .with_detach(true)
        .build();
    let mut container = match built {
        Ok(c) => c,
        Err(e) => {
            pending.abandon();
            remove_leftover_cgroups(info.linux.cgroups_path.as_deref());
            return Err(classify(chain(&e), &argv0));
        }
    };
    let pid = container.pid().map(|p| p.as_raw()).unwrap_or(0);
    let stdio = match pending.finish() {
        Ok(s) => s,
        Err(e) => {
            let _ = container.delete(true);
            return Err(Failure::other(format!("receiving the pty master: {e}")));
        }
    };
    if !opts.no_start {
        if let Err(e) = container.start() {
            let msg = chain(&e);
            let _ = container.delete(true);
            remove_leftover_cgroups(info.linux.cgroups_path.as_deref());
            return Err(classify(msg, &argv0));
        }
    }
    Ok(Created { pid, stdio })
}

/// After a failed create or start, removes the container's cgroup directories that
/// libcontainer's own clean-up left: it gives up when the last process is still exiting
/// (rmdir fails with EBUSY), which a loaded host makes likely. Polls with a deadline; a
/// directory the kernel lets go of is empty by definition, so nothing live is removed.
fn remove_leftover_cgroups(cgroups_path: Option<&str>) {
    let Some(relative) = cgroups_path
        .map(|p| p.trim_start_matches('/'))
        .filter(|p| !p.is_empty())
    else {
        return;
    };
    let base = std::path::Path::new("/sys/fs/cgroup");
    let mut roots: Vec<std::path::PathBuf> = std::fs::read_dir(base)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    roots.push(base.to_path_buf());
    let mut left: Vec<std::path::PathBuf> = roots
        .into_iter()
        .filter(|root| root.join("cgroup.procs").exists())
        .map(|root| root.join(relative))
        .filter(|dir| dir.exists())
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !left.is_empty() && std::time::Instant::now() < deadline {
        left.retain(|dir| std::fs::remove_dir(dir).is_err() && dir.exists());
        if !left.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// `KEY=value` overrides applied to a base environment (replace in place or append).
fn merge_env(base: &[String], overrides: &[String]) -> Vec<String> {
    let key = |e: &str| {
        e.split_once('=')
            .map(|(k, _)| k.to_string())
            .unwrap_or_else(|| e.to_string())
    };
    let mut out: Vec<String> = base.to_vec();
    for o in overrides {
        let k = key(o);
        match out.iter().position(|e| key(e) == k) {
            Some(i) => out[i] = o.clone(),
            None => out.push(o.clone()),
        }
    }
    out
}

/// Starts an exec process in the running container. `seq` makes file names unique.
pub fn exec(opts: &ShimOptions, req: &ExecRequest, seq: u64) -> Result<Created, Failure> {
    use libcontainer::oci_spec::runtime::{BoxBuilder, Spec};
    let argv0 = req.args.first().cloned().unwrap_or_default();
    if req.args.is_empty() {
        return Err(Failure::other("exec needs a command"));
    }
    // The exec's process: the container's, with the request's changes (as runc exec).
    let spec =
        Spec::load(opts.bundle.join("config.json")).map_err(|e| Failure::other(chain(&e)))?;
    let mut process = spec
        .process()
        .clone()
        .ok_or_else(|| Failure::other("the bundle has no process"))?;
    drop(spec);
    process.set_args(Some(req.args.clone()));
    let env = merge_env(process.env().as_deref().unwrap_or(&[]), &req.env);
    process.set_env(Some(env));
    if let Some(cwd) = &req.cwd {
        process.set_cwd(PathBuf::from(cwd));
    }
    if let Some(uid) = req.uid {
        process.user_mut().set_uid(uid);
    }
    if let Some(gid) = req.gid {
        process.user_mut().set_gid(gid);
    }
    if req.uid.is_some() || req.gid.is_some() || !req.additional_gids.is_empty() {
        process
            .user_mut()
            .set_additional_gids(Some(req.additional_gids.clone()));
    }
    process.set_terminal(Some(req.tty && !req.detach));
    if let (Some(h), Some(w), true) = (req.height, req.width, req.tty) {
        if let Ok(size) = BoxBuilder::default()
            .height(h as u64)
            .width(w as u64)
            .build()
        {
            process.set_console_size(Some(size));
        }
    }
    if req.no_new_privileges {
        process.set_no_new_privileges(Some(true));
    }
    let process_path = opts.state_dir.join(format!("exec-{seq}.json"));
    let data = serde_json::to_vec(&process).map_err(|e| Failure::other(e.to_string()))?;
    std::fs::write(&process_path, data)
        .map_err(|e| Failure::other(format!("writing {}: {e}", process_path.display())))?;

    let (builder, pending) = PendingStdio::prepare(
        base_builder(opts)?,
        req.tty,
        req.stdin,
        req.detach,
        &opts.state_dir.join(format!("exec-{seq}.sock")),
    )?;
    let built = builder
        .as_tenant()
        .with_process(Some(&process_path))
        .with_detach(true)
        .build();
    let _ = std::fs::remove_file(&process_path);
    let pid = match built {
        Ok(pid) => pid.as_raw(),
        Err(e) => {
            pending.abandon();
            return Err(classify(chain(&e), &argv0));
        }
    };
    match pending.finish() {
        Ok(stdio) => Ok(Created { pid, stdio }),
        Err(e) => {
            let _ = sys::kill(pid, libc::SIGKILL);
            Err(Failure::other(format!("receiving the pty master: {e}")))
        }
    }
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
