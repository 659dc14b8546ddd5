//! berth-bench: measures berthd and the berth CLI, and the same figures against a private
//! dockerd started in the same run, printing `name: value` lines (timings as
//! `median (min-max) ms`).
//!
//! Usage:
//!   berth-bench [system|images|containers|extras|registry|compose|network|build|all] [OPTIONS]   the figures (default: all)
//!   berth-bench run NAME N -- COMMAND [ARGS...]     time any command N times
//!   berth-bench generate DIR                        write the benchmark images into DIR

mod build;
mod client;
mod compose;
mod containers;
mod daemon;
mod dockerd;
mod extras;
mod http;
mod imagegen;
mod images;
mod interrupt;
mod network;
mod procfs;
mod registry;
mod stats;
mod system;
mod tempdir;

use std::process::{Command, ExitCode};

use stats::report;

pub struct Options {
    /// API requests per `/_ping` and `/info` latency figure.
    pub requests: usize,
    /// CLI runs per short wall-time figure (`version`, `info`, `images`).
    pub runs: usize,
    /// Daemon starts for the start-up figure.
    pub starts: usize,
    /// Runs per `load` and `save` figure of the 200 MB image.
    pub image_runs: usize,
    /// Requests per `GET /images/json` figure with 500 images, and per
    /// `GET /containers/json` figure with the many containers.
    pub list_requests: usize,
    /// Rounds of the 50 × `run -d` then `rm -f` figure.
    pub rounds: usize,
    /// Containers running at once for the `ps -a` figures (default 500).
    pub containers: usize,
    /// API clients starting or removing containers at once.
    pub parallel: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Suite {
    System,
    Images,
    Containers,
    Extras,
    Registry,
    Compose,
    Network,
    Build,
    All,
}

fn main() -> ExitCode {
    interrupt::install();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run_command(&args[1..]),
        Some("generate") => generate(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{}", usage());
            Ok(())
        }
        Some("system") => parse_options(&args[1..]).and_then(|o| bench(Suite::System, &o)),
        Some("images") => parse_options(&args[1..]).and_then(|o| bench(Suite::Images, &o)),
        Some("containers") => parse_options(&args[1..]).and_then(|o| bench(Suite::Containers, &o)),
        Some("extras") => parse_options(&args[1..]).and_then(|o| bench(Suite::Extras, &o)),
        Some("registry") => parse_options(&args[1..]).and_then(|o| bench(Suite::Registry, &o)),
        Some("compose") => parse_options(&args[1..]).and_then(|o| bench(Suite::Compose, &o)),
        Some("network") => parse_options(&args[1..]).and_then(|o| bench(Suite::Network, &o)),
        Some("build") => parse_options(&args[1..]).and_then(|o| bench(Suite::Build, &o)),
        Some("all") => parse_options(&args[1..]).and_then(|o| bench(Suite::All, &o)),
        _ => parse_options(&args).and_then(|o| bench(Suite::All, &o)),
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
    "Usage:\n  berth-bench [system|images|containers|extras|registry|compose|network|build|all] [--requests N] [--runs N] [--starts N]\n\
     \x20             [--image-runs N] [--list-requests N] [--rounds N] [--containers N]\n\
     \x20             [--parallel N]\n\
     \x20 berth-bench run NAME N -- COMMAND [ARGS...]\n\
     \x20 berth-bench generate DIR      write the benchmark images (big.tar, many.tar) into DIR\n\n\
     Environment: BERTH_BIN_DIR (where berthd and berth are), BENCH_DOCKERD (the dockerd to\n\
     start privately, default /usr/sbin/dockerd; `none` for none), BENCH_DOCKER_HOST or\n\
     DOCKER_HOST (an external dockerd for the system figures when no private one starts),\n\
     BENCH_DOCKERD_PID (its PID, for RSS).\n"
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        requests: 2000,
        runs: 30,
        starts: 5,
        image_runs: 5,
        list_requests: 200,
        rounds: 3,
        containers: 500,
        parallel: 8,
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
            "--image-runs" => options.image_runs = value()?,
            "--list-requests" => options.list_requests = value()?,
            "--rounds" => options.rounds = value()?,
            "--containers" => options.containers = value()?,
            "--parallel" => options.parallel = value()?,
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    Ok(options)
}

fn bench(suite: Suite, options: &Options) -> Result<(), String> {
    let bin_dir = client::binaries()?;
    if bin_dir.ends_with("debug") {
        eprintln!("note: benchmarking debug binaries; use `cargo run --release -p berth-bench` for real figures");
    }
    report("binaries", bin_dir.display());
    if matches!(suite, Suite::System | Suite::All) {
        system::run(&bin_dir, options)?;
    }
    if matches!(suite, Suite::Images | Suite::All) {
        images::run(&bin_dir, options)?;
    }
    if matches!(suite, Suite::Containers | Suite::All) {
        containers::run(&bin_dir, options)?;
    }
    if matches!(suite, Suite::Network | Suite::All) {
        network::run(&bin_dir, options)?;
    }
    if matches!(suite, Suite::Extras | Suite::All) {
        extras::run(&bin_dir, options)?;
    }
    if matches!(suite, Suite::Registry | Suite::All) {
        registry::run(&bin_dir, options)?;
    }
    if matches!(suite, Suite::Compose | Suite::All) {
        compose::run_figures(&bin_dir, options)?;
    }
    if matches!(suite, Suite::Build | Suite::All) {
        build::run(&bin_dir, options)?;
    }
    Ok(())
}

/// `berth-bench generate DIR`: the images of the `images` figures, for trying by hand.
fn generate(args: &[String]) -> Result<(), String> {
    let [dir] = args else {
        return Err(usage().to_string());
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {dir}: {e}"))?;
    let generated = imagegen::generate(std::path::Path::new(dir))?;
    report(
        "generated",
        format!(
            "{} ({}), {} images in {} ({})",
            generated.big.path.display(),
            generated.big.reference,
            generated.many.count,
            generated.many.path.display(),
            imagegen::MANY_REPO
        ),
    );
    Ok(())
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
    let summary = client::time_command(n, || {
        let mut c = Command::new(&command[0]);
        c.args(&command[1..]);
        c
    })?;
    report(name, summary.line());
    Ok(())
}
