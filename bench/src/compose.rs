//! Compose figures (services run `sleep` under a shell that exits at once on SIGTERM,
//! so stop times are the engines' own):
//! `berth compose up -d` and `down` of a 5-service project (one bridge
//! network, one named volume) against the Python docker-compose 1.29 on a private dockerd
//! in the same run, and `berth compose config` of a 50-service file.
//!
//! Both daemons get their project networks from a /24 of 10.213.0.0/16 that no route or
//! address of the host uses (`default-address-pools`); the private dockerd runs with
//! `--bridge none --iptables=false` as every bench dockerd does.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::Berthd;
use crate::dockerd::Dockerd;
use crate::stats::{measure, ratio, report, Summary};
use crate::tempdir::TempDir;
use crate::Options;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/make-busybox-image.sh"
);
const DOCKER_COMPOSE: &str = "/usr/bin/docker-compose";
/// Goals from the compose issue (printed, not enforced).
const UP_DOWN_GOAL_RATIO: f64 = 5.0;
const CONFIG_GOAL_MS: f64 = 20.0;

/// Five services that stop at once on SIGTERM, on the project network, one with a volume.
const PROJECT: &str = r#"services:
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    depends_on: [api]
  api:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    depends_on: [db, cache]
    environment:
      MODE: bench
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    volumes: ["data:/data"]
  cache:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
  worker:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    depends_on: [db]
volumes:
  data: {}
"#;

/// A 50-service file with the usual keys, for the `config` figure.
fn big_file() -> String {
    let mut text = String::from("services:\n");
    for i in 0..50 {
        text.push_str(&format!(
            "  svc{i}:\n    image: \"busybox:${{TAG:-latest}}\"\n    command: sh -c 'echo {i}'\n    environment:\n      - INDEX={i}\n      - NAME=svc{i}\n    ports: [\"{}:80\"]\n    volumes: [\"data:/data\", \"./conf:/conf:ro\"]\n    labels: {{tier: t{}}}\n    depends_on: [{}]\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 10s\n",
            20000 + i,
            i % 5,
            if i == 0 {
                "db".to_string()
            } else {
                format!("svc{}", i - 1)
            }
        ));
    }
    text.push_str("  db:\n    image: busybox\nvolumes:\n  data: {}\n");
    text
}

