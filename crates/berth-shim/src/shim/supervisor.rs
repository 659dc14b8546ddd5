//! The supervisor loop: one thread, one `poll`, over the stdio of the container and of
//! its exec processes, the control socket and its clients, and a signalfd for SIGCHLD.
//!
//! Container output is logged (json-file or syslog) and copied to attached clients as it arrives;
//! exec output goes to the client that started the exec. When the init process is
//! reaped, the remaining output is drained (until EOF, at most [`DRAIN_TIMEOUT`]), the
//! exit is recorded atomically, libcontainer's state and cgroups are deleted, `wait`
//! callers are answered, and the supervisor exits.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use berth_shim::protocol::{
    frame_header, ExecRequest, ExecState, ExitStatus, Request, Response, State, Status, EXIT_FILE,
    SOCKET_FILE, STREAM_STDERR, STREAM_STDOUT,
};
use berth_shim::ShimOptions;

use super::create::{self, Stdio};
use super::logfile::{rfc3339_nano, Stream};
use super::logger::Logger;
use super::sys;

/// How long output is drained after a process exited.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// A client whose unsent output grows beyond this is disconnected.
const MAX_CLIENT_BACKLOG: usize = 4 << 20;
/// Input buffered at most per process (then its clients are not read).
const MAX_STDIN_BACKLOG: usize = 1 << 20;
/// Exit statuses of finished execs kept for `exec_state`.
const MAX_EXEC_RECORDS: usize = 256;
const READ_CHUNK: usize = 32 * 1024;

/// Which process a stream belongs to: the container (None) or an exec.
type Target = Option<String>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Request/response lines.
    Control,
    /// Waiting for the container's exit; further requests wait too.
    Waiting,
    /// Raw stdio stream of a process.
    Attached {
        target: Target,
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
    /// Close once `outbuf` is sent (the attached process is gone).
    closing: bool,
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

    fn attached_to(&self, target: &Target) -> Option<(bool, bool, bool)> {
        match &self.mode {
            Mode::Attached {
                target: t,
                stdin,
                stdout,
                stderr,
            } if t == target => Some((*stdin, *stdout, *stderr)),
            _ => None,
        }
    }
}

/// A process whose stdio the shim holds: the container's init or an exec.
struct Proc {
    target: Target,
    pid: i32,
    tty: bool,
    /// stdout (or the pty master).
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    /// Where attached input goes: stdin pipe, or a duplicate of the pty master.
    stdin: Option<OwnedFd>,
    stdin_buf: Vec<u8>,
    stdin_once: bool,
    /// The attached client closed its input: close stdin once the backlog is written.
    stdin_closing: bool,
    exit: Option<ExitStatus>,
    exited_at: Option<Instant>,
}

impl Proc {
    fn new(
        target: Target,
        pid: i32,
        stdio: Stdio,
        keep_stdin: bool,
        stdin_once: bool,
    ) -> std::io::Result<Self> {
        let (tty, out, err, stdin) = match stdio {
            Stdio::Pipes {
                stdout,
                stderr,
                stdin,
            } => (false, Some(stdout), Some(stderr), stdin),
            Stdio::Tty { master } => {
                let input = if keep_stdin {
                    Some(master.try_clone()?)
                } else {
                    None
                };
                (true, Some(master), None, input)
            }
            Stdio::Null => (false, None, None, None),
        };
        for fd in [&out, &err, &stdin].into_iter().flatten() {
            sys::set_nonblocking(fd.as_raw_fd())?;
        }
        Ok(Proc {
            target,
            pid,
            tty,
            out,
            err,
            stdin,
            stdin_buf: Vec::new(),
            stdin_once,
            stdin_closing: false,
            exit: None,
            exited_at: None,
        })
    }

    /// Exited, and its output drained (or the drain timed out).
    fn done(&self) -> bool {
        match self.exited_at {
            Some(at) => (self.out.is_none() && self.err.is_none()) || at.elapsed() >= DRAIN_TIMEOUT,
            None => false,
        }
    }
}

