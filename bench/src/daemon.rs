//! A private berthd for the benchmark: temporary data and exec roots, socket, pidfile and
//! an empty daemon.json; stopped with SIGTERM and removed on drop. Also the process
//! handling it shares with the private dockerd.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{self, Endpoint};
use crate::interrupt;
use crate::tempdir::TempDir;

const START_DEADLINE: Duration = Duration::from_secs(20);
const STOP_DEADLINE: Duration = Duration::from_secs(20);

pub struct Berthd {
    /// Time from spawn to the first answered `/_ping`.
    pub started_in: Duration,
    child: Option<Child>,
    // Dropped after `child` is stopped (fields drop after `Drop::drop`).
    dir: TempDir,
}

impl Berthd {
    pub fn start(bin_dir: &Path) -> Result<Berthd, String> {
        Berthd::start_in(bin_dir, "berth-bench")
    }

    /// The same in `$TMPDIR/PREFIX-PID-N`: a short prefix keeps the exec root short enough
    /// for the unix sockets berth-shim makes in `EXEC_ROOT/containers/ID/`.
    pub fn start_in(bin_dir: &Path, prefix: &str) -> Result<Berthd, String> {
        Berthd::start_with_config(bin_dir, prefix, "{}")
    }

    /// The same with `config_json` as its daemon.json.
    pub fn start_with_config(
        bin_dir: &Path,
        prefix: &str,
        config_json: &str,
    ) -> Result<Berthd, String> {
        Berthd::start_full(bin_dir, prefix, config_json, &[])
    }

    /// The same with extra daemon flags; `--bridge` among them replaces the default
    /// `--bridge none`.
    pub fn start_with(bin_dir: &Path, prefix: &str, extra: &[String]) -> Result<Berthd, String> {
        Berthd::start_full(bin_dir, prefix, "{}", extra)
    }

    fn start_full(
        bin_dir: &Path,
        prefix: &str,
        config_json: &str,
        extra: &[String],
    ) -> Result<Berthd, String> {
        let bridge_given = extra.iter().any(|a| a == "--bridge");
        let dir = TempDir::new(prefix)?;
        let config = dir.join("daemon.json");
        std::fs::write(&config, config_json)
            .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let log = std::fs::File::create(dir.join("berthd.log")).map_err(|e| e.to_string())?;
        let mut command = Command::new(bin_dir.join("berthd"));
        command
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("run"))
            .arg("--pidfile")
            .arg(dir.join("berthd.pid"))
            .arg("--config-file")
            .arg(&config)
            .args(if bridge_given {
                &[][..]
            } else {
                &["--bridge", "none"][..]
            })
            .args(["--firewall-chain-prefix", &chain_prefix()])
            .args(extra)
            .arg("-H")
            .arg(format!("unix://{}", dir.join("berth.sock").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let started = Instant::now();
        let child = spawn_daemon(&mut command)
            .map_err(|e| format!("starting {}: {e}", bin_dir.join("berthd").display()))?;
        let mut daemon = Berthd {
            started_in: Duration::ZERO,
            child: Some(child),
            dir,
        };
        let log_path = daemon.dir.join("berthd.log");
        daemon.started_in = wait_ready(
            "berthd",
            &daemon.endpoint(),
            daemon.child.as_mut(),
            started,
            START_DEADLINE,
            Duration::from_millis(1),
            &log_path,
        )?;
        Ok(daemon)
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Unix(self.dir.join("berth.sock"))
    }

    pub fn host(&self) -> String {
        self.endpoint().display()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }
}

impl Drop for Berthd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, STOP_DEADLINE);
        }
    }
}

/// Spawns a daemon in its own process group, so a Ctrl-C at the terminal reaches only the
/// bench (which then stops the daemon in order), and with SIGTERM as its parent-death
/// signal, so it does not outlive a bench that is killed outright.
pub fn spawn_daemon(command: &mut Command) -> std::io::Result<Child> {
    command.process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
    // which is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Polls `/_ping` until it answers 200 and returns the time since `started`; an error
/// with the end of the daemon's log if it exits or misses the deadline.
pub fn wait_ready(
    name: &str,
    endpoint: &Endpoint,
    mut child: Option<&mut Child>,
    started: Instant,
    deadline: Duration,
    poll: Duration,
    log: &Path,
) -> Result<Duration, String> {
    loop {
        if matches!(http::request_once(endpoint, "/_ping"), Ok((200, _))) {
            return Ok(started.elapsed());
        }
        if let Some(status) = child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            return Err(format!("{name} exited with {status}:\n{}", log_tail(log)));
        }
        if started.elapsed() > deadline {
            return Err(format!(
                "{name} did not answer /_ping within {deadline:?}:\n{}",
                log_tail(log)
            ));
        }
        interrupt::check()?;
        std::thread::sleep(poll);
    }
}

/// The last lines of a daemon log, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// SIGTERM to our own child by its PID, then SIGKILL if it has not exited in time.
pub fn terminate(child: &mut Child, deadline: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: kill(2) with the PID of a child we spawned and have not reaped yet, so the
    // PID cannot have been reused by another process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let end = Instant::now() + deadline;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if Instant::now() > end {
            eprintln!(
                "berth-bench: PID {} ignored SIGTERM for {deadline:?}; killing it",
                child.id()
            );
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Private firewall chains per bench daemon, so a bench never touches Berth's own.
fn chain_prefix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 1000;
    format!("BB{}X{n}", std::process::id() % 10000)
}
