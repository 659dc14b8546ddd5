//! A private reference dockerd (Debian's `docker.io`), for compatibility checks against
//! the real thing: its own socket, data root, exec root and no bridge or firewall rules,
//! stopped by PID on drop. Tests skip (with a note) where dockerd is not installed.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{http, TempDir};

pub struct Dockerd {
    pub dir: TempDir,
    pub socket: PathBuf,
    child: Option<Child>,
}

const DOCKERD: &str = "/usr/sbin/dockerd";

impl Dockerd {
    /// Starts one, or returns `None` (after printing why) when dockerd is not installed.
    pub fn start() -> Option<Dockerd> {
        if !std::path::Path::new(DOCKERD).exists() {
            eprintln!("note: {DOCKERD} not installed; skipping the dockerd comparison");
            return None;
        }
        let dir = TempDir::new("berth-dockerd");
        let socket = dir.join("docker.sock");
        std::fs::write(dir.join("daemon.json"), "{}").expect("daemon.json");
        let log = std::fs::File::create(dir.join("dockerd.log")).expect("log");
        let child = Command::new(DOCKERD)
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .args([
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let mut dockerd = Dockerd {
            dir,
            socket,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ping = http::unix_request(
                &dockerd.socket,
                "GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            if ping.map(|r| r.status == 200).unwrap_or(false) {
                return Some(dockerd);
            }
            if let Some(status) = dockerd
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dockerd exited with {status}:\n{}", dockerd.log());
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not start:\n{}",
                dockerd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    /// Runs the docker CLI against this dockerd.
    pub fn docker(&self, args: &[&str]) -> Output {
        let cli = crate::docker_cli().unwrap_or_else(|| PathBuf::from("/usr/bin/docker"));
        Command::new(cli)
            .arg("-H")
            .arg(self.host())
            .args(args)
            .env_remove("DOCKER_HOST")
            .output()
            .expect("run docker")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: signals our own child by PID.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
