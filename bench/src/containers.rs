//! Container figures: `run --rm busybox true`; create / start / stop -t 0 / rm one by one;
//! 50 × `run -d` then one `rm -f` of them all; memory of the daemon and of the per-container
//! shims with 100 running containers; 500 running containers and the `ps -a` latency with
//! them. For berthd and for a private dockerd started in the same run, with ratios; every
//! container uses `--network none` on both engines (the private dockerd has no bridge).
//!
//! The figures run against this run's own copies of berthd, berth-shim, berth-init and
//! berth, so that a rebuild of the shared target folder during the run changes nothing and
//! this run's shims are told apart from any other process by their path.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::{docker_cli, Client};
use crate::daemon::Berthd;
use crate::dockerd::{Dockerd, TreeRss};
use crate::http::{self, Endpoint, KeepAlive};
use crate::interrupt;
use crate::procfs::{self, Stat};
use crate::stats::{measure, measure_parts, ratio, ratio_of, report, Summary};
use crate::tempdir::TempDir;
use crate::Options;

/// The test image, `busybox:latest` from the fixture script.
const IMAGE: &str = "busybox";
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/make-busybox-image.sh"
);
/// Goals from the containers issue, printed next to berthd's figures (not enforced).
const RUN_GOAL_MS: f64 = 40.0;
const PS_GOAL_MS: f64 = 20.0;
const SHIM_GOAL_MB: f64 = 3.0;
/// Containers of the `run -d` batch figure, and of the memory figures.
const BATCH: usize = 50;
const MEMORY_CONTAINERS: usize = 100;
/// How long the daemons sit still before their memory is read.
const SETTLE: Duration = Duration::from_secs(1);
/// How long the shims of removed containers get to exit before they count as left over.
const SHIM_EXIT_DEADLINE: Duration = Duration::from_secs(10);
/// The longest one CLI command may take before it is stopped and its figure fails.
const CLI_DEADLINE: Duration = Duration::from_secs(120);
/// berthd's temporary folder is `$TMPDIR/bb-PID-N`, short, because berth-shim makes its
/// unix sockets in `EXEC_ROOT/containers/ID/` and a socket path must fit in 108 bytes.
const BERTHD_DIR_PREFIX: &str = "bb";

/// The body of `POST /containers/create` for a long-running container.
const SLEEPER: &str =
    r#"{"Image":"busybox","Cmd":["sleep","1000"],"HostConfig":{"NetworkMode":"none"}}"#;

/// One engine under test: a daemon, the CLIs bound to it and how to find its shims.
struct Engine {
    daemon: &'static str,
    endpoint: Endpoint,
    pid: u32,
    /// The daemon's temporary folder (its socket's parent), holding its data root.
    dir: PathBuf,
    /// CLIs bound to the daemon, the engine's own first (berth for berthd).
    clients: Vec<Client>,
    shims: Shims,
}

impl Engine {
    fn data_root(&self) -> PathBuf {
        self.dir.join("data")
    }
}

/// How the per-container shims of one daemon of this run are told apart from every other
/// process on the machine (never by name alone).
enum Shims {
    /// berth-shim: its argv[0] is the copy of berth-shim in this run's own folder.
    Berth(PathBuf),
    /// containerd-shim-runc-v2 of the private dockerd: an argument (its containerd's
    /// `-address`) lies in that dockerd's temporary folder.
    Containerd(PathBuf),
}

impl Shims {
    fn name(&self) -> &'static str {
        match self {
            Shims::Berth(_) => "berth-shim",
            Shims::Containerd(_) => "containerd-shim",
        }
    }

    fn matches(&self, argv: &[String]) -> bool {
        let Some(program) = argv.first() else {
            return false;
        };
        match self {
            Shims::Berth(binary) => Path::new(program) == binary,
            Shims::Containerd(dir) => {
                Path::new(program)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("containerd-shim"))
                    && argv.iter().any(|a| a.contains(&inside(dir)))
            }
        }
    }

    /// The running shims of this daemon. With `orphans_only`, only children of PID 1 (a
    /// shim detaches from its daemon, so that is where the running ones are).
    fn find(&self, orphans_only: bool) -> Vec<Stat> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| self.matches(&cmdline(*pid)))
            .filter_map(procfs::stat)
            .filter(|s| !orphans_only || s.ppid == 1)
            .collect()
    }
}

