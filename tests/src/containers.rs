//! Helpers for the container end-to-end tests: a daemon with `busybox:latest` loaded that
//! cleans up after itself even when berthd is gone, the clients a scenario runs through
//! (the `berth` CLI once it has `run`, else the docker CLI, and the docker CLI as well
//! when one is installed), raw API calls (JSON, streamed bodies, hijacked attach, the
//! multiplexed frame format), a pseudo-terminal for interactive runs, and checks that a
//! container left nothing behind (overlay mount, cgroups, shim, state folder).

use std::ffi::CStr;
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{self, RawResponse};
use crate::{berth_command, docker_cli, output_with_deadline, unix_now, Daemon, TempDir};

/// How long a CLI command may run before the test calls it hung.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(60);
/// How long state changes that follow an action (exit noticed, cleanup done) may take.
pub const SETTLE: Duration = Duration::from_secs(20);
/// How long building the fixture may take.
const FIXTURE_DEADLINE: Duration = Duration::from_secs(120);
/// How long a daemon may take to die after SIGKILL.
const KILL_DEADLINE: Duration = Duration::from_secs(20);

/// cgroup v1 controllers (and the v2 tree) a container's cgroup may appear under.
const CGROUP_ROOTS: &[&str] = &[
    "memory",
    "pids",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "blkio",
    "systemd",
    "unified",
    "net_cls",
    "net_prio",
    "perf_event",
    "hugetlb",
    "rdma",
    "misc",
];

// ---------------------------------------------------------------------------------------
// The busybox fixture

static FIXTURE_DIR: OnceLock<PathBuf> = OnceLock::new();
static FIXTURE: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_fixture_dir() {
    if let Some(dir) = FIXTURE_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A folder for this test binary's shared files, removed when the binary exits.
fn binary_dir() -> &'static Path {
    FIXTURE_DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("berth-ctr-fixture-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create fixture dir");
        // SAFETY: registers a plain `extern "C" fn` without arguments; it only reads a
        // OnceLock that is set before registration and never changes afterwards.
        unsafe {
            libc::atexit(remove_fixture_dir);
        }
        dir
    })
}

/// `busybox:latest` as a docker-save tar, built by `tests/fixtures/make-busybox-image.sh`
/// once per test binary.
pub fn busybox_tar() -> &'static Path {
    FIXTURE.get_or_init(|| {
        let out = binary_dir().join("busybox.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/make-busybox-image.sh");
        let mut command = Command::new(&script);
        command.arg(&out).stdin(Stdio::null());
        let result = output_with_deadline(command, FIXTURE_DEADLINE);
        assert!(
            result.status.success() && out.is_file(),
            "{} failed ({}):\n{}",
            script.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr)
        );
        out
    })
}

// ---------------------------------------------------------------------------------------
// A daemon for container tests

/// A berthd with `busybox:latest` loaded. On drop it stops berthd (which stops its
/// containers) and then removes whatever a crashed daemon or failed test left running or
/// mounted: container processes, shims, overlay mounts, cgroups.
pub struct TestDaemon {
    pub daemon: Daemon,
    /// The exec root: a short path of its own (see [`TestDaemon::start`]).
    exec_root: TempDir,
}

impl TestDaemon {
    /// Starts berthd with the harness's flags, except for a short `--exec-root`: the
    /// shim's control and console sockets live in `<exec-root>/containers/<64-hex id>/`
    /// and a unix socket path must stay under 108 bytes, which the harness's
    /// `<temp dir>/run` exceeds.
    pub fn start() -> TestDaemon {
        let exec_root = TempDir::new("bx");
        let daemon = Daemon::start_custom(Some("{}"), |d| {
            let mut args = d.base_args();
            let at = args
                .iter()
                .position(|a| a == "--exec-root")
                .expect("--exec-root in the base flags");
            args[at + 1] = exec_root.path.display().to_string();
            args
        });
        let tar = busybox_tar();
        let out = daemon.berth(&["load", "-i", tar.to_str().expect("utf-8 path")]);
        let test = TestDaemon { daemon, exec_root };
        assert!(
            out.status.success(),
            "berth load failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            test.log_tail()
        );
        test
    }

