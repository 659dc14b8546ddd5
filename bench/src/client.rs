//! Running the `berth` and `docker` CLIs against one daemon, and finding the binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::stats::{measure, Summary};

/// A CLI bound to one daemon with `-H`, with `DOCKER_HOST` and `DOCKER_CONTEXT` removed
/// from its environment so nothing else can redirect it.
#[derive(Debug, Clone)]
pub struct Client {
    pub program: PathBuf,
    pub host: String,
}

impl Client {
    pub fn new(program: impl Into<PathBuf>, host: impl Into<String>) -> Client {
        Client {
            program: program.into(),
            host: host.into(),
        }
    }

    /// The program's file name, for labels (`berth`, `docker`).
    pub fn name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.program);
        c.arg("-H")
            .arg(&self.host)
            .args(args)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        c
    }

    /// Runs `args` once; it must succeed. Returns its standard output.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let (out, _) = self.timed(args)?;
        Ok(out)
    }

    /// Runs `args` once and returns its standard output and wall time (spawn to exit, with
    /// the output read through a pipe as a terminal or script would); it must succeed.
    pub fn timed(&self, args: &[&str]) -> Result<(String, Duration), String> {
        let start = Instant::now();
        let out = self
            .command(args)
            .output()
            .map_err(|e| format!("{}: {e}", self.program.display()))?;
        let took = start.elapsed();
        succeeded(&format!("{} {}", self.name(), args.join(" ")), &out)?;
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), took))
    }

    /// Wall time of `args`, `runs` times after one warm-up run.
    pub fn timing(&self, runs: usize, args: &[&str]) -> Result<Summary, String> {
        measure(runs, 1, || self.timed(args).map(drop))
    }
}

fn succeeded(what: &str, out: &Output) -> Result<(), String> {
    if out.status.success() {
        return Ok(());
    }
    let mut message = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if message.is_empty() {
        message = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    Err(format!("`{what}` failed ({}): {message}", out.status))
}

/// Runs `command` once and checks it succeeds and prints `needle`, so that a broken or
/// stub binary is not timed.
pub fn check_output(mut command: Command, needle: &str) -> Result<(), String> {
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

/// Runs a command `n` times (after one unmeasured run), wall time each; it must succeed.
pub fn time_command(n: usize, make: impl Fn() -> Command) -> Result<Summary, String> {
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

/// The docker CLI on `PATH`, if any.
pub fn docker_cli() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("docker"))
        .find(|p| p.is_file())
}

/// Where berthd, berth, berth-shim and berth-init are: `BERTH_BIN_DIR`, else next to this
/// binary. Under `cargo run` they are (re)built first with the same profile, so the
/// figures are for this tree.
pub fn binaries() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("BERTH_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no binary directory")?.to_path_buf();
    if let Some(cargo) = std::env::var_os("CARGO") {
        build(Path::new(&cargo), dir.ends_with("release"), &dir)?;
    }
    if !dir.join("berthd").exists() {
        return Err(format!(
            "{} is missing: run `cargo build --release -p berthd -p berth` or set BERTH_BIN_DIR",
            dir.join("berthd").display()
        ));
    }
    Ok(dir)
}

fn build(cargo: &Path, release: bool, dir: &Path) -> Result<(), String> {
    for package in ["berthd", "berth", "berth-shim", "berth-init"] {
        let mut build = Command::new(cargo);
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
    Ok(())
}
