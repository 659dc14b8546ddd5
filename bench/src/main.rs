//! berth-bench: measures berthd and the berth CLI, and the same figures against dockerd
//! when one is reachable, printing `name: value` lines (timings as `median (min-max) ms`).
//!
//! Usage:
//!   berth-bench [--requests N] [--runs N] [--starts N]
//!   berth-bench run NAME N -- COMMAND [ARGS...]     time any command N times

mod daemon;
mod http;
mod procfs;
mod stats;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use daemon::Berthd;
use http::{Endpoint, KeepAlive};
use stats::{measure, Summary};

/// Goals from the issue, printed next to the figures (not enforced).
const RSS_GOAL_MB: f64 = 15.0;
const VERSION_GOAL_MS: f64 = 5.0;
/// How long berthd sits idle before its RSS is read.
const IDLE_SETTLE: Duration = Duration::from_secs(1);

struct Options {
    requests: usize,
    runs: usize,
    starts: usize,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run_command(&args[1..]),
        Some("-h" | "--help") => {
            print!("{}", usage());
            Ok(())
        }
        _ => parse_options(&args).and_then(|options| bench(&options)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> &'static str {
    "Usage:\n  berth-bench [--requests N] [--runs N] [--starts N]\n  berth-bench run NAME N -- COMMAND [ARGS...]\n\n\
     Environment: BERTH_BIN_DIR (where berthd and berth are), BENCH_DOCKER_HOST or DOCKER_HOST\n\
     (a dockerd to compare with), BENCH_DOCKERD_PID (its PID, for RSS).\n"
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        requests: 2000,
        runs: 30,
        starts: 5,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("{flag} needs a positive number"))
        };
        match flag.as_str() {
            "--requests" => options.requests = value()?,
            "--runs" => options.runs = value()?,
            "--starts" => options.starts = value()?,
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    Ok(options)
}

fn report(name: &str, value: impl std::fmt::Display) {
    println!("{name}: {value}");
}

/// `berth-bench run NAME N -- COMMAND...`: the generic harness.
fn run_command(args: &[String]) -> Result<(), String> {
    let (name, n, command) = match args {
        [name, n, sep, command @ ..] if sep == "--" && !command.is_empty() => (name, n, command),
        _ => return Err(usage().to_string()),
    };
    let n: usize = n
        .parse()
        .map_err(|_| format!("N must be a number, got {n:?}"))?;
    let summary = time_command(n, || {
        let mut c = Command::new(&command[0]);
        c.args(&command[1..]);
        c
    })?;
    report(name, summary.line());
    Ok(())
}

/// Runs a command `n` times (after one unmeasured run), wall time each; it must succeed.
fn time_command(n: usize, make: impl Fn() -> Command) -> Result<Summary, String> {
    measure(n, 1, || {
        let status = make()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("{:?}: {e}", make().get_program()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{:?} failed with {status}", make()))
        }
    })
}

fn bench(options: &Options) -> Result<(), String> {
    let bin_dir = binaries()?;
    if bin_dir.ends_with("debug") {
        eprintln!("note: benchmarking debug binaries; use `cargo run --release -p berth-bench` for real figures");
    }
    report("binaries", bin_dir.display());

    // Start-up: fresh data roots each time.
    let mut starts = Vec::new();
    for _ in 0..options.starts {
        starts.push(Berthd::start(&bin_dir)?.started_in);
    }
    report(
        "berthd start to first /_ping",
        Summary::from_samples(starts).line(),
    );

    let daemon = Berthd::start(&bin_dir)?;
    std::thread::sleep(IDLE_SETTLE);
    let idle = procfs::rss_kib(daemon.pid()).ok_or("cannot read berthd's VmRSS")?;
    report(
        "berthd idle RSS",
        format!("{} (goal <= {RSS_GOAL_MB} MB)", procfs::mib(idle)),
    );

    let berthd_api = api_latencies(&daemon.endpoint(), options.requests)?;
    for (name, summary) in &berthd_api {
        report(&format!("berthd {name}"), summary.line());
    }
    if let Some(kib) = procfs::rss_kib(daemon.pid()) {
        report(
            &format!("berthd RSS after {} requests", options.requests * 4),
            procfs::mib(kib),
        );
    }

    let berth = bin_dir.join("berth");
    let berth_cmd = |args: &[&str]| {
        let mut c = Command::new(&berth);
        c.args(["-H", &daemon.host()])
            .args(args)
            .env_remove("DOCKER_HOST");
        c
    };
    let berth_version = check_output(berth_cmd(&["version"]), "Server:")
        .and_then(|()| cli_timing(options.runs, || berth_cmd(&["version"])));
    match &berth_version {
        Ok(summary) => report(
            "berth version (wall)",
            format!("{} (goal <= {VERSION_GOAL_MS} ms)", summary.line()),
        ),
        Err(e) => report("berth version (wall)", format!("not measured: {e}")),
    }
    match check_output(berth_cmd(&["info"]), "Server Version:")
        .and_then(|()| cli_timing(options.runs, || berth_cmd(&["info"])))
    {
        Ok(summary) => report("berth info (wall)", summary.line()),
        Err(e) => report("berth info (wall)", format!("not measured: {e}")),
    }

    if let Some(docker) = docker_cli() {
        match cli_timing(options.runs, || {
            let mut c = Command::new(&docker);
            c.args(["-H", &daemon.host(), "version"]);
            c
        }) {
            Ok(summary) => report("docker version -> berthd (wall)", summary.line()),
            Err(e) => report(
                "docker version -> berthd (wall)",
                format!("not measured: {e}"),
            ),
        }
    }

    compare_with_dockerd(options, idle, &berthd_api, berth_version.ok())
}