    /// `<exec-root>/containers`: one state folder per live container.
    pub fn exec_containers(&self) -> PathBuf {
        self.exec_root.join("containers")
    }

    /// The last lines of the daemon log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.daemon.log();
        let lines: Vec<&str> = log.lines().collect();
        let start = lines.len().saturating_sub(60);
        format!("--- berthd log (tail) ---\n{}", lines[start..].join("\n"))
    }

    /// SIGKILL to berthd; waits until it is gone. Containers keep running.
    pub fn kill9(&mut self) {
        self.daemon.signal(libc::SIGKILL);
        assert!(
            self.daemon.wait_exit(KILL_DEADLINE).is_some(),
            "berthd did not die within {KILL_DEADLINE:?} of SIGKILL"
        );
    }

    /// Starts berthd again on the same roots and command line (after `kill9` or `stop`).
    pub fn start_again(&mut self) {
        self.daemon.launch();
    }

    /// A JSON request over the daemon's socket.
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> RawResponse {
        let request = match body {
            Some(body) => {
                let text = body.to_string();
                format!(
                    "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )
            }
            None => format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Length: 0\r\n\r\n"
            ),
        };
        self.raw(&request)
    }

    /// `GET /containers/{reference}/json`, asserting 200.
    pub fn inspect(&self, reference: &str) -> Value {
        let response = self.get(&format!("/containers/{reference}/json"));
        assert_eq!(
            response.status,
            200,
            "inspect {reference}: {}\n{}",
            response.text(),
            self.log_tail()
        );
        response.json()
    }

    /// Whether `GET /containers/{reference}/json` says 404.
    pub fn is_gone(&self, reference: &str) -> bool {
        self.get(&format!("/containers/{reference}/json")).status == 404
    }

    /// The full ID of a container.
    pub fn id_of(&self, reference: &str) -> String {
        self.inspect(reference)["Id"]
            .as_str()
            .expect("Id")
            .to_string()
    }

    /// `POST /containers/create` with `body`, asserting 201; returns the ID.
    pub fn create(&self, name: Option<&str>, body: &Value) -> String {
        let path = match name {
            Some(name) => format!("/containers/create?name={name}"),
            None => "/containers/create".to_string(),
        };
        let response = self.api("POST", &path, Some(body));
        assert_eq!(
            response.status,
            201,
            "create {body}: {}\n{}",
            response.text(),
            self.log_tail()
        );
        response.json()["Id"].as_str().expect("Id").to_string()
    }

    /// `POST /containers/{reference}/{verb}` without a body; returns the response.
    pub fn post(&self, reference: &str, verb_and_query: &str) -> RawResponse {
        self.api(
            "POST",
            &format!("/containers/{reference}/{verb_and_query}"),
            None,
        )
    }

    /// Polls until the container's inspect JSON satisfies `check`; panics with `what`
    /// and the last state when `deadline` passes.
    pub fn wait_state(
        &self,
        reference: &str,
        what: &str,
        deadline: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let end = Instant::now() + deadline;
        loop {
            let state = self.inspect(reference);
            if check(&state) {
                return state;
            }
            assert!(
                Instant::now() < end,
                "{reference}: {what} did not happen within {deadline:?}; State: {}\n{}",
                state["State"],
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the container is running.
    pub fn wait_running(&self, reference: &str) -> Value {
        self.wait_state(reference, "running", SETTLE, |v| {
            v["State"]["Running"] == Value::Bool(true)
                && v["State"]["Restarting"] != Value::Bool(true)
        })
    }

    /// Waits until the container has exited (not running, not restarting).
    pub fn wait_exited(&self, reference: &str) -> Value {
        self.wait_state(reference, "exit", SETTLE, |v| {
            v["State"]["Status"].as_str() == Some("exited")
        })
    }

    /// The container's json-file log as (stream, text) pairs, via the raw logs API.
    pub fn logs(&self, reference: &str) -> Vec<(u8, String)> {
        let response = self.get(&format!("/containers/{reference}/logs?stdout=1&stderr=1"));
        assert_eq!(response.status, 200, "logs: {}", response.text());
        if response.header("content-type") == Some("application/vnd.docker.raw-stream") {
            // A TTY container: one raw stream.
            return vec![(1, response.text())];
        }
        demux(&response.body)
            .into_iter()
            .map(|(s, d)| (s, String::from_utf8_lossy(&d).into_owned()))
            .collect()
    }

    /// Only the stdout text of the log.
    pub fn stdout_log(&self, reference: &str) -> String {
        self.logs(reference)
            .into_iter()
            .filter(|(s, _)| *s == 1)
            .map(|(_, t)| t)
            .collect()
    }

    /// Events between `since` (a `unix_now()` value) and now.
    pub fn events_since(&self, since: &str) -> Vec<Value> {
        let response = self.get(&format!("/events?since={since}&until={}", unix_now()));
        assert_eq!(response.status, 200, "GET /events: {}", response.text());
        String::from_utf8_lossy(&response.body)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("event {l}: {e}")))
            .collect()
    }

    /// The actions of container events for `id` since `since`, in order.
    pub fn container_actions(&self, since: &str, id: &str) -> Vec<String> {
        self.events_since(since)
            .iter()
            .filter(|e| e["Type"] == "container" && e["Actor"]["ID"] == id)
            .filter_map(|e| e["Action"].as_str().map(str::to_string))
            .collect()
    }

    /// Everything a container's life leaves on the host, for assertions: overlay mounts
    /// of its folder, cgroup folders named by its ID, processes whose command line
    /// mentions its ID, and its state folder under the exec root.
    pub fn traces_of(&self, id: &str) -> Vec<String> {
        let mut traces = Vec::new();
        let container_dir = self.data_root().join("containers").join(id);
        for mount in mounts_under(&container_dir) {
            traces.push(format!("mount {mount}"));
        }
        for dir in cgroup_dirs(id) {
            traces.push(format!("cgroup {}", dir.display()));
        }
        for (pid, cmdline) in processes_mentioning(id) {
            traces.push(format!("process {pid}: {cmdline}"));
        }
        let state_dir = self.exec_containers().join(id);
        if state_dir.exists() {
            traces.push(format!("state folder {}", state_dir.display()));
        }
        traces
    }

    /// Asserts (polling, since cleanup follows the exit) that a stopped or removed
    /// container left no mount, cgroup, shim or state folder.
    pub fn assert_no_traces(&self, id: &str) {
        let mut traces = Vec::new();
        let clean = crate::wait_for(SETTLE, || {
            traces = self.traces_of(id);
            traces.is_empty()
        });
        assert!(
            clean,
            "container {id} left traces behind:\n  {}\n{}",
            traces.join("\n  "),
            self.log_tail()
        );
    }

    /// Asserts the container's folder in the data root is gone too (after `rm`).
    pub fn assert_removed(&self, id: &str) {
        self.assert_no_traces(id);
        let dir = self.data_root().join("containers").join(id);
        assert!(
            !dir.exists(),
            "{} still exists after removal",
            dir.display()
        );
        assert!(self.is_gone(id), "{id} is still known to the daemon");
    }

    /// Asserts the daemon has no mount under its folders and no shim or container
    /// process anywhere (for the end of a test or after a failed create).
    pub fn assert_nothing_running(&self) {
        let mut traces = Vec::new();
        let clean = crate::wait_for(SETTLE, || {
            traces = mounts_under(&self.dir.path);
            traces.extend(mounts_under(&self.exec_root.path));
            let exec = self.exec_containers();
            traces.extend(
                processes_mentioning(&exec.display().to_string())
                    .into_iter()
                    .map(|(pid, c)| format!("process {pid}: {c}")),
            );
            traces.is_empty()
        });
        assert!(
            clean,
            "the daemon left things behind:\n  {}\n{}",
            traces.join("\n  "),
            self.log_tail()
        );
    }

    /// IDs of every container the daemon knows (`GET /containers/json?all=1`).
    pub fn all_ids(&self) -> Vec<String> {
        let response = self.get("/containers/json?all=1");
        assert_eq!(response.status, 200, "{}", response.text());
        response
            .json()
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["Id"].as_str().map(str::to_string))
            .collect()
    }

    /// Kills what a crashed daemon or a failed test left: container processes and shims
    /// of this daemon's exec root, overlay mounts under its folder, their cgroups.
    fn sweep(&self) {
        let exec = self.exec_containers();
        let ids: Vec<String> = std::fs::read_dir(self.data_root().join("containers"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        for id in &ids {
            for file in ["init.pid", "shim.pid"] {
                if let Some(pid) = std::fs::read_to_string(exec.join(id).join(file))
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok())
                {
                    // SAFETY: sends SIGKILL to a process this test's daemon started.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
            }
        }
        for (pid, _) in processes_mentioning(&exec.display().to_string()) {
            // SAFETY: SIGKILL to a shim of this test's daemon (its command line names
            // this daemon's private exec root).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let mut mounts = mounts_under(&self.dir.path);
        mounts.extend(mounts_under(&self.exec_root.path));
        for mount in mounts {
            let target = mount.split_whitespace().nth(1).unwrap_or("").to_string();
            if let Ok(c) = std::ffi::CString::new(target) {
                // SAFETY: lazily unmounts a mount point below this test's temp folder.
                unsafe {
                    libc::umount2(c.as_ptr(), libc::MNT_DETACH);
                }
            }
        }
        for id in &ids {
            crate::wait_for(Duration::from_secs(5), || {
                cgroup_dirs(id)
                    .iter()
                    .all(|d| std::fs::remove_dir(d).is_ok() || !d.exists())
            });
        }
    }
}

impl Deref for TestDaemon {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.daemon
    }
}

impl DerefMut for TestDaemon {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.daemon.stop();
        self.sweep();
    }
}