/// `DIR/`: what every path inside DIR starts with (and `DIR-1` does not).
fn inside(dir: &Path) -> String {
    format!("{}/", dir.display())
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Memory of a set of processes: the sum of their `VmRSS`, of their proportional share
/// (`Pss` of `smaps_rollup`: shared pages such as the binary's text counted once over
/// all of them) and of their private anonymous memory (`RssAnon`).
#[derive(Debug, Default, Clone, Copy)]
struct Memory {
    count: usize,
    rss_kib: u64,
    pss_kib: u64,
    anon_kib: u64,
}

impl Memory {
    fn of(processes: &[Stat]) -> Memory {
        let mut m = Memory::default();
        for p in processes {
            let Some(rss) = procfs::rss_kib(p.pid) else {
                continue;
            };
            m.count += 1;
            m.rss_kib += rss;
            m.pss_kib += kib_field(&format!("/proc/{}/smaps_rollup", p.pid), "Pss:").unwrap_or(0);
            m.anon_kib += kib_field(&format!("/proc/{}/status", p.pid), "RssAnon:").unwrap_or(0);
        }
        m
    }

    /// `4.3 MB (PSS 1.1 MB, anonymous 0.6 MB)` per process.
    fn per_process(&self) -> String {
        let n = self.count.max(1) as u64;
        format!(
            "{} (PSS {}, anonymous {})",
            procfs::mib(self.rss_kib / n),
            procfs::mib(self.pss_kib / n),
            procfs::mib(self.anon_kib / n)
        )
    }
}

fn kib_field(path: &str, name: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn run(bin_dir: &Path, options: &Options) -> Result<(), String> {
    let work = TempDir::new("berth-bench-containers")?;
    let bins = copy_binaries(bin_dir, &work.join("bin"))?;
    let image = work.join("busybox.tar");
    let out = Command::new("bash")
        .arg(FIXTURE)
        .arg(&image)
        .output()
        .map_err(|e| format!("bash {FIXTURE}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{FIXTURE} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    report(
        "test image",
        format!("busybox:latest from {FIXTURE}; containers use --network none on both engines"),
    );

    let berth = bins.join("berth");
    let berth_cli = match Command::new(&berth).args(["run", "--help"]).output() {
        Ok(out) if out.status.success() => {
            report("berthd CLIs", "berth and the docker CLI");
            true
        }
        Ok(out) => {
            report(
                "berthd CLIs",
                format!(
                    "docker CLI only: `berth run --help` failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            );
            false
        }
        Err(e) => {
            report(
                "berthd CLIs",
                format!("docker CLI only: {}: {e}", berth.display()),
            );
            false
        }
    };
    let setup = Setup {
        bins,
        image,
        berth_cli,
    };

    report("load average before", load_average());
    with_engines(&setup, |engines| {
        run_rm(engines, options)?;
        lifecycle(engines, options)?;
        batch(engines, options)
    })?;
    with_engines(&setup, |engines| {
        memory(engines, options)?;
        many(engines, options)
    })?;
    report("load average after", load_average());
    Ok(())
}

/// `/proc/loadavg`: whatever else ran on the machine weighs on the figures.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}

struct Setup {
    /// This run's copies of the binaries.
    bins: PathBuf,
    /// The busybox image tar.
    image: PathBuf,
    /// Whether the berth CLI has the container commands.
    berth_cli: bool,
}

/// Copies berthd, berth-shim, berth-init and berth into `to`.
fn copy_binaries(bin_dir: &Path, to: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    for name in ["berthd", "berth-shim", "berth-init", "berth"] {
        let from = bin_dir.join(name);
        std::fs::copy(&from, to.join(name)).map_err(|e| {
            format!(
                "copying {}: {e} (build it with `cargo build --release -p {name}`)",
                from.display()
            )
        })?;
    }
    Ok(to.to_path_buf())
}

/// Starts a fresh berthd and, when dockerd is installed, a fresh private dockerd, loads
/// the test image into both and runs `part`. Whatever happens in it, every container is
/// then removed, the shims and mounts left behind are checked for (and stopped or
/// detached), and the daemons are stopped.
fn with_engines(
    setup: &Setup,
    part: impl FnOnce(&[Engine]) -> Result<(), String>,
) -> Result<(), String> {
    let berthd = Berthd::start_in(&setup.bins, BERTHD_DIR_PREFIX)?;
    let mut clients = Vec::new();
    if setup.berth_cli {
        clients.push(Client::new(setup.bins.join("berth"), berthd.host()));
    }
    if let Some(docker) = docker_cli() {
        clients.push(Client::new(docker, berthd.host()));
    }
    let mut engines = vec![Engine {
        daemon: "berthd",
        endpoint: berthd.endpoint(),
        pid: berthd.pid(),
        dir: socket_dir(&berthd.endpoint()),
        clients,
        shims: Shims::Berth(setup.bins.join("berth-shim")),
    }];
    let dockerd = match Dockerd::binary() {
        Some(binary) => match Dockerd::start(&binary) {
            Ok(d) => Some(d),
            Err(e) => {
                report("dockerd", format!("not measured: {e}"));
                None
            }
        },
        None => {
            report(
                "dockerd",
                "not measured: container figures need a private dockerd (/usr/sbin/dockerd not installed, or BENCH_DOCKERD=none)",
            );
            None
        }
    };
    if let Some(d) = &dockerd {
        let dir = socket_dir(&d.endpoint());
        engines.push(Engine {
            daemon: "dockerd",
            endpoint: d.endpoint(),
            pid: d.pid(),
            clients: docker_cli()
                .map(|cli| Client::new(cli, d.host()))
                .into_iter()
                .collect(),
            shims: Shims::Containerd(dir.clone()),
            dir,
        });
    }
    for engine in &engines {
        report(
            engine.daemon,
            format!(
                "{} (pid {}, storage driver {})",
                engine.endpoint.display(),
                engine.pid,
                storage_driver(&engine.endpoint)
            ),
        );
    }

    let result = engines
        .iter()
        .try_for_each(|engine| load_image(engine, &setup.image))
        .and_then(|()| part(&engines));

    let mut clean = Ok(());
    for engine in &engines {
        if let Err(e) = clean_up(engine) {
            eprintln!("berth-bench: cleaning up {}: {e}", engine.daemon);
            clean = Err(e);
        }
    }
    let shims: Vec<Shims> = engines.into_iter().map(|e| e.shims).collect();
    drop(berthd);
    drop(dockerd);
    // Anything a daemon left running when it stopped.
    for shim in &shims {
        stop_shims(shim);
    }
    result.and(clean)
}

/// The folder holding a daemon's socket: the daemon's temporary folder.
fn socket_dir(endpoint: &Endpoint) -> PathBuf {
    match endpoint {
        Endpoint::Unix(path) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
        Endpoint::Tcp(_) => PathBuf::new(),
    }
}

fn storage_driver(endpoint: &Endpoint) -> String {
    get_json(endpoint, "/info")
        .ok()
        .and_then(|info| info.get("Driver")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

fn load_image(engine: &Engine, image: &Path) -> Result<(), String> {
    let client = engine
        .clients
        .first()
        .ok_or_else(|| format!("{}: no CLI to load the test image with", engine.daemon))?;
    let (out, _) = cli(client, &["load", "-i", &image.to_string_lossy()])?;
    if !out.contains("busybox:latest") {
        return Err(format!(
            "{}: `load` did not report busybox:latest: {out}",
            engine.daemon
        ));
    }
    Ok(())
}

/// Removes every container of the daemon, waits for their shims to exit and checks that no
/// overlay mount of its data root and no shim of this run is left; stops leftover shims.
fn clean_up(engine: &Engine) -> Result<(), String> {
    let removed = match list_ids(&engine.endpoint, true) {
        Ok(ids) => remove_parallel(&engine.endpoint, &ids, 8).map(|_| ()),
        Err(e) => Err(e),
    };
    let left = leftovers(engine);
    if left.shims > 0 {
        stop_shims(&engine.shims);
    }
    removed?;
    match left {
        Leftovers {
            mounts: 0,
            shims: 0,
        } => Ok(()),
        Leftovers { mounts, shims } => Err(format!(
            "after removing every container, {mounts} overlay mounts of {} were left and {shims} {} processes (stopped)",
            engine.data_root().display(),
            engine.shims.name()
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Leftovers {
    mounts: usize,
    shims: usize,
}

impl Leftovers {
    fn line(&self, engine: &Engine) -> String {
        format!(
            "{} overlay mounts of {} in /proc/mounts, {} {} processes of this run",
            self.mounts,
            engine.data_root().display(),
            self.shims,
            engine.shims.name()
        )
    }
}

/// What is left of the containers after they were all removed: waits up to
/// SHIM_EXIT_DEADLINE for the shims to exit.
fn leftovers(engine: &Engine) -> Leftovers {
    let end = Instant::now() + SHIM_EXIT_DEADLINE;
    let mut shims = engine.shims.find(false).len();
    while shims > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        shims = engine.shims.find(false).len();
    }
    Leftovers {
        mounts: overlay_mounts(&engine.data_root()),
        shims,
    }
}

/// Overlay mounts in /proc/mounts whose mount point or layers lie in `root`.
fn overlay_mounts(root: &Path) -> usize {
    let root = inside(root);
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').nth(2) == Some("overlay") && l.contains(&root))
        .count()
}

/// SIGKILL to the shims of this run that are still running, and to the container
/// processes below them first; each PID is checked against its start time right before.
fn stop_shims(shims: &Shims) {
    for shim in shims.find(false) {
        let mut victims = procfs::descendants(shim.pid);
        victims.push(shim);
        for process in &victims {
            if procfs::still_running(process) {
                eprintln!(
                    "berth-bench: stopping leftover {} process {} ({})",
                    shims.name(),
                    process.pid,
                    procfs::comm(process.pid)
                );
                // SAFETY: kill(2) on a PID just confirmed to be the process recorded (same
                // start time): a shim of this run or a container process below it.
                unsafe {
                    libc::kill(process.pid as i32, libc::SIGKILL);
                }
            }
        }
    }
}

// ---- the API calls ----

fn api(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    body: Option<&str>,
    expect: &[u16],
) -> Result<Vec<u8>, String> {
    match http::request(endpoint, method, path, body.map(str::as_bytes)) {
        Ok((status, body)) if expect.contains(&status) => Ok(body),
        Ok((status, body)) => Err(format!(
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&body).trim()
        )),
        Err(e) => Err(format!("{method} {path}: {e}")),
    }
}

fn get_json(endpoint: &Endpoint, path: &str) -> Result<serde_json::Value, String> {
    let body = api(endpoint, "GET", path, None, &[200])?;
    serde_json::from_slice(&body).map_err(|e| format!("GET {path} is not JSON: {e}"))
}

fn create(endpoint: &Endpoint) -> Result<String, String> {
    let body = api(
        endpoint,
        "POST",
        "/containers/create",
        Some(SLEEPER),
        &[201],
    )?;
    let created: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| format!("POST /containers/create is not JSON: {e}"))?;
    created
        .get("Id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| "POST /containers/create: no Id".to_string())
}

fn start(endpoint: &Endpoint, id: &str) -> Result<(), String> {
    api(
        endpoint,
        "POST",
        &format!("/containers/{id}/start"),
        None,
        &[204],
    )
    .map(drop)
}

fn stop_now(endpoint: &Endpoint, id: &str) -> Result<(), String> {
    api(
        endpoint,
        "POST",
        &format!("/containers/{id}/stop?t=0"),
        None,
        &[204],
    )
    .map(drop)
}

fn remove(endpoint: &Endpoint, id: &str, force: bool) -> Result<(), String> {
    let query = if force { "?force=1" } else { "" };
    api(
        endpoint,
        "DELETE",
        &format!("/containers/{id}{query}"),
        None,
        &[204],
    )
    .map(drop)
}

/// IDs of the containers (`all`: also the stopped ones).
fn list_ids(endpoint: &Endpoint, all: bool) -> Result<Vec<String>, String> {
    let path = if all {
        "/containers/json?all=1"
    } else {
        "/containers/json"
    };
    let list = get_json(endpoint, path)?;
    let list = list
        .as_array()
        .ok_or_else(|| format!("GET {path} is not a list"))?;
    Ok(list
        .iter()
        .filter_map(|c| c.get("Id")?.as_str().map(str::to_string))
        .collect())
}

/// Runs `op` on the items from `workers` threads at once, each taking the next item when
/// it is done; the wall time of the whole. Stops at the first error (or interrupt).
fn parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    interruptible: bool,
    op: impl Fn(&T) -> Result<R, String> + Sync,
) -> Result<(Vec<R>, Duration), String> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    let errors = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                if failed.load(Ordering::SeqCst) || (interruptible && interrupt::check().is_err()) {
                    return;
                }
                let Some(item) = items.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return;
                };
                match op(item) {
                    Ok(r) => results.lock().unwrap().push(r),
                    Err(e) => {
                        failed.store(true, Ordering::SeqCst);
                        errors.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let took = started.elapsed();
    if interruptible {
        interrupt::check()?;
    }
    let results = results.into_inner().unwrap();
    match errors.into_inner().unwrap().into_iter().next() {
        Some(e) => Err(format!(
            "{} of {} done, then: {e}",
            results.len(),
            items.len()
        )),
        None => Ok((results, took)),
    }
}

/// Creates and starts `n` sleeping containers from `workers` API clients at once.
fn start_parallel(
    endpoint: &Endpoint,
    n: usize,
    workers: usize,
) -> Result<(Vec<String>, Duration), String> {
    let slots: Vec<usize> = (0..n).collect();
    parallel(&slots, workers, true, |_| {
        let id = create(endpoint)?;
        start(endpoint, &id)?;
        Ok(id)
    })
}

/// `DELETE /containers/{id}?force=1` of `ids` from `workers` API clients at once.
fn remove_parallel(
    endpoint: &Endpoint,
    ids: &[String],
    workers: usize,
) -> Result<Duration, String> {
    // Not interruptible: a removal is also the clean-up after an interrupt.
    parallel(ids, workers, false, |id| remove(endpoint, id, true)).map(|(_, took)| took)
}

// ---- the CLIs ----

/// Runs a CLI command once, like `Client::timed`: wall time from spawn to exit, output
/// read through pipes; it must succeed. Unlike it, a command still running after
/// CLI_DEADLINE (or at Ctrl-C) is killed and fails its figure instead of hanging the bench;
/// the signal goes through a pidfd, so it can only reach that child.
fn cli(client: &Client, args: &[&str]) -> Result<(String, Duration), String> {
    let what = format!("`{} {}`", client.name(), args.join(" "));
    let mut command = client.command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("{what}: {e}"))?;
    let pidfd = pidfd_open(child.id());
    let stdout = child.stdout.take().map(read_in_thread);
    let stderr = child.stderr.take().map(read_in_thread);
    let stopped = match &pidfd {
        Some(fd) => wait_or_kill(fd, started + CLI_DEADLINE),
        None => None,
    };
    let status = child.wait().map_err(|e| format!("{what}: {e}"))?;
    let took = started.elapsed();
    let collect = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
        reader
            .and_then(|r| r.join().ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    if let Some(why) = stopped {
        return Err(format!("{what} killed: {why}"));
    }
    if !status.success() {
        let message = if stderr.trim().is_empty() {
            stdout.trim()
        } else {
            stderr.trim()
        };
        return Err(format!("{what} failed ({status}): {message}"));
    }
    Ok((stdout, took))
}

/// Wall time of a CLI command, `runs` times after one warm-up run.
fn cli_timing(client: &Client, runs: usize, args: &[&str]) -> Result<Summary, String> {
    measure(runs, 1, || cli(client, args).map(drop))
}

fn read_in_thread(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        bytes
    })
}

/// A pidfd for our own unreaped child (so its PID cannot have been reused).
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a PID and flags and returns a new file descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a non-negative return is a new descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits until the process exits (its pidfd becomes readable); at `deadline` or on an
/// interrupt, SIGKILLs it through the pidfd and says why. None when it exited by itself.
fn wait_or_kill(pidfd: &OwnedFd, deadline: Instant) -> Option<String> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let why = if interrupt::check().is_err() {
            "interrupted".to_string()
        } else if left.is_zero() {
            format!("still running after {CLI_DEADLINE:?}")
        } else {
            let mut poll = libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, 1000) as libc::c_int;
            // SAFETY: one valid pollfd that lives across the call.
            if unsafe { libc::poll(&mut poll, 1, ms) } > 0 {
                return None;
            }
            continue;
        };
        // SAFETY: pidfd_send_signal(2) on the pidfd of our own child: it cannot reach
        // another process even if the child has already exited.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
        return Some(why);
    }
}

// ---- printing ----

/// One measured line of a figure: which daemon, through what (`berth CLI`, `docker CLI`,
/// `API`), and the result or why there is none.
struct Row {
    daemon: &'static str,
    via: String,
    result: Result<Summary, String>,
}

/// Prints `DAEMON NAME (VIA, MEASURE): summary` for each row, then for every berthd row the ratio
/// of the dockerd row through the same means, and of dockerd through the docker CLI to
/// berthd through the berth CLI. `per` divides the medians by a container count.
fn print_figure(name: &str, measure: &str, goal: Option<&str>, per: Option<usize>, rows: &[Row]) {
    for row in rows {
        let label = if measure.is_empty() {
            format!("{} {name} ({})", row.daemon, row.via)
        } else {
            format!("{} {name} ({}, {measure})", row.daemon, row.via)
        };
        match &row.result {
            Ok(summary) => {
                let mut line = summary.line();
                if let Some(n) = per {
                    line.push_str(&format!(
                        ", {:.1} ms per container",
                        summary.median.as_secs_f64() * 1000.0 / n as f64
                    ));
                }
                if let (Some(goal), "berthd") = (goal, row.daemon) {
                    line.push_str(&format!(" ({goal})"));
                }
                report(&label, line);
            }
            Err(e) => report(&label, format!("not measured: {e}")),
        }
    }
    let ok = |daemon: &str, via: &str| {
        rows.iter()
            .find(|r| r.daemon == daemon && r.via == via)
            .and_then(|r| r.result.as_ref().ok())
    };
    for ours in rows.iter().filter(|r| r.daemon == "berthd") {
        let Ok(summary) = &ours.result else {
            continue;
        };
        if let Some(theirs) = ok("dockerd", &ours.via) {
            report(
                &format!("ratio {name} ({}) dockerd/berthd", ours.via),
                ratio(theirs, summary),
            );
        } else if ours.via == "berth CLI" {
            if let Some(theirs) = ok("dockerd", "docker CLI") {
                report(
                    &format!("ratio {name} dockerd (docker CLI) / berthd (berth CLI)"),
                    ratio(theirs, summary),
                );
            }
        }
    }
}

/// One row per CLI of each engine, measured by `op`.
fn cli_rows(
    engines: &[Engine],
    mut op: impl FnMut(&Engine, &Client) -> Result<Summary, String>,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for engine in engines {
        if engine.clients.is_empty() {
            rows.push(Row {
                daemon: engine.daemon,
                via: "docker CLI".into(),
                result: Err("no docker CLI on PATH".into()),
            });
        }
        for client in &engine.clients {
            let result = op(engine, client);
            interrupt::check()?;
            // Whatever a failed measurement left behind must not weigh on the next one.
            if result.is_err() {
                let _ = list_ids(&engine.endpoint, true)
                    .and_then(|ids| remove_parallel(&engine.endpoint, &ids, 8));
            }
            rows.push(Row {
                daemon: engine.daemon,
                via: format!("{} CLI", client.name()),
                result,
            });
        }
    }
    Ok(rows)
}

fn ms_goal(goal: f64) -> String {
    format!("goal <= {goal} ms")
}

// ---- the figures ----

/// Figure 1: `run --rm busybox true` through each CLI.
fn run_rm(engines: &[Engine], options: &Options) -> Result<(), String> {
    let args = ["run", "--rm", "--network", "none", IMAGE, "true"];
    let rows = cli_rows(engines, |engine, client| {
        let summary = cli_timing(client, options.runs, &args)?;
        let left = list_ids(&engine.endpoint, true)?.len();
        if left > 0 {
            return Err(format!("{left} containers left after `run --rm`"));
        }
        Ok(summary)
    })?;
    print_figure(
        "run --rm busybox true",
        "wall",
        Some(&ms_goal(RUN_GOAL_MS)),
        None,
        &rows,
    );
    Ok(())
}

/// Figure 2: create, start, stop -t 0 and rm of a sleeping container, each timed on its own
/// through the raw API (a new connection per request, as the CLIs do).
fn lifecycle(engines: &[Engine], options: &Options) -> Result<(), String> {
    const STEPS: [&str; 4] = [
        "container create",
        "container start",
        "container stop -t 0",
        "container rm",
    ];
    let mut per_engine: Vec<(&'static str, Result<[Summary; 4], String>)> = Vec::new();
    for engine in engines {
        let endpoint = &engine.endpoint;
        let mut samples: [Vec<Duration>; 4] = Default::default();
        let result = {
            let mut cycle = |record: bool| -> Result<(), String> {
                let t = Instant::now();
                let id = create(endpoint)?;
                let created = t.elapsed();
                let t = Instant::now();
                start(endpoint, &id)?;
                let started = t.elapsed();
                let t = Instant::now();
                stop_now(endpoint, &id)?;
                let stopped = t.elapsed();
                let t = Instant::now();
                remove(endpoint, &id, false)?;
                let removed = t.elapsed();
                if record {
                    for (s, d) in samples.iter_mut().zip([created, started, stopped, removed]) {
                        s.push(d);
                    }
                }
                Ok(())
            };
            let mut result = cycle(false);
            for _ in 0..options.runs {
                if result.is_err() {
                    break;
                }
                interrupt::check()?;
                result = cycle(true);
            }
            result
        };
        per_engine.push((
            engine.daemon,
            result.map(|()| samples.map(Summary::from_samples)),
        ));
        if per_engine.last().is_some_and(|(_, r)| r.is_err()) {
            let _ = list_ids(endpoint, true).and_then(|ids| remove_parallel(endpoint, &ids, 8));
        }
    }
    for (i, step) in STEPS.iter().enumerate() {
        let rows: Vec<Row> = per_engine
            .iter()
            .map(|(daemon, result)| Row {
                daemon,
                via: "API".into(),
                result: result.as_ref().map(|s| s[i]).map_err(Clone::clone),
            })
            .collect();
        print_figure(step, "", None, None, &rows);
    }
    Ok(())
}

/// Figure 3: BATCH × `run -d busybox sleep 1000` one after the other, then one `rm -f` of them
/// all, `--rounds` times; the totals.
fn batch(engines: &[Engine], options: &Options) -> Result<(), String> {
    let mut runs = Vec::new();
    let mut removals = Vec::new();
    let rows = cli_rows(engines, |engine, client| {
        let mut run_samples = Vec::new();
        let summary = measure_parts(options.rounds, |_| {
            let started = Instant::now();
            let mut ids = Vec::with_capacity(BATCH);
            for _ in 0..BATCH {
                interrupt::check()?;
                let (out, _) = cli(
                    client,
                    &["run", "-d", "--network", "none", IMAGE, "sleep", "1000"],
                )?;
                ids.push(out.trim().to_string());
            }
            run_samples.push(started.elapsed());
            let running = list_ids(&engine.endpoint, false)?.len();
            if running != BATCH {
                return Err(format!(
                    "{running} containers running after {BATCH} `run -d`"
                ));
            }
            let mut rm = vec!["rm", "-f"];
            rm.extend(ids.iter().map(String::as_str));
            let (_, took) = cli(client, &rm)?;
            let left = list_ids(&engine.endpoint, true)?.len();
            if left > 0 {
                return Err(format!("{left} containers left after `rm -f`"));
            }
            Ok(took)
        });
        runs.push(
            summary
                .as_ref()
                .map(|_| Summary::from_samples(run_samples))
                .map_err(Clone::clone),
        );
        removals.push(summary.clone());
        summary
    })?;
    let with = |results: Vec<Result<Summary, String>>| -> Vec<Row> {
        rows.iter()
            .zip(results)
            .map(|(row, result)| Row {
                daemon: row.daemon,
                via: row.via.clone(),
                result: row.result.as_ref().map_err(Clone::clone).and(result),
            })
            .collect()
    };
    print_figure(
        &format!("{BATCH} x run -d busybox sleep 1000, one after the other"),
        "total wall",
        None,
        Some(BATCH),
        &with(runs),
    );
    print_figure(
        &format!("rm -f of those {BATCH} in one command"),
        "total wall",
        None,
        Some(BATCH),
        &with(removals),
    );
    Ok(())
}

/// The daemon's memory and that of its shims, with `n` containers running.
struct EngineMemory {
    daemon: TreeRss,
    shims: Memory,
}

impl EngineMemory {
    fn take(engine: &Engine) -> Result<EngineMemory, String> {
        let daemon = TreeRss::of(engine.daemon, engine.pid)
            .ok_or_else(|| format!("cannot read the VmRSS of {}", engine.daemon))?;
        Ok(EngineMemory {
            daemon,
            shims: Memory::of(&engine.shims.find(true)),
        })
    }

    fn total_kib(&self) -> u64 {
        self.daemon.total_kib() + self.shims.rss_kib
    }

    /// `berthd+shims` or `dockerd+containerd+shims`
    fn label(&self) -> String {
        format!("{}+shims", self.daemon.label())
    }

    /// `150.0 MB (dockerd 60.1 MB + containerd 51.9 MB + 100 shims 38.0 MB)`
    fn line(&self, shim: &str) -> String {
        let mut parts = vec![format!(
            "{} {}",
            self.daemon.name,
            procfs::mib(self.daemon.kib)
        )];
        for (name, kib) in &self.daemon.children {
            parts.push(format!("{name} {}", procfs::mib(*kib)));
        }
        parts.push(format!(
            "{} {shim} {}",
            self.shims.count,
            procfs::mib(self.shims.rss_kib)
        ));
        format!("{} ({})", procfs::mib(self.total_kib()), parts.join(" + "))
    }
}

/// Prints the memory of both engines with `n` containers running, and the ratio.
fn print_memory(engines: &[Engine], n: usize, taken: &[Result<EngineMemory, String>]) {
    for (engine, memory) in engines.iter().zip(taken) {
        let shim = engine.shims.name();
        match memory {
            Ok(m) => {
                report(
                    &format!("{} RSS with {n} running containers", m.daemon.label()),
                    m.daemon.line(),
                );
                let goal = if engine.daemon == "berthd" {
                    format!(" (goal <= {SHIM_GOAL_MB} MB)")
                } else {
                    String::new()
                };
                let count = if m.shims.count == n {
                    String::new()
                } else {
                    format!(" (found {} shims for {n} containers)", m.shims.count)
                };
                report(
                    &format!("{shim} RSS per container (sum of VmRSS / {n})"),
                    format!(
                        "{}{goal}{count}",
                        procfs::mib(m.shims.rss_kib / n.max(1) as u64)
                    ),
                );
                report(
                    &format!("{shim} per process (VmRSS, PSS, RssAnon)"),
                    m.shims.per_process(),
                );
                report(
                    &format!("{} RSS with {n} running containers", m.label()),
                    m.line(shim),
                );
            }
            Err(e) => report(
                &format!("{} RSS with {n} running containers", engine.daemon),
                format!("not measured: {e}"),
            ),
        }
    }
    if let [Ok(ours), Ok(theirs)] = taken {
        report(
            &format!(
                "ratio RSS with {n} running containers {}/{}",
                theirs.label(),
                ours.label()
            ),
            ratio_of(theirs.total_kib() as f64, ours.total_kib() as f64),
        );
        report(
            &format!(
                "ratio shim RSS per container {}/{}",
                engines[1].shims.name(),
                engines[0].shims.name()
            ),
            ratio_of(
                theirs.shims.rss_kib as f64 / theirs.shims.count.max(1) as f64,
                ours.shims.rss_kib as f64 / ours.shims.count.max(1) as f64,
            ),
        );
    }
}

/// The figures of [`with_running`]: the parallel start, what was measured with the
/// containers running (per engine), and their parallel removal.
struct Running<T> {
    starts: Vec<Row>,
    results: Vec<Result<T, String>>,
    removals: Vec<Row>,
    /// What each daemon left behind after the removal.
    leftovers: Vec<(String, String)>,
}

impl<T> Running<T> {
    fn print_leftovers(&self) {
        for (name, line) in &self.leftovers {
            report(name, line);
        }
    }
}

/// Starts `n` sleeping containers in parallel, as a figure, then `then` with them running.
fn with_running<T>(
    engines: &[Engine],
    n: usize,
    options: &Options,
    mut then: impl FnMut(&Engine) -> Result<T, String>,
) -> Result<Running<T>, String> {
    let mut starts = Vec::new();
    let mut results = Vec::new();
    let mut removals = Vec::new();
    let mut leftover_lines = Vec::new();
    for engine in engines {
        let started = start_parallel(&engine.endpoint, n, options.parallel);
        interrupt::check()?;
        let result = match &started {
            Ok(_) => match list_ids(&engine.endpoint, false) {
                Ok(ids) if ids.len() == n => then(engine),
                Ok(ids) => Err(format!("{} containers running, not {n}", ids.len())),
                Err(e) => Err(e),
            },
            Err(e) => Err(format!("the containers did not start: {e}")),
        };
        interrupt::check()?;
        starts.push(Row {
            daemon: engine.daemon,
            via: "API".into(),
            result: started.map(|(_, took)| Summary::from_samples(vec![took])),
        });
        results.push(result);
        let removed = list_ids(&engine.endpoint, true)
            .and_then(|ids| remove_parallel(&engine.endpoint, &ids, options.parallel));
        let left = leftovers(engine);
        leftover_lines.push((
            format!("{} after rm -f of the {n}", engine.daemon),
            left.line(engine),
        ));
        removals.push(Row {
            daemon: engine.daemon,
            via: "API".into(),
            result: removed.and_then(|took| {
                if left.mounts + left.shims > 0 {
                    return Err(format!("not cleaned up: {}", left.line(engine)));
                }
                Ok(Summary::from_samples(vec![took]))
            }),
        });
    }
    Ok(Running {
        starts,
        results,
        removals,
        leftovers: leftover_lines,
    })
}

/// Figure 4: Memory: the daemons idle with the image loaded, then with MEMORY_CONTAINERS running.
fn memory(engines: &[Engine], options: &Options) -> Result<(), String> {
    std::thread::sleep(SETTLE);
    let idle: Vec<Option<TreeRss>> = engines
        .iter()
        .map(|e| TreeRss::of(e.daemon, e.pid))
        .collect();
    for (engine, rss) in engines.iter().zip(&idle) {
        match rss {
            Some(rss) => report(
                &format!("{} idle RSS (image loaded, no container)", rss.label()),
                rss.line(),
            ),
            None => report(
                &format!("{} idle RSS", engine.daemon),
                "not measured: cannot read VmRSS",
            ),
        }
    }
    if let [Some(ours), Some(theirs)] = idle.as_slice() {
        report(
            &format!("ratio idle RSS {}/berthd", theirs.label()),
            ratio_of(theirs.total_kib() as f64, ours.total_kib() as f64),
        );
    }

    let n = MEMORY_CONTAINERS;
    let running = with_running(engines, n, options, |engine| {
        std::thread::sleep(SETTLE);
        EngineMemory::take(engine)
    })?;
    let clients = options.parallel;
    print_figure(
        &format!("start {n} sleeping containers, create+start from {clients} clients at once"),
        "total wall",
        None,
        Some(n),
        &running.starts,
    );
    print_memory(engines, n, &running.results);
    print_figure(
        &format!("rm -f of {n} running containers, from {clients} clients at once"),
        "total wall",
        None,
        Some(n),
        &running.removals,
    );
    running.print_leftovers();
    Ok(())
}

/// What was measured with many containers running.
struct Crowd {
    memory: Result<EngineMemory, String>,
    ps_cli: Vec<Row>,
    list_new: Result<Summary, String>,
    list_kept: Result<Summary, String>,
}

/// Figure 5: `--containers` (500) sleeping containers at once, then `ps -a` through each CLI and
/// `GET /containers/json?all=1` raw; memory with them; their removal and its clean-up.
fn many(engines: &[Engine], options: &Options) -> Result<(), String> {
    let n = options.containers;
    let mut running = with_running(engines, n, options, |engine| {
        std::thread::sleep(SETTLE);
        let memory = EngineMemory::take(engine);
        let mut ps_cli = Vec::new();
        for client in &engine.clients {
            let result = cli(client, &["ps", "-a"]).and_then(|(out, _)| {
                let rows = out.lines().count().saturating_sub(1);
                if rows != n {
                    return Err(format!("`ps -a` printed {rows} rows, not {n}"));
                }
                cli_timing(client, options.runs, &["ps", "-a"])
            });
            interrupt::check()?;
            ps_cli.push(Row {
                daemon: engine.daemon,
                via: format!("{} CLI", client.name()),
                result,
            });
        }
        let path = "/containers/json?all=1";
        let list_new = measure(options.list_requests, 5, || {
            api(&engine.endpoint, "GET", path, None, &[200]).map(drop)
        });
        let list_kept = KeepAlive::open(&engine.endpoint)
            .map_err(|e| format!("{}: {e}", engine.endpoint.display()))
            .and_then(|mut conn| {
                measure(options.list_requests, 5, || match conn.get(path) {
                    Ok((200, _)) => Ok(()),
                    Ok((status, _)) => Err(format!("GET {path}: {status}")),
                    Err(e) => Err(format!("GET {path}: {e}")),
                })
            });
        Ok(Crowd {
            memory,
            ps_cli,
            list_new,
            list_kept,
        })
    })?;
    let clients = options.parallel;
    print_figure(
        &format!("start {n} sleeping containers, create+start from {clients} clients at once"),
        "total wall",
        None,
        Some(n),
        &running.starts,
    );

    let mut ps_rows = Vec::new();
    let mut new_rows = Vec::new();
    let mut kept_rows = Vec::new();
    let mut memories = Vec::new();
    for (engine, crowd) in engines.iter().zip(std::mem::take(&mut running.results)) {
        match crowd {
            Ok(crowd) => {
                ps_rows.extend(crowd.ps_cli);
                new_rows.push(Row {
                    daemon: engine.daemon,
                    via: "API, new connection".into(),
                    result: crowd.list_new,
                });
                kept_rows.push(Row {
                    daemon: engine.daemon,
                    via: "API, keep-alive".into(),
                    result: crowd.list_kept,
                });
                memories.push(crowd.memory);
            }
            Err(e) => {
                for (rows, via) in [
                    (&mut ps_rows, "CLI"),
                    (&mut new_rows, "API, new connection"),
                    (&mut kept_rows, "API, keep-alive"),
                ] {
                    rows.push(Row {
                        daemon: engine.daemon,
                        via: via.into(),
                        result: Err(e.clone()),
                    });
                }
                memories.push(Err(e));
            }
        }
    }
    let goal = ms_goal(PS_GOAL_MS);
    print_figure(
        &format!("ps -a, {n} running containers"),
        "wall",
        Some(&goal),
        None,
        &ps_rows,
    );
    print_figure(
        &format!("GET /containers/json?all=1, {n} running containers"),
        "",
        Some(&goal),
        None,
        &new_rows,
    );
    print_figure(
        &format!("GET /containers/json?all=1, {n} running containers"),
        "",
        Some(&goal),
        None,
        &kept_rows,
    );
    print_memory(engines, n, &memories);
    print_figure(
        &format!("rm -f of {n} running containers, from {clients} clients at once"),
        "total wall",
        None,
        Some(n),
        &running.removals,
    );
    running.print_leftovers();
    for engine in engines {
        if let Some(kib) = procfs::rss_kib(engine.pid) {
            report(
                &format!("{} RSS after the {n} were removed", engine.daemon),
                procfs::mib(kib),
            );
        }
    }
    Ok(())
}
