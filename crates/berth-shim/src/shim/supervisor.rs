//! The supervisor loop: one thread, one `poll`, over the container's output, its stdin,
//! the control socket and its clients, and a signalfd for SIGCHLD.
//!
//! Output is logged (json-file) and copied to attached clients as it arrives. When the
//! init process is reaped, the remaining output is drained (until EOF, at most
//! [`DRAIN_TIMEOUT`]), the exit is recorded atomically, libcontainer's state and
//! cgroups are deleted, `wait` callers are answered, and the supervisor exits.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use berth_shim::protocol::{
    frame_header, ExitStatus, Request, Response, State, Status, EXIT_FILE, SOCKET_FILE,
    STREAM_STDERR, STREAM_STDOUT,
};
use berth_shim::ShimOptions;

use super::create::{self, Stdio};
use super::logfile::{rfc3339_nano, JsonLog, Stream};
use super::sys;

/// How long output is drained after the init process exited.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// A client whose unsent output grows beyond this is disconnected.
const MAX_CLIENT_BACKLOG: usize = 4 << 20;
/// Input for the container's stdin buffered at most (then clients are not read).
const MAX_STDIN_BACKLOG: usize = 1 << 20;
const READ_CHUNK: usize = 32 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Request/response lines.
    Control,
    /// Waiting for the exit; further requests wait too.
    Waiting,
    /// Raw stdio stream.
    Attached {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
}

struct Conn {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    mode: Mode,
    /// The client shut its writing side (or disconnected).
    read_closed: bool,
    dead: bool,
}

impl Conn {
    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    fn respond(&mut self, r: &Response) {
        if let Ok(mut line) = serde_json::to_vec(r) {
            line.push(b'\n');
            self.outbuf.extend_from_slice(&line);
        }
    }
}

/// Everything the supervisor owns.
pub struct Supervisor {
    opts: ShimOptions,
    shim_pid: u32,
    init_pid: i32,
    status: Status,
    started_at: Option<String>,
    exit: Option<ExitStatus>,
    exited_at: Option<Instant>,
    tty: bool,
    /// Container stdout (or the pty master).
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    /// Where attached input goes: stdin pipe, or a duplicate of the pty master.
    stdin: Option<OwnedFd>,
    stdin_buf: Vec<u8>,
    log: Option<JsonLog>,
    listener: UnixListener,
    conns: Vec<Conn>,
    sigfd: OwnedFd,
    cgroup_path: Option<String>,
}

#[derive(Clone, Copy)]
enum Src {
    Signal,
    Listener,
    Out,
    Err,
    Stdin,
    Conn(usize),
}

fn log_err(what: &str, e: impl std::fmt::Display) {
    eprintln!("{} berth-shim: {what}: {e}", rfc3339_nano(SystemTime::now()));
}