/// Everything the supervisor owns.
pub struct Supervisor {
    opts: ShimOptions,
    shim_pid: u32,
    status: Status,
    started_at: Option<String>,
    /// `procs[0]` is the container; the rest are running execs.
    procs: Vec<Proc>,
    /// Finished execs, oldest first.
    exec_records: Vec<ExecState>,
    exec_seq: u64,
    log: Option<Logger>,
    listener: UnixListener,
    conns: Vec<Conn>,
    sigfd: OwnedFd,
    cgroup_path: Option<String>,
}

#[derive(Clone, Copy)]
enum Src {
    Signal,
    Listener,
    Out(usize),
    Err(usize),
    Stdin(usize),
    Conn(usize),
}

fn log_err(what: &str, e: impl std::fmt::Display) {
    eprintln!(
        "{} berth-shim: {what}: {e}",
        rfc3339_nano(SystemTime::now())
    );
}

fn exit_status(exit: sys::Exit) -> ExitStatus {
    let (exit_code, signal) = match exit {
        sys::Exit::Code(c) => (c, None),
        sys::Exit::Signal(s) => (128 + s, Some(s)),
    };
    ExitStatus {
        exit_code,
        signal,
        oom_killed: false,
        finished_at: rfc3339_nano(SystemTime::now()),
    }
}

