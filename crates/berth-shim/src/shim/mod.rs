//! The `berth-shim` binary: detach, create and start the container, report, supervise.

mod create;
mod logfile;
mod logger;
mod supervisor;
mod sys;
mod syslog;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use berth_shim::protocol::{
    FailureKind, LaunchResult, INIT_PID_FILE, SHIM_LOG_FILE, SHIM_PID_FILE, SOCKET_FILE,
};
use berth_shim::ShimOptions;

use create::{BundleInfo, Failure};
use logger::Logger;
use supervisor::Supervisor;

const USAGE: &str = "usage: berth-shim --id ID --bundle DIR --state-dir DIR [--runtime-root DIR]
       [--log-path FILE] [--log-driver json-file|none|syslog] [--log-max-size BYTES]
       [--log-max-file N] [--syslog-address URL] [--syslog-facility NAME|N]
       [--syslog-tag TAG] [--syslog-format rfc3164|rfc5424|rfc5424micro]
       [--stdin] [--stdin-once] [--no-start] [--foreground]

Creates and starts one container from the OCI bundle DIR through libcontainer, detaches,
and supervises it: json-file or syslog log, exit status (STATE_DIR/exit.json), control socket
(STATE_DIR/shim.sock). Prints one JSON line: {\"result\":\"started\",...} or
{\"result\":\"failed\",...}.";

/// Where the launch result goes: the launcher's pipe, or stdout in `--foreground`.
enum Reporter {
    Pipe(OwnedFd),
    Stdout,
}

impl Reporter {
    fn send(self, result: &LaunchResult) {
        let mut line = serde_json::to_vec(result).unwrap_or_default();
        line.push(b'\n');
        match self {
            Reporter::Pipe(fd) => {
                let _ = sys::write(fd.as_raw_fd(), &line);
            }
            Reporter::Stdout => {
                let mut out = std::io::stdout();
                let _ = out.write_all(&line);
                let _ = out.flush();
            }
        }
    }

    fn fail(self, failure: Failure) -> i32 {
        eprintln!("berth-shim: {}", failure.message);
        self.send(&LaunchResult::Failed {
            kind: failure.kind,
            message: failure.message,
        });
        1
    }
}

pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return 0;
    }
    if args.iter().any(|a| a == "--version") {
        println!("berth-shim {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let mut opts = match ShimOptions::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("berth-shim: {e}\n{USAGE}");
            return 2;
        }
    };
    // The supervisor leaves the caller's working directory: make paths absolute.
    for p in [&mut opts.bundle, &mut opts.state_dir] {
        if let Ok(abs) = std::path::absolute(&*p) {
            *p = abs;
        }
    }
    for p in [&mut opts.runtime_root, &mut opts.log_path]
        .into_iter()
        .flatten()
    {
        if let Ok(abs) = std::path::absolute(&*p) {
            *p = abs;
        }
    }
    if opts.foreground {
        return supervise(opts, Reporter::Stdout);
    }
    launch(opts)
}

/// Forks the detached supervisor and relays its launch result.
fn launch(opts: ShimOptions) -> i32 {
    let (ready_r, ready_w) = match sys::pipe() {
        Ok(p) => p,
        Err(e) => {
            return Reporter::Stdout.fail(Failure::other(format!("pipe: {e}")));
        }
    };
    match sys::fork() {
        Err(e) => Reporter::Stdout.fail(Failure::other(format!("fork: {e}"))),
        Ok(sys::Fork::Parent(child)) => {
            drop(ready_w);
            // One line, not EOF: a container created with --no-start keeps a copy of the
            // pipe until it execs.
            let text = read_line(std::fs::File::from(ready_r));
            let _ = sys::wait_pid(child);
            let result = text
                .lines()
                .find_map(|l| serde_json::from_str::<LaunchResult>(l).ok())
                .unwrap_or_else(|| LaunchResult::Failed {
                    kind: FailureKind::Other,
                    message: format!(
                        "berth-shim exited before starting the container; see {}",
                        opts.state_dir.join(SHIM_LOG_FILE).display()
                    ),
                });
            let code = matches!(result, LaunchResult::Started { .. }) as i32;
            Reporter::Stdout.send(&result);
            1 - code
        }
        Ok(sys::Fork::Child) => {
            drop(ready_r);
            // New session, then fork again so the supervisor is no session leader and
            // is reparented to init (or a subreaper) when the middle process exits.
            let _ = sys::setsid();
            match sys::fork() {
                Ok(sys::Fork::Child) => {}
                Ok(sys::Fork::Parent(_)) => sys::exit_now(0),
                Err(_) => sys::exit_now(1),
            }
            if let Err(e) = redirect_stdio(&opts) {
                return Reporter::Pipe(ready_w).fail(Failure::other(format!(
                    "preparing {}: {e}",
                    opts.state_dir.display()
                )));
            }
            supervise(opts, Reporter::Pipe(ready_w))
        }
    }
}

