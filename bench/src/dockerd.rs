//! The reference dockerd. When Debian's `dockerd` is installed the bench starts its own,
//! on temporary data and exec roots and socket, with no bridge and no firewall rules, so
//! the ratios are measured in the same run on the same machine and a user's daemon is never
//! touched. It is stopped by PID on drop, together with the containerd it spawned.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::{spawn_daemon, terminate, wait_ready};
use crate::http::{self, Endpoint};
use crate::procfs::{self, Stat};
use crate::tempdir::TempDir;

const DEFAULT_DOCKERD: &str = "/usr/sbin/dockerd";
const START_DEADLINE: Duration = Duration::from_secs(60);
const STOP_DEADLINE: Duration = Duration::from_secs(30);

pub struct Dockerd {
    /// Time from spawn to the first answered `/_ping`.
    pub started_in: Duration,
    child: Option<Child>,
    dir: TempDir,
}

impl Dockerd {
    /// The dockerd binary to start: `BENCH_DOCKERD` (`none` to start none), else
    /// `/usr/sbin/dockerd` when it exists.
    pub fn binary() -> Option<PathBuf> {
        match std::env::var("BENCH_DOCKERD") {
            Ok(v) if v == "none" || v.is_empty() => None,
            Ok(v) => Some(PathBuf::from(v)),
            Err(_) => Some(PathBuf::from(DEFAULT_DOCKERD)).filter(|p| p.exists()),
        }
    }

    pub fn start(binary: &Path) -> Result<Dockerd, String> {
        Dockerd::start_with_config(binary, "{}")
    }

    /// The same with `config_json` as its daemon.json.
    pub fn start_with_config(binary: &Path, config_json: &str) -> Result<Dockerd, String> {
        let dir = TempDir::new("berth-bench-dockerd")?;
        let config = dir.join("daemon.json");
        std::fs::write(&config, config_json)
            .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let log_path = dir.join("dockerd.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut command = Command::new(binary);
        command
            .arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("--config-file")
            .arg(&config)
            .args([
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let started = Instant::now();
        let child = spawn_daemon(&mut command)
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let mut dockerd = Dockerd {
            started_in: Duration::ZERO,
            child: Some(child),
            dir,
        };
        dockerd.started_in = wait_ready(
            "dockerd",
            &dockerd.endpoint(),
            dockerd.child.as_mut(),
            started,
            START_DEADLINE,
            Duration::from_millis(10),
            &log_path,
        )?;
        Ok(dockerd)
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Unix(self.dir.join("docker.sock"))
    }

    pub fn host(&self) -> String {
        self.endpoint().display()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // dockerd stops the containerd it supervises; anything of its tree still running
        // after it exits (it was killed, or hung) is stopped by the PIDs recorded here.
        let tree = procfs::descendants(child.id());
        terminate(&mut child, STOP_DEADLINE);
        for process in tree.iter().filter(|p| procfs::still_running(p)) {
            stop_orphan(process);
        }
    }
}

/// SIGTERM, then SIGKILL after a deadline, to a process that is no longer our child, by
/// the PID recorded while it was in dockerd's tree; its start time is checked before each
/// signal so a reused PID is never signalled.
fn stop_orphan(process: &Stat) {
    let signal = |sig: libc::c_int| {
        if procfs::still_running(process) {
            // SAFETY: kill(2) on a PID just confirmed to be the same process (same start
            // time) that dockerd spawned for this bench.
            unsafe {
                libc::kill(process.pid as i32, sig);
            }
        }
    };
    signal(libc::SIGTERM);
    let end = Instant::now() + Duration::from_secs(10);
    while procfs::still_running(process) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(libc::SIGKILL);
}

/// Resident memory of a daemon and the processes it spawned.
#[derive(Debug, Clone)]
pub struct TreeRss {
    pub name: String,
    pub kib: u64,
    /// (command name, KiB) of each descendant.
    pub children: Vec<(String, u64)>,
}

impl TreeRss {
    pub fn of(name: &str, pid: u32) -> Option<TreeRss> {
        let kib = procfs::rss_kib(pid)?;
        let children = procfs::descendants(pid)
            .into_iter()
            .filter_map(|p| Some((procfs::comm(p.pid), procfs::rss_kib(p.pid)?)))
            .collect();
        Some(TreeRss {
            name: name.to_string(),
            kib,
            children,
        })
    }

    pub fn total_kib(&self) -> u64 {
        self.kib + self.children.iter().map(|(_, kib)| kib).sum::<u64>()
    }

    /// `dockerd+containerd`
    pub fn label(&self) -> String {
        let mut label = self.name.clone();
        for (name, _) in &self.children {
            label.push('+');
            label.push_str(name);
        }
        label
    }

    /// `112.0 MB (dockerd 60.1 MB + containerd 51.9 MB)`
    pub fn line(&self) -> String {
        if self.children.is_empty() {
            return procfs::mib(self.kib);
        }
        let mut parts = vec![format!("{} {}", self.name, procfs::mib(self.kib))];
        for (name, kib) in &self.children {
            parts.push(format!("{name} {}", procfs::mib(*kib)));
        }
        format!("{} ({})", procfs::mib(self.total_kib()), parts.join(" + "))
    }
}

/// The dockerd that the system figures compare with: the private one, or else one the user
/// points at with `BENCH_DOCKER_HOST` or `DOCKER_HOST` (or `/var/run/docker.sock`), read-only.
pub enum Reference {
    Private(Dockerd),
    External {
        host: String,
        endpoint: Endpoint,
        pid: Option<u32>,
    },
}

impl Reference {
    /// The private dockerd if one can be started, else an external one; `Err` says why
    /// there is none.
    pub fn find() -> Result<Reference, String> {
        let private_error = match Dockerd::binary() {
            Some(binary) => match Dockerd::start(&binary) {
                Ok(dockerd) => return Ok(Reference::Private(dockerd)),
                Err(e) => format!("the private dockerd did not start: {e}"),
            },
            None => format!("{DEFAULT_DOCKERD} is not installed (or BENCH_DOCKERD=none)"),
        };
        match external() {
            Some((host, endpoint)) => Ok(Reference::External {
                host,
                endpoint,
                pid: procfs::external_dockerd_pid(),
            }),
            None => Err(format!(
                "{private_error}, and no dockerd at BENCH_DOCKER_HOST or DOCKER_HOST"
            )),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Reference::Private(d) => format!(
                "private, {} (pid {}, started in {:.0} ms)",
                d.host(),
                d.pid(),
                d.started_in.as_secs_f64() * 1000.0
            ),
            Reference::External { host, .. } => format!("external, {host}"),
        }
    }

    pub fn host(&self) -> String {
        match self {
            Reference::Private(d) => d.host(),
            Reference::External { host, .. } => host.clone(),
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        match self {
            Reference::Private(d) => d.endpoint(),
            Reference::External { endpoint, .. } => endpoint.clone(),
        }
    }

    pub fn rss(&self) -> Option<TreeRss> {
        let pid = match self {
            Reference::Private(d) => d.pid(),
            Reference::External { pid, .. } => (*pid)?,
        };
        TreeRss::of("dockerd", pid)
    }
}

/// `BENCH_DOCKER_HOST`, `DOCKER_HOST`, or the default socket when it exists; only if
/// `/version` says it is Docker (not another berthd).
fn external() -> Option<(String, Endpoint)> {
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