impl Supervisor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        opts: ShimOptions,
        listener: UnixListener,
        sigfd: OwnedFd,
        init_pid: i32,
        stdio: Stdio,
        log: Option<Logger>,
        cgroup_path: Option<String>,
        started: bool,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let container = Proc::new(None, init_pid, stdio, opts.stdin, opts.stdin_once)?;
        Ok(Supervisor {
            shim_pid: std::process::id(),
            status: if started {
                Status::Running
            } else {
                Status::Created
            },
            started_at: started.then(|| rfc3339_nano(SystemTime::now())),
            procs: vec![container],
            exec_records: Vec::new(),
            exec_seq: 0,
            log,
            listener,
            conns: Vec::new(),
            sigfd,
            cgroup_path,
            opts,
        })
    }

    fn container(&self) -> &Proc {
        &self.procs[0]
    }

    /// Runs until the container has exited and everything is recorded.
    pub fn run(mut self) -> i32 {
        // Exits that happened before the signalfd existed are still waiting as zombies.
        self.reap();
        loop {
            self.retire_execs();
            if self.container().done() {
                break;
            }
            let (mut fds, srcs) = self.poll_set();
            let timeout = self
                .procs
                .iter()
                .filter_map(|p| p.exited_at)
                .map(|at| {
                    DRAIN_TIMEOUT
                        .saturating_sub(at.elapsed())
                        .as_millis()
                        .max(1) as i32
                })
                .min()
                .unwrap_or(-1);
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
        let mut fds = Vec::with_capacity(4 + 3 * self.procs.len() + self.conns.len());
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
        if self.container().exit.is_none() {
            add(self.listener.as_raw_fd(), libc::POLLIN, Src::Listener);
        }
        for (i, p) in self.procs.iter().enumerate() {
            if let Some(fd) = &p.out {
                add(fd.as_raw_fd(), libc::POLLIN, Src::Out(i));
            }
            if let Some(fd) = &p.err {
                add(fd.as_raw_fd(), libc::POLLIN, Src::Err(i));
            }
            if let (Some(fd), false) = (&p.stdin, p.stdin_buf.is_empty()) {
                add(fd.as_raw_fd(), libc::POLLOUT, Src::Stdin(i));
            }
        }
        for (i, c) in self.conns.iter().enumerate() {
            let wants_input = match &c.mode {
                Mode::Attached {
                    target,
                    stdin: true,
                    ..
                } => self
                    .proc_index(target)
                    .map(|p| self.procs[p].stdin_buf.len() < MAX_STDIN_BACKLOG)
                    .unwrap_or(true),
                _ => true,
            };
            let mut ev = 0;
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

    fn proc_index(&self, target: &Target) -> Option<usize> {
        self.procs.iter().position(|p| &p.target == target)
    }

    fn handle(&mut self, src: Src, revents: i16) {
        match src {
            Src::Signal => {
                let _ = sys::read_signals(&self.sigfd);
                self.reap();
            }
            Src::Listener => self.accept(),
            Src::Out(p) => self.pump(p, Stream::Stdout),
            Src::Err(p) => self.pump(p, Stream::Stderr),
            Src::Stdin(p) => self.flush_stdin(p),
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
            let Some(p) = self
                .procs
                .iter_mut()
                .find(|p| p.pid == pid && p.exit.is_none())
            else {
                continue; // an orphan of the container
            };
            p.exit = Some(exit_status(exit));
            p.exited_at = Some(Instant::now());
            if p.target.is_none() {
                self.status = Status::Stopped;
            }
        }
    }

    /// Finished execs: record their exit, close their streams.
    fn retire_execs(&mut self) {
        let mut i = 1;
        while i < self.procs.len() {
            if !self.procs[i].done() {
                i += 1;
                continue;
            }
            let p = self.procs.remove(i);
            for c in self.conns.iter_mut() {
                if c.attached_to(&p.target).is_some() {
                    c.closing = true;
                }
            }
            if self.exec_records.len() >= MAX_EXEC_RECORDS {
                self.exec_records.remove(0);
            }
            self.exec_records.push(ExecState {
                exec_id: p.target.clone().unwrap_or_default(),
                pid: p.pid.max(0) as u32,
                running: false,
                exit: p.exit.clone(),
            });
        }
        for i in 0..self.conns.len() {
            if self.conns[i].closing {
                self.flush_conn(i);
            }
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
                        closing: false,
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

    /// Reads output of process `p`: log it (container only), copy it to its clients.
    fn pump(&mut self, p: usize, stream: Stream) {
        let proc = &mut self.procs[p];
        let slot = match stream {
            Stream::Stdout => &mut proc.out,
            Stream::Stderr => &mut proc.err,
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
        let (tty, target) = (proc.tty, proc.target.clone());
        if target.is_none() {
            if let Some(log) = self.log.as_mut() {
                if let Err(e) = log.write(stream, data) {
                    log_err("writing the log", e);
                }
            }
        }
        let id = match stream {
            Stream::Stdout => STREAM_STDOUT,
            Stream::Stderr => STREAM_STDERR,
        };
        for c in self.conns.iter_mut() {
            let Some((_, stdout, stderr)) = c.attached_to(&target) else {
                continue;
            };
            let wanted = if stream == Stream::Stdout {
                stdout
            } else {
                stderr
            };
            if !wanted || c.dead {
                continue;
            }
            if !tty {
                c.outbuf.extend_from_slice(&frame_header(id, n));
            }
            c.outbuf.extend_from_slice(data);
            if c.outbuf.len() > MAX_CLIENT_BACKLOG {
                c.dead = true;
            }
        }
        for i in 0..self.conns.len() {
            if !self.conns[i].outbuf.is_empty() {
                self.flush_conn(i);
            }
        }
    }

    fn flush_stdin(&mut self, p: usize) {
        let proc = &mut self.procs[p];
        let Some(fd) = &proc.stdin else {
            proc.stdin_buf.clear();
            return;
        };
        while !proc.stdin_buf.is_empty() {
            match sys::write(fd.as_raw_fd(), &proc.stdin_buf) {
                Ok(n) => {
                    proc.stdin_buf.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    // The process closed its stdin: nothing more can be delivered.
                    proc.stdin = None;
                    proc.stdin_buf.clear();
                    return;
                }
            }
        }
        if proc.stdin_closing && !proc.tty {
            // Everything the client sent is in the pipe: now the process sees EOF.
            proc.stdin = None;
        }
    }

    fn close_stdin(&mut self, p: usize) {
        // Bytes still queued are delivered first (the pipe is closed by `flush_stdin`
        // when the backlog is empty), so `seq 1 100000 | run -i ... wc -l` sees them all.
        self.procs[p].stdin_closing = true;
        self.flush_stdin(p);
    }

    fn feed_stdin(&mut self, target: &Target, data: &[u8]) {
        if let Some(p) = self.proc_index(target) {
            if self.procs[p].stdin.is_some() {
                self.procs[p].stdin_buf.extend_from_slice(data);
                self.flush_stdin(p);
            }
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
        let idle_control = c.read_closed && c.mode == Mode::Control;
        if c.outbuf.is_empty() && (c.closing || idle_control) {
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
            c.dead = true;
        }
    }

    fn read_conn(&mut self, i: usize) {
        let mut buf = vec![0u8; READ_CHUNK];
        let n = match sys::read(self.conns[i].fd(), &mut buf) {
            Ok(n) if n > 0 => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
            _ => {
                self.conns[i].read_closed = true;
                if let Mode::Attached {
                    target,
                    stdin: true,
                    ..
                } = self.conns[i].mode.clone()
                {
                    if let Some(p) = self.proc_index(&target) {
                        if self.procs[p].stdin_once {
                            self.close_stdin(p);
                        }
                    }
                }
                let c = &mut self.conns[i];
                if c.mode == Mode::Control && c.outbuf.is_empty() {
                    c.dead = true;
                }
                return;
            }
        };
        match self.conns[i].mode.clone() {
            Mode::Attached { target, stdin, .. } => {
                if stdin {
                    self.feed_stdin(&target, &buf[..n]);
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
            if let Mode::Attached { target, stdin, .. } = self.conns[i].mode.clone() {
                // Bytes after the attach/exec line already belong to the stream.
                let rest = std::mem::take(&mut self.conns[i].inbuf);
                if stdin && !rest.is_empty() {
                    self.feed_stdin(&target, &rest);
                }
            }
            self.flush_conn(i);
        }
    }

    fn state(&self) -> State {
        let c = self.container();
        State {
            id: self.opts.id.clone(),
            status: self.status,
            pid: c.pid.max(0) as u32,
            shim_pid: self.shim_pid,
            tty: c.tty,
            stdin: c.stdin.is_some(),
            started_at: self.started_at.clone(),
            exit: c.exit.clone(),
        }
    }

    fn request(&mut self, i: usize, req: Request) -> Option<Response> {
        let running = self.container().exit.is_none();
        let not_running = || Response::error("container is not running");
        let result = |r: Result<(), String>| match r {
            Ok(()) => Response::ok(),
            Err(e) => Response::error(e),
        };
        Some(match req {
            Request::State => Response {
                ok: true,
                state: Some(self.state()),
                ..Default::default()
            },
            Request::Wait => {
                if let Some(exit) = &self.container().exit {
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
                    result(create::kill_all(&self.opts, signal))
                } else {
                    // The init process is our unreaped child: its pid cannot be reused.
                    result(
                        sys::kill(self.container().pid, signal).map_err(|e| format!("kill: {e}")),
                    )
                }
            }
            Request::Start => {
                if self.status != Status::Created {
                    Response::error("container is not in created state")
                } else {
                    let r = create::start(&self.opts);
                    if r.is_ok() {
                        self.status = Status::Running;
                        self.started_at = Some(rfc3339_nano(SystemTime::now()));
                    }
                    result(r)
                }
            }
            Request::Pause => {
                if !running {
                    not_running()
                } else {
                    let r = create::pause(&self.opts);
                    if r.is_ok() {
                        self.status = Status::Paused;
                    }
                    result(r)
                }
            }
            Request::Resume => {
                if !running {
                    not_running()
                } else {
                    let r = create::resume(&self.opts);
                    if r.is_ok() {
                        self.status = Status::Running;
                    }
                    result(r)
                }
            }
            Request::Resize {
                height,
                width,
                exec_id,
            } => self.resize(exec_id, height, width),
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                if !running {
                    not_running()
                } else {
                    self.conns[i].mode = Mode::Attached {
                        target: None,
                        stdin,
                        stdout,
                        stderr,
                    };
                    Response::ok()
                }
            }
            Request::CloseStdin => {
                self.close_stdin(0);
                Response::ok()
            }
            Request::Exec(exec) => {
                if self.status != Status::Running || !running {
                    not_running()
                } else {
                    self.exec(i, exec)
                }
            }
            Request::ExecState { exec_id } => {
                let live = self
                    .procs
                    .iter()
                    .find(|p| p.target.as_deref() == Some(exec_id.as_str()))
                    .map(|p| ExecState {
                        exec_id: exec_id.clone(),
                        pid: p.pid.max(0) as u32,
                        running: p.exit.is_none(),
                        exit: p.exit.clone(),
                    });
                let done = || {
                    self.exec_records
                        .iter()
                        .rev()
                        .find(|r| r.exec_id == exec_id)
                        .cloned()
                };
                match live.or_else(done) {
                    Some(state) => Response {
                        ok: true,
                        exec: Some(state),
                        ..Default::default()
                    },
                    None => Response::error(format!("no such exec: {exec_id}")),
                }
            }
        })
    }

    /// Sets the terminal size of the container (`None`) or of an exec.
    fn resize(&self, target: Target, height: u16, width: u16) -> Response {
        match self.proc_index(&target).map(|p| &self.procs[p]) {
            Some(Proc {
                out: Some(master),
                tty: true,
                ..
            }) => match sys::set_winsize(master.as_raw_fd(), height, width) {
                Ok(()) => Response::ok(),
                Err(e) => Response::error(format!("resize: {e}")),
            },
            Some(_) => Response::error("the process has no terminal"),
            None => Response::error("no such process"),
        }
    }

    /// Starts an exec process; the connection streams its stdio unless detached.
    fn exec(&mut self, i: usize, req: ExecRequest) -> Response {
        let target: Target = Some(req.exec_id.clone());
        if req.exec_id.is_empty() || self.proc_index(&target).is_some() {
            return Response::error(format!("exec id {:?} is empty or in use", req.exec_id));
        }
        self.exec_seq += 1;
        // The exec'd process must not inherit our blocked SIGCHLD or ignored SIGPIPE.
        let _ = sys::unblock(&[libc::SIGCHLD]);
        sys::set_signal(libc::SIGPIPE, false);
        let created = create::exec(&self.opts, &req, self.exec_seq);
        sys::set_signal(libc::SIGPIPE, true);
        let _ = sys::block(&[libc::SIGCHLD]);
        // Creating the exec ran libcontainer again: give its memory back as after start.
        sys::trim_heap();
        sys::release_clean_file_pages();
        let created = match created {
            Ok(c) => c,
            Err(f) => {
                self.reap();
                return Response::error(f.message);
            }
        };
        let proc = match Proc::new(target.clone(), created.pid, created.stdio, req.stdin, true) {
            Ok(p) => p,
            Err(e) => {
                let _ = sys::kill(created.pid, libc::SIGKILL);
                self.reap();
                return Response::error(format!("exec: {e}"));
            }
        };
        self.procs.push(proc);
        // A SIGCHLD delivered while it was unblocked was discarded, and the new process
        // may already have exited: look for exits now that it is registered.
        self.reap();
        if !req.detach {
            self.conns[i].mode = Mode::Attached {
                target,
                stdin: req.stdin,
                stdout: true,
                stderr: true,
            };
        }
        Response {
            ok: true,
            pid: Some(created.pid.max(0) as u32),
            ..Default::default()
        }
    }

    /// OOM kills recorded by the container's memory cgroup (v1 or v2).
    fn oom_killed(&self) -> bool {
        let Some(path) = &self.cgroup_path else {
            return false;
        };
        let rel = path.trim_start_matches('/');
        let candidates = [
            Path::new("/sys/fs/cgroup/memory")
                .join(rel)
                .join("memory.oom_control"),
            Path::new("/sys/fs/cgroup").join(rel).join("memory.events"),
        ];
        for file in candidates {
            if let Ok(text) = std::fs::read_to_string(&file) {
                return text
                    .lines()
                    .filter_map(|l| l.strip_prefix("oom_kill "))
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
        let mut exit = self.container().exit.clone().unwrap_or(ExitStatus {
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

/// Writes JSON to `path` through a temp file and a rename, so a reader never sees half a
/// file. No fsync: the file lives in the exec root (runtime state, tmpfs on a normal host)
/// and is read by the daemon within milliseconds; the page cache keeps it across a crash of
/// the shim or the daemon, and after a host crash the container is gone anyway. An fsync
/// here waited for the journal commit of the whole filesystem on the stop path (measured
/// 3 ms idle, over 300 ms while other work wrote to the same disk).
pub fn write_atomic<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let data = serde_json::to_vec(value)?;
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&data)?;
    drop(f);
    std::fs::rename(&tmp, path)
}