/// Lines of /proc/mounts whose mount point is at or below `root`.
pub fn mounts_under(root: &Path) -> Vec<String> {
    let root = root.display().to_string();
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|m| m == root || m.starts_with(&format!("{root}/")))
        })
        .map(str::to_string)
        .collect()
}

/// Existing cgroup folders `/sys/fs/cgroup/<controller>/berth/<id>`.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    CGROUP_ROOTS
        .iter()
        .map(|c| Path::new("/sys/fs/cgroup").join(c).join("berth").join(id))
        .filter(|p| p.exists())
        .collect()
}

/// `/sys/fs/cgroup/<controller>/berth/<id>/<file>`, trimmed.
pub fn cgroup_file(controller: &str, id: &str, file: &str) -> String {
    let path = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join("berth")
        .join(id)
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Processes (other than this test binary) whose command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            // Exclude clients of the test (docker/berth CLIs naming the container).
            let first = cmdline.split_whitespace().next().unwrap_or("");
            let client = first.ends_with("/docker") || first.ends_with("/berth");
            (cmdline.contains(needle) && !client).then(|| (pid, cmdline.trim().to_string()))
        })
        .collect()
}

/// Whether a process with this PID exists (and is not a zombie).
pub fn process_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------
// Clients

/// The output of a CLI command.
pub struct Out {
    /// The exit code; -1 when killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Debug for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Whether the `berth` CLI already has `run` (the container commands are in progress).
pub fn berth_has_run() -> bool {
    static HAS_RUN: OnceLock<bool> = OnceLock::new();
    *HAS_RUN.get_or_init(|| {
        let mut command = berth_command();
        command.args(["run", "--help"]);
        output_with_deadline(command, COMMAND_DEADLINE)
            .status
            .success()
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientKind {
    Berth,
    Docker(PathBuf),
}

/// A CLI pointed at one daemon.
pub struct Client<'a> {
    pub kind: ClientKind,
    pub daemon: &'a TestDaemon,
}

/// The clients a scenario runs through: `berth` when it has `run` (docker otherwise),
/// plus docker when it is installed. `BERTH_E2E_CLIENTS=berth|docker` picks one.
pub fn clients(daemon: &TestDaemon) -> Vec<Client<'_>> {
    // `BERTH_E2E_CLIENTS=docker` (or `berth`) narrows the choice, to tell a CLI problem
    // from a daemon problem.
    let only = std::env::var("BERTH_E2E_CLIENTS").unwrap_or_default();
    let wanted = |label: &str| only.is_empty() || only.split(',').any(|w| w.trim() == label);
    let mut kinds = Vec::new();
    if wanted("berth") && berth_has_run() {
        kinds.push(ClientKind::Berth);
    }
    if let Some(docker) = docker_cli().filter(|_| wanted("docker")) {
        kinds.push(ClientKind::Docker(docker));
    }
    assert!(
        !kinds.is_empty(),
        "neither `berth run` nor a docker CLI is available to drive the daemon"
    );
    kinds
        .into_iter()
        .map(|kind| Client { kind, daemon })
        .collect()
}

/// The preferred client: `berth` when it has `run`, else docker.
pub fn primary(daemon: &TestDaemon) -> Client<'_> {
    clients(daemon).into_iter().next().expect("a client")
}

/// Runs `args` through the preferred client.
pub fn cli(daemon: &TestDaemon, args: &[&str]) -> Out {
    primary(daemon).run(args)
}

/// Runs `scenario` once per client (see [`clients`]).
pub fn for_each_client(daemon: &TestDaemon, mut scenario: impl FnMut(&Client<'_>)) {
    for client in clients(daemon) {
        eprintln!("--- scenario through {}", client.label());
        scenario(&client);
    }
}

/// An empty docker config folder, so the user's `~/.docker/config.json` (formats, detach
/// keys) cannot change what the docker CLI prints.
fn docker_config_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = binary_dir().join("docker-config");
        std::fs::create_dir_all(&dir).expect("docker config dir");
        dir
    })
}

