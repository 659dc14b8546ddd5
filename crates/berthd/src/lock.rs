//! One daemon per data root: an exclusive `flock` on `<data-root>/berthd.lock`, and the
//! pidfile dockerd writes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Held for the daemon's lifetime; the kernel drops the lock if the process dies.
pub struct DataRootLock {
    _file: File,
}

pub fn lock_data_root(data_root: &Path) -> anyhow::Result<DataRootLock> {
    std::fs::create_dir_all(data_root)
        .with_context(|| format!("creating data root {}", data_root.display()))?;
    let path = data_root.join("berthd.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        bail!(
            "another berthd is already running on data root {} (lock {} is held); stop it or use another --data-root",
            data_root.display(),
            path.display()
        );
    }
    Ok(DataRootLock { _file: file })
}

/// Writes the pidfile, refusing to overwrite one of a process that still runs.
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    pub fn create(path: &Path) -> anyhow::Result<PidFile> {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                let alive =
                    pid != std::process::id() as i32 && Path::new(&format!("/proc/{pid}")).exists();
                if alive {
                    bail!(
                        "pid file found, ensure berthd is not running or delete {} (process with PID {pid} is still running)",
                        path.display()
                    );
                }
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file =
            File::create(path).with_context(|| format!("creating pidfile {}", path.display()))?;
        write!(file, "{}", std::process::id())?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