/// A third octet X such that 10.213.X.0/24 appears in no route or address of the host.
fn free_subnet(skip: &[u8]) -> Result<u8, String> {
    let mut seen = String::new();
    for args in [&["route"][..], &["-o", "addr"][..]] {
        let out = Command::new("ip")
            .args(args)
            .output()
            .map_err(|e| format!("ip: {e}"))?;
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    (100..=250u8)
        .find(|x| !skip.contains(x) && !seen.contains(&format!("10.213.{x}.")))
        .ok_or_else(|| "no free /24 in 10.213.0.0/16".to_string())
}

fn pools(x: u8) -> String {
    format!(r#"{{"default-address-pools": [{{"base": "10.213.{x}.0/24", "size": 26}}]}}"#)
}

/// Runs one command; it must succeed.
fn run(command: &mut Command, what: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    let took = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "`{what}` failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(took)
}

/// `berth compose ...` or `docker-compose ...` against one daemon, in `dir`.
fn compose(program: &Path, host: &str, dir: &Path, args: &[&str], berth: bool) -> Command {
    let mut c = Command::new(program);
    if berth {
        c.arg("-H").arg(host).arg("compose");
    } else {
        c.env("DOCKER_HOST", host);
    }
    c.args(["-p", "bench"])
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME");
    c
}

/// `up -d` then `down -v` of the project `rounds` times (one warm-up round).
fn up_down(
    program: &Path,
    host: &str,
    dir: &Path,
    rounds: usize,
    berth: bool,
) -> Result<(Summary, Summary), String> {
    let label = if berth {
        "berth compose"
    } else {
        "docker-compose"
    };
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    for round in 0..=rounds {
        crate::interrupt::check()?;
        let up = run(
            &mut compose(program, host, dir, &["up", "-d"], berth),
            &format!("{label} up -d"),
        )?;
        let down = run(
            &mut compose(program, host, dir, &["down", "-v"], berth),
            &format!("{label} down -v"),
        )?;
        if round > 0 {
            ups.push(up);
            downs.push(down);
        }
    }
    Ok((Summary::from_samples(ups), Summary::from_samples(downs)))
}

fn load_image(berth: &Path, host: &str, tar: &Path) -> Result<(), String> {
    run(
        Command::new(berth)
            .arg("-H")
            .arg(host)
            .arg("load")
            .arg("-i")
            .arg(tar),
        "berth load",
    )
    .map(drop)
}

pub fn run_figures(bin_dir: &Path, options: &Options) -> Result<(), String> {
    let work = TempDir::new("berth-bench-compose")?;
    let tar = work.join("busybox.tar");
    run(Command::new("bash").arg(FIXTURE).arg(&tar), FIXTURE)?;
    let project = work.join("project");
    std::fs::create_dir_all(&project).map_err(|e| e.to_string())?;
    std::fs::write(project.join("compose.yaml"), PROJECT).map_err(|e| e.to_string())?;
    let berth = bin_dir.join("berth");
    let rounds = options.rounds.max(3);

    // config of 50 services: no daemon involved.
    let big = work.join("big");
    std::fs::create_dir_all(big.join("conf")).map_err(|e| e.to_string())?;
    std::fs::write(big.join("compose.yaml"), big_file()).map_err(|e| e.to_string())?;
    let config = measure(options.runs, 1, || {
        run(
            Command::new(&berth)
                .args(["compose", "config"])
                .current_dir(&big)
                .env_remove("COMPOSE_FILE"),
            "berth compose config",
        )
        .map(drop)
    })?;
    report(
        "berth compose config (50 services)",
        format!("{} (goal <= {CONFIG_GOAL_MS} ms)", config.line()),
    );
    let python = Path::new(DOCKER_COMPOSE).exists();
    if python {
        let theirs = measure(options.runs.min(10), 1, || {
            run(
                Command::new(DOCKER_COMPOSE)
                    .args(["config", "-q"])
                    .current_dir(&big)
                    .env_remove("COMPOSE_FILE"),
                "docker-compose config",
            )
            .map(drop)
        })?;
        report("docker-compose config -q (50 services)", theirs.line());
        report(
            "compose config ratio (docker-compose / berth)",
            ratio(&theirs, &config),
        );
    }

    let ours_subnet = free_subnet(&[])?;
    let berthd = Berthd::start_with_config(bin_dir, "bc", &pools(ours_subnet))?;
    load_image(&berth, &berthd.host(), &tar)?;
    let (up, down) = up_down(&berth, &berthd.host(), &project, rounds, true)?;
    report("berth compose up -d (5 services)", up.line());
    report("berth compose down -v (5 services)", down.line());
    drop(berthd);

    let Some(binary) = Dockerd::binary() else {
        report(
            "docker-compose figures",
            "skipped (no dockerd; BENCH_DOCKERD)",
        );
        return Ok(());
    };
    if !python {
        report(
            "docker-compose figures",
            format!("skipped ({DOCKER_COMPOSE} missing)"),
        );
        return Ok(());
    }
    let their_subnet = free_subnet(&[ours_subnet])?;
    let dockerd = Dockerd::start_with_config(&binary, &pools(their_subnet))?;
    load_image(&berth, &dockerd.host(), &tar)?;
    let (their_up, their_down) = up_down(
        Path::new(DOCKER_COMPOSE),
        &dockerd.host(),
        &project,
        rounds,
        false,
    )?;
    report(
        "docker-compose 1.29 up -d on dockerd (5 services)",
        their_up.line(),
    );
    report(
        "docker-compose 1.29 down -v on dockerd (5 services)",
        their_down.line(),
    );
    report(
        "compose up -d ratio (docker-compose+dockerd / berth+berthd)",
        format!("{} (goal >= {UP_DOWN_GOAL_RATIO}x)", ratio(&their_up, &up)),
    );
    report(
        "compose down -v ratio (docker-compose+dockerd / berth+berthd)",
        format!(
            "{} (goal >= {UP_DOWN_GOAL_RATIO}x)",
            ratio(&their_down, &down)
        ),
    );
    Ok(())
}