impl Client<'_> {
    /// `berth` or `docker`.
    pub fn label(&self) -> &'static str {
        match self.kind {
            ClientKind::Berth => "berth",
            ClientKind::Docker(_) => "docker",
        }
    }

    /// A container name unique to this client (`base-berth`, `base-docker`).
    pub fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.label())
    }

    /// The command with `-H <daemon>` and a clean environment; stdin is empty.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = match &self.kind {
            ClientKind::Berth => berth_command(),
            ClientKind::Docker(path) => {
                let mut c = Command::new(path);
                for var in [
                    "DOCKER_HOST",
                    "DOCKER_CONTEXT",
                    "DOCKER_TLS_VERIFY",
                    "DOCKER_CERT_PATH",
                    "BERTH_HOST",
                ] {
                    c.env_remove(var);
                }
                c.env("DOCKER_CONFIG", docker_config_dir())
                    .env("DOCKER_CLI_HINTS", "false")
                    .stdin(Stdio::null());
                c
            }
        };
        command.arg("-H").arg(self.daemon.host()).args(args);
        command
    }

    /// Runs the command to completion (panics if it is still running after
    /// [`COMMAND_DEADLINE`]).
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_with_stdin(args, None)
    }

    /// Runs the command with `input` on its stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: Option<&[u8]>) -> Out {
        let mut command = self.command(args);
        if input.is_some() {
            command.stdin(Stdio::piped());
        }
        let started = run_to_end(command, input, COMMAND_DEADLINE);
        match started {
            Some(out) => out,
            None => panic!(
                "{} {args:?} still runs after {COMMAND_DEADLINE:?}\n{}",
                self.label(),
                self.daemon.log_tail()
            ),
        }
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.code,
            0,
            "{} {args:?} failed: {out:?}\n{}",
            self.label(),
            self.daemon.log_tail()
        );
        out.stdout
    }

    /// Runs and asserts the exit code; returns the output.
    pub fn expect_code(&self, args: &[&str], code: i32) -> Out {
        let out = self.run(args);
        assert_eq!(
            out.code,
            code,
            "{} {args:?}: expected exit {code}: {out:?}\n{}",
            self.label(),
            self.daemon.log_tail()
        );
        out
    }

    /// Spawns the command with stdout and stderr piped (for `logs -f`, `attach`).
    pub fn spawn(&self, args: &[&str]) -> Streaming {
        let mut command = self.command(args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        Streaming::spawn(command)
    }
}

