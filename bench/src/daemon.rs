//! A private berthd for the benchmark: temporary data and exec roots, socket, pidfile and
//! an empty daemon.json; stopped with SIGTERM and removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::http::{self, Endpoint};

const START_DEADLINE: Duration = Duration::from_secs(20);
const STOP_DEADLINE: Duration = Duration::from_secs(20);

pub struct Berthd {
    pub dir: PathBuf,
    pub socket: PathBuf,
    /// Time from spawn to the first answered `/_ping`.
    pub started_in: Duration,
    child: Option<Child>,
}

impl Berthd {
    pub fn start(bin_dir: &Path) -> Result<Berthd, String> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("berth-bench-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let socket = dir.join("berth.sock");
        let config = dir.join("daemon.json");
        std::fs::write(&config, "{}").map_err(|e| format!("writing {}: {e}", config.display()))?;
        let log = std::fs::File::create(dir.join("berthd.log")).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let child = Command::new(bin_dir.join("berthd"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("run"))
            .arg("--pidfile")
            .arg(dir.join("berthd.pid"))
            .arg("--config-file")
            .arg(&config)
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin_dir.join("berthd").display()))?;
        let mut daemon = Berthd {
            dir,
            socket,
            started_in: Duration::ZERO,
            child: Some(child),
        };
        let endpoint = daemon.endpoint();
        loop {
            if matches!(http::request_once(&endpoint, "/_ping"), Ok((200, _))) {
                daemon.started_in = started.elapsed();
                return Ok(daemon);
            }
            if let Some(status) = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("berthd exited with {status}:\n{}", daemon.log()));
            }
            if started.elapsed() > START_DEADLINE {
                return Err(format!(
                    "berthd did not answer within {START_DEADLINE:?}:\n{}",
                    daemon.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Unix(self.socket.clone())
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("berthd.log")).unwrap_or_default()
    }
}

impl Drop for Berthd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill only sends SIGTERM to the PID of the child this struct started.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let end = Instant::now() + STOP_DEADLINE;
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() > end {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
