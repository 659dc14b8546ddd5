//! Helpers for the exec and introspection end-to-end tests (`exec`, `stats`, `cp`, `top`,
//! `update`, ...): a running container per client, sizes as `docker stats` prints them,
//! resizing the terminal a client runs on, and a container's cgroup values on cgroup v1
//! or v2 hosts.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use crate::containers::{Client, TestDaemon, SETTLE};

/// Starts `busybox` detached under `name` running `command` (default: a long sleep) and
/// waits until it runs. Returns the container's full ID.
pub fn start_container(c: &Client<'_>, name: &str, command: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name, "busybox"];
    if command.is_empty() {
        args.extend_from_slice(&["sleep", "600"]);
    } else {
        args.extend_from_slice(command);
    }
    c.ok(&args);
    c.daemon.wait_running(name);
    c.daemon.id_of(name)
}

/// A size as `docker stats` prints memory (`976KiB`, `20.5MiB`, `1.2GiB`, `0B`) or
/// transfers (`1.5kB`, `2MB`), in bytes.
pub fn parse_size(text: &str) -> f64 {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '+'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .unwrap_or_else(|e| panic!("size {text:?}: {e}"));
    let factor = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0f64.powi(4),
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        other => panic!("unknown unit {other:?} in {text:?}"),
    };
    number * factor
}

/// The processes (not this test binary) whose command line contains `needle`, including
/// the `berth`/`docker` clients (which [`crate::containers::processes_mentioning`] skips).
pub fn client_pids(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| *pid != me)
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
                        .is_ok_and(|cmdline| cmdline.contains(needle))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Sets the size of the terminal on the standard input of the process whose command line
/// contains `needle`, as a user resizing their window does (the kernel then signals
/// `SIGWINCH` to the terminal's foreground processes). Returns false when no such
/// process is found.
pub fn resize_terminal_of(needle: &str, rows: u16, cols: u16) -> bool {
    let Some(pid) = client_pids(needle).into_iter().next() else {
        return false;
    };
    let Some(tty) = open_terminal_of(pid) else {
        return false;
    };
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer; `tty` is an open terminal.
    unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, &size) == 0 }
}

/// The terminal on a process's standard input, opened again (never as our controlling
/// terminal).
fn open_terminal_of(pid: i32) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(format!("/proc/{pid}/fd/0"))
        .ok()
}

/// Bytes typed on the terminal of the process whose command line contains `needle` that
/// it has not read yet (`None` when there is no such process). A test typing a key
/// sequence one key per read waits for this to reach 0 between keys.
pub fn unread_input_of(needle: &str) -> Option<i32> {
    let pid = client_pids(needle).into_iter().next()?;
    let tty = open_terminal_of(pid)?;
    let mut pending: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer; `tty` is an open terminal.
    let rc = unsafe { libc::ioctl(tty.as_raw_fd(), libc::FIONREAD, &mut pending) };
    (rc == 0).then_some(pending)
}

/// The read system calls made so far by the process whose command line contains
/// `needle` (`syscr` of `/proc/<pid>/io`).
pub fn reads_of(needle: &str) -> Option<u64> {
    let pid = client_pids(needle).into_iter().next()?;
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("syscr:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Types one key on a terminal and waits until the process whose command line contains
/// `needle` has read it, so that the next key arrives in a read of its own (docker's
/// escape proxy treats several keys in one read as a paste).
pub fn type_key(pty: &mut crate::containers::Pty, needle: &str, key: &str) {
    let before = reads_of(needle);
    pty.send(key);
    let read = crate::wait_for(SETTLE, || {
        reads_of(needle) > before && unread_input_of(needle) == Some(0)
    });
    assert!(read, "the client did not read {key:?}:\n{}", pty.output());
}

/// Whether this host runs the unified cgroup v2 hierarchy.
pub fn cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// A file of the container's cgroup: `v1` (`controller`, `file`) on a v1 host, `v2`
/// (`file`) on a v2 host; trimmed.
pub fn cgroup_value(id: &str, v1: (&str, &str), v2: &str) -> String {
    let path = if cgroup_v2() {
        Path::new("/sys/fs/cgroup/berth").join(id).join(v2)
    } else {
        Path::new("/sys/fs/cgroup")
            .join(v1.0)
            .join("berth")
            .join(id)
            .join(v1.1)
    };
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Polls `check` until it holds (up to [`SETTLE`]); panics with `what` and the daemon log.
pub fn eventually(d: &TestDaemon, what: &str, mut check: impl FnMut() -> bool) {
    assert!(
        crate::wait_for(SETTLE, &mut check),
        "{what} did not happen within {SETTLE:?}\n{}",
        d.log_tail()
    );
}

/// Like [`eventually`] with an explicit deadline.
pub fn eventually_within(
    d: &TestDaemon,
    what: &str,
    deadline: Duration,
    check: impl FnMut() -> bool,
) {
    assert!(
        crate::wait_for(deadline, check),
        "{what} did not happen within {deadline:?}\n{}",
        d.log_tail()
    );
}