/// Reads up to the first newline (or EOF).
fn read_line(mut from: std::fs::File) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    while !out.contains(&b'\n') {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// stdin from /dev/null, stdout and stderr to the shim's log in the state directory, so
/// that the caller's pipes close and diagnostics survive.
fn redirect_stdio(opts: &ShimOptions) -> std::io::Result<()> {
    std::fs::create_dir_all(&opts.state_dir)?;
    let null = std::fs::File::open("/dev/null")?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(opts.state_dir.join(SHIM_LOG_FILE))?;
    sys::dup_onto(null.as_raw_fd(), 0)?;
    sys::dup_onto(log.as_raw_fd(), 1)?;
    sys::dup_onto(log.as_raw_fd(), 2)?;
    // Do not keep the caller's working directory (and its mount) busy.
    std::env::set_current_dir("/")?;
    Ok(())
}

/// Creates the container and supervises it until it has exited.
fn supervise(opts: ShimOptions, reporter: Reporter) -> i32 {
    // Orphans of the container (host PID namespace) are reaped by us.
    let _ = sys::set_child_subreaper();
    // Rust ignores SIGPIPE at startup; the container must not inherit that.
    sys::set_signal(libc::SIGPIPE, false);

    let io = |what: &str, e: std::io::Error| Failure::other(format!("{what}: {e}"));
    if let Err(e) = std::fs::create_dir_all(&opts.state_dir) {
        return reporter.fail(io("creating the state directory", e));
    }
    let _ = std::fs::write(
        opts.state_dir.join(SHIM_PID_FILE),
        std::process::id().to_string(),
    );
    let socket = opts.state_dir.join(SOCKET_FILE);
    let _ = std::fs::remove_file(&socket);
    let listener = match UnixListener::bind(&socket) {
        Ok(l) => l,
        Err(e) => return reporter.fail(io("binding the control socket", e)),
    };
    let cleanup = || {
        let _ = std::fs::remove_file(&socket);
    };

    let info = match BundleInfo::load(&opts.bundle) {
        Ok(i) => i,
        Err(f) => {
            cleanup();
            return reporter.fail(f);
        }
    };
    let log = match Logger::open(&opts) {
        Ok(l) => l,
        Err(e) => {
            cleanup();
            return reporter.fail(Failure::other(e));
        }
    };

    let created = match create::create(&opts, &info) {
        Ok(c) => c,
        Err(f) => {
            cleanup();
            return reporter.fail(f);
        }
    };
    let _ = std::fs::write(opts.state_dir.join(INIT_PID_FILE), created.pid.to_string());

    // From here on SIGCHLD arrives through the signalfd (blocked only now, so the
    // container did not inherit a blocked mask), and broken clients do not kill us.
    let sigfd = match sys::signalfd(&[libc::SIGCHLD]) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = sys::kill(created.pid, libc::SIGKILL);
            let _ = create::delete(&opts);
            cleanup();
            return reporter.fail(io("signalfd", e));
        }
    };
    sys::set_signal(libc::SIGPIPE, true);

    let supervisor = match Supervisor::new(
        opts.clone(),
        listener,
        sigfd,
        created.pid,
        created.stdio,
        log,
        info.linux.cgroups_path.clone(),
        !opts.no_start,
    ) {
        Ok(s) => s,
        Err(e) => {
            let _ = sys::kill(created.pid, libc::SIGKILL);
            let _ = create::delete(&opts);
            cleanup();
            return reporter.fail(io("setting up the supervisor", e));
        }
    };
    drop(info);
    // Creation allocated (spec parsing, seccomp); give that memory back.
    sys::trim_heap();
    reporter.send(&LaunchResult::Started {
        pid: created.pid.max(0) as u32,
        shim_pid: std::process::id(),
    });
    sys::release_clean_file_pages();
    supervisor.run()
}