impl Supervisor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        opts: ShimOptions,
        listener: UnixListener,
        sigfd: OwnedFd,
        init_pid: i32,
        stdio: Stdio,
        log: Option<JsonLog>,
        cgroup_path: Option<String>,
        started: bool,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let (tty, out, err, stdin) = match stdio {
            Stdio::Pipes {
                stdout,
                stderr,
                stdin,
            } => (false, Some(stdout), Some(stderr), stdin),
            Stdio::Tty { master } => {
                let input = if opts.stdin {
                    Some(master.try_clone()?)
                } else {
                    None
                };
                (true, Some(master), None, input)
            }
        };
        for fd in [&out, &err, &stdin].into_iter().flatten() {
            sys::set_nonblocking(fd.as_raw_fd())?;
        }
        Ok(Supervisor {
            opts,
            shim_pid: std::process::id(),
            init_pid,
            status: if started {
                Status::Running
            } else {
                Status::Created
            },
            started_at: started.then(|| rfc3339_nano(SystemTime::now())),
            exit: None,
            exited_at: None,
            tty,
            out,
            err,
            stdin,
            stdin_buf: Vec::new(),
            log,
            listener,
            conns: Vec::new(),
            sigfd,
            cgroup_path,
        })
    }

    /// Runs until the container has exited and everything is recorded.
    pub fn run(mut self) -> i32 {
        // Exits that happened before the signalfd existed are still waiting as zombies.
        self.reap();
        loop {
            if let Some(at) = self.exited_at {
                let drained = self.out.is_none() && self.err.is_none();
                if drained || at.elapsed() >= DRAIN_TIMEOUT {
                    break;
                }
            }
            let (mut fds, srcs) = self.poll_set();
            let timeout = match self.exited_at {
                Some(at) => DRAIN_TIMEOUT
                    .saturating_sub(at.elapsed())
                    .as_millis()
                    .max(1) as i32,
                None => -1,
            };
            if let Err(e) = sys::poll(&mut fds, timeout) {
                log_err("poll", e);
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            for (pfd, src) in fds.iter().zip(srcs.iter()) {
                if pfd.revents != 0 {
                    self.handle(*src, pfd.revents);
                }
            }
            self.conns.retain(|c| !c.dead);
        }
        self.finish()
    }

    fn poll_set(&self) -> (Vec<libc::pollfd>, Vec<Src>) {
        let mut fds = Vec::with_capacity(6 + self.conns.len());
        let mut srcs = Vec::with_capacity(fds.capacity());
        let mut add = |fd: RawFd, events: i16, src: Src| {
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            srcs.push(src);
        };
        add(self.sigfd.as_raw_fd(), libc::POLLIN, Src::Signal);
        if self.exit.is_none() {
            add(self.listener.as_raw_fd(), libc::POLLIN, Src::Listener);
        }
        if let Some(fd) = &self.out {
            add(fd.as_raw_fd(), libc::POLLIN, Src::Out);
        }
        if let Some(fd) = &self.err {
            add(fd.as_raw_fd(), libc::POLLIN, Src::Err);
        }
        if let (Some(fd), false) = (&self.stdin, self.stdin_buf.is_empty()) {
            add(fd.as_raw_fd(), libc::POLLOUT, Src::Stdin);
        }
        let stdin_full = self.stdin_buf.len() >= MAX_STDIN_BACKLOG;
        for (i, c) in self.conns.iter().enumerate() {
            let mut ev = 0;
            let wants_input = match c.mode {
                Mode::Attached { stdin, .. } => !stdin_full || !stdin,
                _ => true,
            };
            if !c.read_closed && wants_input {
                ev |= libc::POLLIN;
            }
            if !c.outbuf.is_empty() {
                ev |= libc::POLLOUT;
            }
            add(c.fd(), ev, Src::Conn(i));
        }
        (fds, srcs)
    }

    fn handle(&mut self, src: Src, revents: i16) {
        match src {
            Src::Signal => {
                let _ = sys::read_signals(&self.sigfd);
                self.reap();
            }
            Src::Listener => self.accept(),
            Src::Out => self.pump(Stream::Stdout),
            Src::Err => self.pump(Stream::Stderr),
            Src::Stdin => self.flush_stdin(),
            Src::Conn(i) => {
                if revents & libc::POLLOUT != 0 {
                    self.flush_conn(i);
                }
                if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                    self.read_conn(i);
                }
            }
        }
    }

    fn reap(&mut self) {
        while let Some((pid, exit)) = sys::reap_any() {
            if pid != self.init_pid || self.exit.is_some() {
                continue;
            }
            let (exit_code, signal) = match exit {
                sys::Exit::Code(c) => (c, None),
                sys::Exit::Signal(s) => (128 + s, Some(s)),
            };
            self.exit = Some(ExitStatus {
                exit_code,
                signal,
                oom_killed: false,
                finished_at: rfc3339_nano(SystemTime::now()),
            });
            self.status = Status::Stopped;
            self.exited_at = Some(Instant::now());
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    self.conns.push(Conn {
                        stream,
                        inbuf: Vec::new(),
                        outbuf: Vec::new(),
                        mode: Mode::Control,
                        read_closed: false,
                        dead: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log_err("accept", e);
                    return;
                }
            }
        }
    }

    /// Reads container output: log it, copy it to attached clients.
    fn pump(&mut self, stream: Stream) {
        let slot = match stream {
            Stream::Stdout => &mut self.out,
            Stream::Stderr => &mut self.err,
        };
        let Some(fd) = slot.as_ref() else { return };
        let mut buf = vec![0u8; READ_CHUNK];
        let n = match sys::read(fd.as_raw_fd(), &mut buf) {
            Ok(0) => {
                *slot = None;
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            // A pty master reports EIO once the last slave is closed: that is EOF.
            Err(_) => {
                *slot = None;
                return;
            }
        };
        let data = &buf[..n];
        if let Some(log) = self.log.as_mut() {
            if let Err(e) = log.write(stream, data) {
                log_err("writing the log", e);
            }
        }
        let id = match stream {
            Stream::Stdout => STREAM_STDOUT,
            Stream::Stderr => STREAM_STDERR,
        };
        for c in self.conns.iter_mut() {
            if let Mode::Attached { stdout, stderr, .. } = c.mode {
                let wanted = if stream == Stream::Stdout {
                    stdout
                } else {
                    stderr
                };
                if !wanted || c.dead {
                    continue;
                }
                if !self.tty {
                    c.outbuf.extend_from_slice(&frame_header(id, n));
                }
                c.outbuf.extend_from_slice(data);
                if c.outbuf.len() > MAX_CLIENT_BACKLOG {
                    c.dead = true;
                }
            }
        }
        for i in 0..self.conns.len() {
            self.flush_conn(i);
        }
    }

    fn flush_stdin(&mut self) {
        let Some(fd) = &self.stdin else {
            self.stdin_buf.clear();
            return;
        };
        while !self.stdin_buf.is_empty() {
            match sys::write(fd.as_raw_fd(), &self.stdin_buf) {
                Ok(n) => {
                    self.stdin_buf.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    // The container closed its stdin: nothing more can be delivered.
                    self.stdin = None;
                    self.stdin_buf.clear();
                    return;
                }
            }
        }
    }

    fn close_stdin(&mut self) {
        self.flush_stdin();
        if !self.tty {
            // Pending bytes are dropped with the pipe: the process sees EOF now.
            self.stdin = None;
            self.stdin_buf.clear();
        }
    }

    fn flush_conn(&mut self, i: usize) {
        let c = &mut self.conns[i];
        while !c.outbuf.is_empty() && !c.dead {
            match sys::send(c.fd(), &c.outbuf) {
                Ok(n) => {
                    c.outbuf.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => c.dead = true,
            }
        }
        if c.outbuf.is_empty() && c.read_closed && c.mode == Mode::Control {
            c.dead = true;
        }
    }

    fn read_conn(&mut self, i: usize) {
        let mut buf = vec![0u8; READ_CHUNK];
        let n = match sys::read(self.conns[i].fd(), &mut buf) {
            Ok(n) if n > 0 => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            _ => {
                let c = &mut self.conns[i];
                c.read_closed = true;
                if let Mode::Attached { stdin: true, .. } = c.mode {
                    if self.opts.stdin_once {
                        self.close_stdin();
                    }
                }
                let c = &mut self.conns[i];
                if c.mode == Mode::Control && c.outbuf.is_empty() {
                    c.dead = true;
                }
                return;
            }
        };
        match self.conns[i].mode {
            Mode::Attached { stdin, .. } => {
                if stdin && self.stdin.is_some() {
                    self.stdin_buf.extend_from_slice(&buf[..n]);
                    self.flush_stdin();
                }
            }
            _ => {
                self.conns[i].inbuf.extend_from_slice(&buf[..n]);
                self.process_lines(i);
            }
        }
    }

    fn process_lines(&mut self, i: usize) {
        loop {
            if self.conns[i].mode != Mode::Control {
                return;
            }
            let Some(pos) = self.conns[i].inbuf.iter().position(|b| *b == b'\n') else {
                if self.conns[i].inbuf.len() > 1 << 20 {
                    self.conns[i].dead = true;
                }
                return;
            };
            let line: Vec<u8> = self.conns[i].inbuf.drain(..=pos).collect();
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let response = match serde_json::from_slice::<Request>(&line) {
                Ok(req) => self.request(i, req),
                Err(e) => Some(Response::error(format!("invalid request: {e}"))),
            };
            if let Some(r) = response {
                self.conns[i].respond(&r);
            }
            if let Mode::Attached { stdin, .. } = self.conns[i].mode {
                // Bytes after the attach line already belong to the stream.
                let rest = std::mem::take(&mut self.conns[i].inbuf);
                if stdin && self.stdin.is_some() && !rest.is_empty() {
                    self.stdin_buf.extend_from_slice(&rest);
                    self.flush_stdin();
                }
            }
            self.flush_conn(i);
        }
    }

    fn state(&self) -> State {
        State {
            id: self.opts.id.clone(),
            status: self.status,
            pid: self.init_pid.max(0) as u32,
            shim_pid: self.shim_pid,
            tty: self.tty,
            stdin: self.stdin.is_some(),
            started_at: self.started_at.clone(),
            exit: self.exit.clone(),
        }
    }

    fn request(&mut self, i: usize, req: Request) -> Option<Response> {
        let running = self.exit.is_none();
        let not_running = || Response::error("container is not running");
        Some(match req {
            Request::State => Response {
                ok: true,
                state: Some(self.state()),
                ..Default::default()
            },
            Request::Wait => {
                if let Some(exit) = &self.exit {
                    Response {
                        ok: true,
                        exit: Some(exit.clone()),
                        ..Default::default()
                    }
                } else {
                    self.conns[i].mode = Mode::Waiting;
                    return None;
                }
            }
            Request::Kill { signal, all } => {
                if !running {
                    not_running()
                } else if all {
                    match create::kill_all(&self.opts, signal) {
                        Ok(()) => Response::ok(),
                        Err(e) => Response::error(e),
                    }
                } else {
                    // The init process is our unreaped child: its pid cannot be reused.
                    match sys::kill(self.init_pid, signal) {
                        Ok(()) => Response::ok(),
                        Err(e) => Response::error(format!("kill: {e}")),
                    }
                }
            }
            Request::Start => {
                if self.status != Status::Created {
                    Response::error("container is not in created state")
                } else {
                    match create::start(&self.opts) {
                        Ok(()) => {
                            self.status = Status::Running;
                            self.started_at = Some(rfc3339_nano(SystemTime::now()));
                            Response::ok()
                        }
                        Err(e) => Response::error(e),
                    }
                }
            }
            Request::Pause => {
                if !running {
                    not_running()
                } else {
                    match create::pause(&self.opts) {
                        Ok(()) => {
                            self.status = Status::Paused;
                            Response::ok()
                        }
                        Err(e) => Response::error(e),
                    }
                }
            }
            Request::Resume => {
                if !running {
                    not_running()
                } else {
                    match create::resume(&self.opts) {
                        Ok(()) => {
                            self.status = Status::Running;
                            Response::ok()
                        }
                        Err(e) => Response::error(e),
                    }
                }
            }
            Request::Resize { height, width } => match (&self.out, self.tty) {
                (Some(master), true) => match sys::set_winsize(master.as_raw_fd(), height, width)
                {
                    Ok(()) => Response::ok(),
                    Err(e) => Response::error(format!("resize: {e}")),
                },
                _ => Response::error("container has no terminal"),
            },
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                if !running {
                    not_running()
                } else {
                    self.conns[i].mode = Mode::Attached {
                        stdin,
                        stdout,
                        stderr,
                    };
                    Response::ok()
                }
            }
            Request::CloseStdin => {
                self.close_stdin();
                Response::ok()
            }
        })
    }

    /// OOM kills recorded by the container's memory cgroup (v1 or v2).
    fn oom_killed(&self) -> bool {
        let Some(path) = &self.cgroup_path else {
            return false;
        };
        let rel = path.trim_start_matches('/');
        let candidates = [
            (
                Path::new("/sys/fs/cgroup/memory").join(rel).join("memory.oom_control"),
                "oom_kill ",
            ),
            (
                Path::new("/sys/fs/cgroup").join(rel).join("memory.events"),
                "oom_kill ",
            ),
        ];
        for (file, key) in candidates {
            if let Ok(text) = std::fs::read_to_string(&file) {
                return text
                    .lines()
                    .filter_map(|l| l.strip_prefix(key))
                    .any(|n| n.trim().parse::<u64>().unwrap_or(0) > 0);
            }
        }
        false
    }

    fn finish(mut self) -> i32 {
        if let Some(log) = self.log.as_mut() {
            if let Err(e) = log.flush_partial() {
                log_err("writing the log", e);
            }
        }
        let mut exit = self.exit.clone().unwrap_or(ExitStatus {
            exit_code: 255,
            signal: None,
            oom_killed: false,
            finished_at: rfc3339_nano(SystemTime::now()),
        });
        exit.oom_killed = self.oom_killed();
        if let Err(e) = write_atomic(&self.opts.state_dir.join(EXIT_FILE), &exit) {
            log_err("recording the exit", e);
        }
        if let Err(e) = create::delete(&self.opts) {
            log_err("deleting the container", e);
        }
        self.exit = Some(exit.clone());

        let _ = std::fs::remove_file(self.opts.state_dir.join(SOCKET_FILE));
        let done = Response {
            ok: true,
            exit: Some(exit),
            ..Default::default()
        };
        for c in self.conns.iter_mut() {
            if c.mode == Mode::Waiting {
                c.respond(&done);
            }
            let _ = c.stream.set_nonblocking(false);
            let _ = c.stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = c.stream.write_all(&c.outbuf);
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
        0
    }
}

/// Writes JSON to `path` through a temp file, fsync and rename.
pub fn write_atomic<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let data = serde_json::to_vec(value)?;
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