/// Runs `command` with stdout/stderr captured and `input` written to stdin; `None` if it
/// is still running at `deadline` (it is then killed).
pub fn run_to_end(mut command: Command, input: Option<&[u8]>, deadline: Duration) -> Option<Out> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn client");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = reader_thread(child.stdout.take().expect("stdout"));
    let stderr = reader_thread(child.stderr.take().expect("stderr"));
    let end = Instant::now() + deadline;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    status.map(|status| Out {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

fn reader_thread(mut source: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut data = Vec::new();
        let _ = source.read_to_end(&mut data);
        data
    })
}

/// A running client command whose output is collected as it comes.
pub struct Streaming {
    child: Child,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Streaming {
    pub fn spawn(mut command: Command) -> Streaming {
        let mut child = command.spawn().expect("spawn client");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        for (source, sink) in [
            (
                Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
                stdout.clone(),
            ),
            (
                Box::new(child.stderr.take().expect("stderr")) as Box<dyn Read + Send>,
                stderr.clone(),
            ),
        ] {
            let mut source = source;
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = source.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().expect("sink").extend_from_slice(&buf[..n]);
                }
            }));
        }
        Streaming {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().expect("stdout")).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr")).into_owned()
    }

    /// Polls until stdout satisfies `check`; panics after `deadline`.
    pub fn wait_stdout(&self, what: &str, deadline: Duration, check: impl Fn(&str) -> bool) {
        let ok = crate::wait_for(deadline, || check(&self.stdout()));
        assert!(
            ok,
            "{what} did not show within {deadline:?}:\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        );
    }

    /// Waits for the command to exit by itself; `None` if it still runs at `deadline`.
    pub fn wait(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + deadline;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Some(status);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Raw streams

/// Splits a multiplexed stream into (stream id, payload) frames; a trailing partial frame
/// is ignored.
pub fn demux(mut data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while data.len() >= 8 {
        let stream = data[0];
        let len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
        if data.len() < 8 + len {
            break;
        }
        frames.push((stream, data[8..8 + len].to_vec()));
        data = &data[8 + len..];
    }
    frames
}

/// The concatenated payload of one stream (1 stdout, 2 stderr) of a multiplexed body.
pub fn stream_text(frames: &[(u8, Vec<u8>)], stream: u8) -> String {
    let bytes: Vec<u8> = frames
        .iter()
        .filter(|(s, _)| *s == stream)
        .flat_map(|(_, d)| d.iter().copied())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A request whose answer is read in two steps: the head as soon as it arrives, the
/// rest later (`wait`, hijacked `attach`, followed `logs`).
pub struct OpenRequest {
    stream: UnixStream,
    /// Everything read so far.
    raw: Vec<u8>,
    head_len: usize,
}

impl OpenRequest {
    /// Sends `request` verbatim and reads until the end of the response head.
    pub fn send(socket: &Path, request: &str) -> OpenRequest {
        let mut stream = UnixStream::connect(socket).expect("connect to berthd");
        stream
            .set_read_timeout(Some(COMMAND_DEADLINE))
            .expect("read timeout");
        stream.write_all(request.as_bytes()).expect("send request");
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let head_len = loop {
            if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = stream.read(&mut buf).expect("read response head");
            assert!(n > 0, "connection closed before the response head");
            raw.extend_from_slice(&buf[..n]);
        };
        OpenRequest {
            stream,
            raw,
            head_len,
        }
    }

    /// A POST without body.
    pub fn post(socket: &Path, path: &str, upgrade: bool) -> OpenRequest {
        let extra = if upgrade {
            "Connection: Upgrade\r\nUpgrade: tcp\r\n"
        } else {
            "Connection: close\r\n"
        };
        OpenRequest::send(
            socket,
            &format!("POST {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: 0\r\n\r\n"),
        )
    }

    /// The status code of the head.
    pub fn status(&self) -> u16 {
        let head = String::from_utf8_lossy(&self.raw[..self.head_len]);
        head.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Reads to the end and parses the whole response (de-chunked body).
    pub fn finish(mut self) -> RawResponse {
        let _ = self.stream.read_to_end(&mut self.raw);
        http::parse(&self.raw).expect("parse response")
    }

    /// Reads to the end and returns the raw bytes after the head (a hijacked stream).
    pub fn finish_raw(mut self) -> Vec<u8> {
        let _ = self.stream.read_to_end(&mut self.raw);
        self.raw[self.head_len..].to_vec()
    }

    pub fn stream(&mut self) -> &mut UnixStream {
        &mut self.stream
    }
}

// ---------------------------------------------------------------------------------------
// A pseudo-terminal

/// A command running on the slave side of a new pseudo-terminal, as under a user's
/// terminal: its own session, the terminal as controlling tty, 80x24.
pub struct Pty {
    master: File,
    child: Child,
    output: Vec<u8>,
}

impl Pty {
    pub fn spawn(mut command: Command) -> Pty {
        // SAFETY: posix_openpt returns a new descriptor or -1; nothing else is touched.
        let master_fd =
            unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
        assert!(
            master_fd >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: master_fd is a fresh descriptor we own from here on.
        let master = unsafe { OwnedFd::from_raw_fd(master_fd) };
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: grantpt/unlockpt/ptsname_r act on our master descriptor; ptsname_r
        // writes a NUL-terminated name into `name`, whose length it is given.
        let slave_path = unsafe {
            assert_eq!(libc::grantpt(master.as_raw_fd()), 0, "grantpt");
            assert_eq!(libc::unlockpt(master.as_raw_fd()), 0, "unlockpt");
            assert_eq!(
                libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()),
                0,
                "ptsname_r"
            );
            CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned()
        };
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize from the pointer we pass.
        unsafe {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size);
        }
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(&slave_path)
            .unwrap_or_else(|e| panic!("open {slave_path}: {e}"));
        command
            .stdin(slave.try_clone().expect("slave fd"))
            .stdout(slave.try_clone().expect("slave fd"))
            .stderr(slave);
        // SAFETY: the closure runs in the forked child before exec and only calls
        // async-signal-safe functions (setsid, ioctl).
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn under pty");
        // The parent's copies of the slave live in `command`; dropping it closes them,
        // so reads of the master end (EIO) when the child's side closes.
        drop(command);
        Pty {
            master: File::from(master),
            child,
            output: Vec::new(),
        }
    }

    /// Everything the terminal showed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Reads what is available within `timeout`; false at end of output.
    fn read_some(&mut self, timeout: Duration) -> bool {
        let mut poll = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: polls one valid pollfd we own.
        let ready = unsafe { libc::poll(&mut poll, 1, ms) };
        if ready <= 0 {
            return true;
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.output.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    /// Reads until the output contains `needle`; panics after `deadline`.
    pub fn expect(&mut self, needle: &str, deadline: Duration) {
        let end = Instant::now() + deadline;
        while !self.output().contains(needle) {
            let now = Instant::now();
            assert!(
                now < end,
                "the terminal did not show {needle:?} within {deadline:?}:\n{}",
                self.output()
            );
            if !self.read_some(end - now) {
                assert!(
                    self.output().contains(needle),
                    "the terminal closed without showing {needle:?}:\n{}",
                    self.output()
                );
            }
        }
    }

    /// Types `text`.
    pub fn send(&mut self, text: &str) {
        self.master
            .write_all(text.as_bytes())
            .expect("write to the terminal");
    }

    /// Reads the rest of the output and waits for the command to exit; `None` if it is
    /// still running at `deadline` (it is then killed).
    pub fn wait(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + deadline;
        loop {
            let alive = self.read_some(Duration::from_millis(50));
            if let Ok(Some(status)) = self.child.try_wait() {
                while self.read_some(Duration::from_millis(50)) {
                    if Instant::now() > end {
                        break;
                    }
                }
                return Some(status);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            if !alive {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of terminal output, with carriage returns removed.
pub fn terminal_lines(output: &str) -> Vec<String> {
    output
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}