/// `/_ping` and `/info`, each on a new connection per request and on one kept-alive one.
fn api_latencies(endpoint: &Endpoint, n: usize) -> Result<Vec<(String, Summary)>, String> {
    let mut out = Vec::new();
    for path in ["/_ping", "/info"] {
        let once = measure(n, 50, || {
            expect_ok(http::request_once(endpoint, path), path)
        })?;
        out.push((format!("{path} (new connection)"), once));
        let mut conn =
            KeepAlive::open(endpoint).map_err(|e| format!("{}: {e}", endpoint.display()))?;
        let kept = measure(n, 50, || expect_ok(conn.get(path), path))?;
        out.push((format!("{path} (keep-alive)"), kept));
    }
    Ok(out)
}

fn expect_ok(result: std::io::Result<(u16, Vec<u8>)>, path: &str) -> Result<(), String> {
    match result {
        Ok((200, _)) => Ok(()),
        Ok((status, body)) => Err(format!(
            "GET {path}: {status} {}",
            String::from_utf8_lossy(&body)
        )),
        Err(e) => Err(format!("GET {path}: {e}")),
    }
}

/// Runs a command once and checks it succeeds and prints `needle`, so that a broken or
/// stub binary is not timed.
fn check_output(mut command: Command, needle: &str) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{:?}: {e}", command.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.contains(needle) {
        Ok(())
    } else {
        Err(format!(
            "{command:?} did not work ({}): {}{}",
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn cli_timing(runs: usize, make: impl Fn() -> Command) -> Result<Summary, String> {
    time_command(runs, make)
}

/// The dockerd to compare with: `BENCH_DOCKER_HOST`, `DOCKER_HOST`, or the default socket
/// when it exists; only if `/version` says it is Docker (not another berthd).
fn dockerd_endpoint() -> Option<(String, Endpoint)> {
    let host = std::env::var("BENCH_DOCKER_HOST")
        .ok()
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .filter(|h| !h.is_empty())
        .or_else(|| {
            Path::new("/var/run/docker.sock")
                .exists()
                .then(|| "unix:///var/run/docker.sock".to_string())
        })?;
    let endpoint = Endpoint::parse(&host)?;
    let (status, body) = http::request_once(&endpoint, "/version").ok()?;
    let body = String::from_utf8_lossy(&body);
    (status == 200 && body.contains("Docker") && !body.contains("Berth"))
        .then_some((host, endpoint))
}

fn compare_with_dockerd(
    options: &Options,
    berthd_idle_kib: u64,
    berthd_api: &[(String, Summary)],
    berth_version: Option<Summary>,
) -> Result<(), String> {
    let Some((host, endpoint)) = dockerd_endpoint() else {
        report(
            "dockerd",
            "not measured (set BENCH_DOCKER_HOST or DOCKER_HOST to a dockerd)",
        );
        return Ok(());
    };
    report("dockerd", &host);
    if let Some(pid) = procfs::dockerd_pid() {
        if let Some(kib) = procfs::rss_kib(pid) {
            let containerd: u64 = procfs::pids_named("containerd")
                .into_iter()
                .filter_map(procfs::rss_kib)
                .sum();
            report("dockerd RSS", procfs::mib(kib));
            report("containerd RSS", procfs::mib(containerd));
            report(
                "ratio RSS dockerd+containerd / berthd",
                format!("{:.1}x", (kib + containerd) as f64 / berthd_idle_kib as f64),
            );
        }
    } else {
        report(
            "dockerd RSS",
            "not measured (dockerd PID unknown; set BENCH_DOCKERD_PID)",
        );
    }
    let docker_api = api_latencies(&endpoint, options.requests)?;
    for ((name, theirs), (_, ours)) in docker_api.iter().zip(berthd_api) {
        report(&format!("dockerd {name}"), theirs.line());
        report(&format!("ratio {name} dockerd/berthd"), ratio(theirs, ours));
    }
    let Some(docker) = docker_cli() else {
        report("docker version (wall)", "not measured (no docker CLI)");
        return Ok(());
    };
    let docker_version = cli_timing(options.runs, || {
        let mut c = Command::new(&docker);
        c.args(["-H", &host, "version"]);
        c
    })?;
    report("docker version -> dockerd (wall)", docker_version.line());
    if let Some(ours) = berth_version {
        report(
            "ratio version CLI docker->dockerd / berth->berthd",
            ratio(&docker_version, &ours),
        );
    }
    Ok(())
}

fn ratio(theirs: &Summary, ours: &Summary) -> String {
    format!(
        "{:.1}x",
        theirs.median.as_secs_f64() / ours.median.as_secs_f64().max(1e-9)
    )
}

fn docker_cli() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("docker"))
        .find(|p| p.is_file())
}

/// Where berthd and berth are: `BERTH_BIN_DIR`, else next to this binary. Under `cargo
/// run` they are (re)built first with the same profile, so the figures are for this tree.
fn binaries() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("BERTH_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no binary directory")?.to_path_buf();
    if let Some(cargo) = std::env::var_os("CARGO") {
        let release = dir.ends_with("release");
        for package in ["berthd", "berth"] {
            let mut build = Command::new(&cargo);
            build.args(["build", "-p", package]);
            if release {
                build.arg("--release");
            }
            let status = build.status().map_err(|e| format!("cargo build: {e}"))?;
            if !status.success() {
                eprintln!(
                    "note: `cargo build -p {package}` failed; using what is in {}",
                    dir.display()
                );
            }
        }
    }
    if !dir.join("berthd").exists() {
        return Err(format!(
            "{} is missing: run `cargo build --release -p berthd -p berth` or set BERTH_BIN_DIR",
            dir.join("berthd").display()
        ));
    }
    Ok(dir)
}
