//! End-to-end test harness: starts a real `berthd` on private roots, socket and port,
//! waits for `/_ping`, drives it with the `berth` (and `docker`) CLI, and stops it by PID.
//! Everything is removed on drop, also when the test fails.

pub mod containers;
pub mod dockerd;
pub mod firewall;
pub mod http;
pub mod images;
pub mod introspect;
pub mod registry;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a daemon may take to answer its first ping.
const START_DEADLINE: Duration = Duration::from_secs(20);
/// How long a daemon may take to exit after SIGTERM before it is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// Directory holding the built binaries (`target/debug`), or `BERTH_BIN_DIR`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BERTH_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf()
}

pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the end-to-end tests",
        path.display()
    );
    path
}

/// A fresh directory under /tmp, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Drops from `base` the value flags that `extra` sets again (`--bridge NAME` replaces
/// the harness's `--bridge none`), since berthd takes each of them once.
pub fn override_flags(base: &mut Vec<String>, extra: &[String]) {
    for flag in ["--bridge", "--firewall-chain-prefix"] {
        if extra
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        {
            if let Some(i) = base.iter().position(|a| a == flag) {
                base.drain(i..(i + 2).min(base.len()));
            }
        }
    }
}

/// A firewall chain prefix unique to this test process and daemon (at most 10 chars).
pub fn test_chain_prefix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 1000;
    format!("BT{}X{n}", std::process::id() % 10000)
}

/// A free TCP port on 127.0.0.1 (the kernel picks it; released before the daemon binds).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Options for starting a daemon.
#[derive(Default, Clone)]
pub struct DaemonOptions {
    /// Extra flags for berthd.
    pub args: Vec<String>,
    /// Also listen on tcp://127.0.0.1:<free port>.
    pub tcp: bool,
    /// Contents of daemon.json (written to the daemon's own config path).
    pub config_json: Option<String>,
}

pub struct Daemon {
    pub dir: TempDir,
    pub socket: PathBuf,
    pub tcp_port: Option<u16>,
    pub config_file: PathBuf,
    pub pidfile: PathBuf,
    child: Option<Child>,
    log_path: PathBuf,
    /// The full command line of the running daemon, for `restart`.
    args: Vec<String>,
}

impl Daemon {
    pub fn start() -> Daemon {
        Daemon::start_with(DaemonOptions::default())
    }

    pub fn start_with(options: DaemonOptions) -> Daemon {
        let dir = TempDir::new("berth-e2e");
        let socket = dir.join("berth.sock");
        let config_file = dir.join("daemon.json");
        let pidfile = dir.join("berthd.pid");
        // berthd refuses a --config-file that does not exist (as dockerd does), so every
        // daemon gets one, empty unless the test gives its contents.
        let json = options.config_json.as_deref().unwrap_or("{}");
        std::fs::write(&config_file, json).expect("write daemon.json");
        let tcp_port = options.tcp.then(free_port);
        let mut daemon = Daemon {
            socket,
            tcp_port,
            config_file,
            pidfile,
            child: None,
            log_path: dir.join("berthd.log"),
            args: Vec::new(),
            dir,
        };
        let mut args = daemon.base_args();
        override_flags(&mut args, &options.args);
        args.extend(options.args.iter().cloned());
        daemon.args = args;
        daemon.launch();
        daemon
    }

    /// Starts a daemon whose whole command line comes from `args`, which sees the daemon's
    /// paths (directory, socket, pidfile, config file) before it runs. For tests of the
    /// flags `base_args` normally sets; `args` may also prepare files (a stale socket, an
    /// old pidfile). The daemon must listen on `self.socket`.
    pub fn start_custom(
        config_json: Option<&str>,
        args: impl FnOnce(&Daemon) -> Vec<String>,
    ) -> Daemon {
        let dir = TempDir::new("berth-e2e");
        let mut daemon = Daemon {
            socket: dir.join("berth.sock"),
            tcp_port: None,
            config_file: dir.join("daemon.json"),
            pidfile: dir.join("berthd.pid"),
            child: None,
            log_path: dir.join("berthd.log"),
            args: Vec::new(),
            dir,
        };
        if let Some(json) = config_json {
            std::fs::write(&daemon.config_file, json).expect("write daemon.json");
        }
        daemon.args = args(&daemon);
        daemon.launch();
        daemon
    }

    fn launch(&mut self) {
        let child = self.spawn(&self.args);
        self.child = Some(child);
        self.wait_ready();
    }

