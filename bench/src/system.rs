//! System figures: berthd start-up, idle RSS, `/_ping` and `/info` latency, `berth version`
//! and `berth info` wall time, and the same against the reference dockerd with ratios.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::client::{check_output, docker_cli, time_command};
use crate::daemon::Berthd;
use crate::dockerd::Reference;
use crate::http::{self, Endpoint, KeepAlive};
use crate::procfs;
use crate::stats::{measure, ratio, ratio_of, report, Summary};
use crate::Options;

/// Goals from the issue, printed next to the figures (not enforced).
const RSS_GOAL_MB: f64 = 15.0;
const VERSION_GOAL_MS: f64 = 5.0;
/// How long a daemon sits idle before its RSS is read.
const IDLE_SETTLE: Duration = Duration::from_secs(1);

pub fn run(bin_dir: &Path, options: &Options) -> Result<(), String> {
    // Start-up: fresh data roots each time.
    let mut starts = Vec::new();
    for _ in 0..options.starts {
        crate::interrupt::check()?;
        starts.push(Berthd::start(bin_dir)?.started_in);
    }
    report(
        "berthd start to first /_ping",
        Summary::from_samples(starts).line(),
    );

    let daemon = Berthd::start(bin_dir)?;
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
        .and_then(|()| time_command(options.runs, || berth_cmd(&["version"])));
    match &berth_version {
        Ok(summary) => report(
            "berth version (wall)",
            format!("{} (goal <= {VERSION_GOAL_MS} ms)", summary.line()),
        ),
        Err(e) => report("berth version (wall)", format!("not measured: {e}")),
    }
    match check_output(berth_cmd(&["info"]), "Server Version:")
        .and_then(|()| time_command(options.runs, || berth_cmd(&["info"])))
    {
        Ok(summary) => report("berth info (wall)", summary.line()),
        Err(e) => report("berth info (wall)", format!("not measured: {e}")),
    }

    if let Some(docker) = docker_cli() {
        match time_command(options.runs, || {
            let mut c = Command::new(&docker);
            c.args(["-H", &daemon.host(), "version"])
                .env_remove("DOCKER_HOST");
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

fn compare_with_dockerd(
    options: &Options,
    berthd_idle_kib: u64,
    berthd_api: &[(String, Summary)],
    berth_version: Option<Summary>,
) -> Result<(), String> {
    let reference = match Reference::find() {
        Ok(reference) => reference,
        Err(e) => {
            report("dockerd", format!("not measured: {e}"));
            return Ok(());
        }
    };
    report("dockerd", reference.describe());
    std::thread::sleep(IDLE_SETTLE);
    match reference.rss() {
        Some(rss) => {
            report(&format!("{} idle RSS", rss.label()), rss.line());
            report(
                &format!("ratio idle RSS {}/berthd", rss.label()),
                ratio_of(rss.total_kib() as f64, berthd_idle_kib as f64),
            );
        }
        None => report(
            "dockerd idle RSS",
            "not measured: dockerd PID unknown (set BENCH_DOCKERD_PID)",
        ),
    }
    let docker_api = api_latencies(&reference.endpoint(), options.requests)?;
    for ((name, theirs), (_, ours)) in docker_api.iter().zip(berthd_api) {
        report(&format!("dockerd {name}"), theirs.line());
        report(&format!("ratio {name} dockerd/berthd"), ratio(theirs, ours));
    }
    let Some(docker) = docker_cli() else {
        report(
            "docker version -> dockerd (wall)",
            "not measured: no docker CLI on PATH",
        );
        return Ok(());
    };
    let host = reference.host();
    let docker_version = time_command(options.runs, || {
        let mut c = Command::new(&docker);
        c.args(["-H", &host, "version"]).env_remove("DOCKER_HOST");
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