    /// Stops the daemon (SIGTERM) and starts it again with the same command line and
    /// roots. The log of the previous run is kept, the new run appends to it.
    pub fn restart(&mut self) {
        let status = self.stop();
        assert!(
            status.is_some_and(|s| s.success()),
            "berthd did not stop cleanly before restart ({status:?}):\n{}",
            self.log()
        );
        self.launch();
    }

    /// The persistent data root every harness daemon uses.
    pub fn data_root(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Waits for the daemon to exit by itself (after a signal the test sent); returns its
    /// status, or `None` if it still runs after `deadline` (it is then left running, and
    /// `Drop` stops it).
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + deadline;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The flags every test daemon gets: private roots, socket, pidfile and config.
    pub fn base_args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-root".into(),
            self.dir.join("data").display().to_string(),
            "--exec-root".into(),
            self.dir.join("run").display().to_string(),
            "--pidfile".into(),
            self.pidfile.display().to_string(),
            "--config-file".into(),
            self.config_file.display().to_string(),
            "-H".into(),
            format!("unix://{}", self.socket.display()),
            // No default bridge and private firewall chains: test daemons run side by
            // side and never touch Berth's production bridge or chains. Networking tests
            // give their daemons their own bridge and subnet explicitly.
            "--bridge".into(),
            "none".into(),
            "--firewall-chain-prefix".into(),
            test_chain_prefix(),
        ];
        if let Some(port) = self.tcp_port {
            args.push("-H".into());
            args.push(format!("tcp://127.0.0.1:{port}"));
        }
        args
    }

    fn spawn(&self, args: &[String]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("daemon log");
        Command::new(bin("berthd"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start berthd")
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if http::unix_request(
                &self.socket,
                "GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .map(|r| r.status == 200)
            .unwrap_or(false)
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("berthd exited early with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "berthd did not answer /_ping within {START_DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Runs `berth -H <this daemon> args...`.
    pub fn berth(&self, args: &[&str]) -> Output {
        berth_cmd(&self.host(), args)
    }

    /// Like `berth`, but asserts success and returns stdout.
    pub fn berth_ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed ({}):\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An HTTP request over the unix socket; `request` is the raw request text.
    pub fn raw(&self, request: &str) -> http::RawResponse {
        http::unix_request(&self.socket, request).expect("request to berthd")
    }

    /// `GET path` over the unix socket.
    pub fn get(&self, path: &str) -> http::RawResponse {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ))
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill only sends a signal to our own child's PID.
        unsafe {
            libc::kill(self.pid() as i32, signal);
        }
    }

    /// SIGTERM, then waits for exit; returns the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        // SAFETY: signals our own child by PID.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_DEADLINE;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        // A daemon killed by the test (or by a failed one) leaves its chains behind.
        // Never the production prefix: only the private ones the harness hands out.
        if let Some(prefix) = firewall::chain_prefix(&self.args).filter(|p| p != "BERTH") {
            firewall::remove_chains(&prefix);
        }
    }
}

/// Runs the berth CLI against `host`.
pub fn berth_cmd(host: &str, args: &[&str]) -> Output {
    Command::new(bin("berth"))
        .arg("-H")
        .arg(host)
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("BERTH_HOST")
        .stdin(Stdio::null())
        .output()
        .expect("run berth")
}

/// A `berth` command with no daemon chosen yet: `DOCKER_HOST`, `BERTH_HOST` and the TLS
/// variables are removed so that the test decides, stdin is empty.
pub fn berth_command() -> Command {
    let mut command = Command::new(bin("berth"));
    command
        .env_remove("DOCKER_HOST")
        .env_remove("BERTH_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .stdin(Stdio::null());
    command
}

/// Runs `berthd args...` to completion (for start-up refusals), killing it after
/// `deadline` if it is still running then. Its stdout and stderr are captured.
pub fn berthd_output(args: &[String], deadline: Duration) -> Output {
    let mut command = Command::new(bin("berthd"));
    command.args(args).stdin(Stdio::null());
    output_with_deadline(command, deadline)
}

/// Now as a unix timestamp with nanoseconds (`1700000000.123456789`), the form the API's
/// `since`/`until` take.
pub fn unix_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

/// The real docker CLI, when one is installed.
pub fn docker_cli() -> Option<PathBuf> {
    ["/usr/local/bin/docker", "/usr/bin/docker"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs a command with a deadline, returning its output; kills it when the deadline passes.
pub fn output_with_deadline(mut command: Command, deadline: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let status = child.wait().expect("wait");
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut stderr);
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Polls `check` until it returns true or `deadline` passes.
pub fn wait_for(deadline: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
