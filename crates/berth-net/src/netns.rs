//! Network namespace handles.
//!
//! A namespace is entered per *thread* (`setns(2)` changes only the calling thread), so
//! [`NetNs::run`] runs a closure on a fresh, short-lived thread that joins the namespace
//! first. Sockets keep the namespace they were created in, so the usual pattern is: create
//! a netlink or UDP socket inside the namespace with `run`, then use it from any thread of
//! the daemon (this is how the driver configures a container's `eth0` and how the DNS server
//! listens on the container's 127.0.0.11 while running on one daemon thread).
//!
//! [`NetNs::create`] makes a persistent, named namespace the way `ip netns add` does (a bind
//! mount of the namespace file), so the engine can set up networking before the container
//! process exists and hand the path to the runtime.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Errors entering, creating or removing a network namespace.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("open network namespace {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("enter network namespace {path}: {source}")]
    Enter { path: PathBuf, source: io::Error },
    #[error("create network namespace {path}: {what}: {source}")]
    Create {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    #[error("remove network namespace {path}: {source}")]
    Remove { path: PathBuf, source: io::Error },
    #[error("thread working in network namespace {path} panicked")]
    Panicked { path: PathBuf },
}

/// An open network namespace (`/proc/PID/ns/net`, `/run/netns/NAME`, ...).
#[derive(Debug)]
pub struct NetNs {
    file: File,
    path: PathBuf,
}

impl NetNs {
    /// Opens the namespace file at `path` (the handle keeps the namespace alive).
    pub fn open(path: impl AsRef<Path>) -> Result<NetNs, NetnsError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| NetnsError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(NetNs { file, path })
    }

    /// The namespace of the calling thread (which may differ from the process's).
    pub fn current() -> Result<NetNs, NetnsError> {
        NetNs::open("/proc/thread-self/ns/net")
    }

    /// Creates a new, empty network namespace and pins it at `path` with a bind mount.
    /// The parent folder is made a shared mount point first (as `ip netns add` does) so
    /// that [`NetNs::remove`] also drops copies of the mount in containers' mount namespaces.
    pub fn create(path: impl AsRef<Path>) -> Result<NetNs, NetnsError> {
        let path = path.as_ref().to_path_buf();
        let err = |what: &'static str| {
            let path = path.clone();
            move |source| NetnsError::Create { path, what, source }
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(err("create folder"))?;
            make_shared_mount(dir).map_err(err("make folder a shared mount"))?;
        }
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(err("create mount point"))?;
        let target = path.clone();
        let pinned = std::thread::scope(|scope| {
            scope
                .spawn(move || -> io::Result<()> {
                    // SAFETY: unshare affects only this short-lived thread, which does nothing
                    // else but bind-mount its new namespace and exit.
                    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    bind_mount(Path::new("/proc/thread-self/ns/net"), &target)
                })
                .join()
        });
        let result = match pinned {
            Ok(result) => result.map_err(err("unshare and bind-mount")),
            Err(_) => Err(NetnsError::Panicked { path: path.clone() }),
        };
        if let Err(e) = result {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        NetNs::open(&path)
    }

    /// Unmounts and deletes a namespace made by [`NetNs::create`]. The namespace itself goes
    /// away when the last process and handle inside it are gone. Missing paths are fine.
    pub fn remove(path: impl AsRef<Path>) -> Result<(), NetnsError> {
        let path = path.as_ref();
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| NetnsError::Remove {
            path: path.to_path_buf(),
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })?;
        // SAFETY: c_path is a valid NUL-terminated string for the duration of the call.
        if unsafe { libc::umount2(c_path.as_ptr(), libc::MNT_DETACH) } != 0 {
            let e = io::Error::last_os_error();
            // EINVAL: not a mount point (already unmounted); ENOENT: gone.
            if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) {
                return Err(NetnsError::Remove {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        }
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(NetnsError::Remove {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a new thread that has joined this namespace, and returns its result.
    /// Everything `f` creates (sockets, netlink handles) stays bound to the namespace.
    pub fn run<T, F>(&self, f: F) -> Result<T, NetnsError>
    where
        T: Send,
        F: FnOnce() -> T + Send,
    {
        let fd = self.file.as_raw_fd();
        let joined = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    // SAFETY: fd is an open namespace file borrowed from self for the whole
                    // scope; setns only changes this thread, which ends when f returns.
                    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(f())
                })
                .join()
        });
        match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(NetnsError::Enter {
                path: self.path.clone(),
                source,
            }),
            Err(_) => Err(NetnsError::Panicked {
                path: self.path.clone(),
            }),
        }
    }

    /// Moves the *calling* thread into this namespace for good. Meant for threads that
    /// exist only to work there (tests, helpers); the daemon's own threads use [`NetNs::run`].
    pub fn enter_current_thread(&self) -> Result<(), NetnsError> {
        // SAFETY: the fd is open for the duration of the call.
        if unsafe { libc::setns(self.file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(NetnsError::Enter {
                path: self.path.clone(),
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// The (device, inode) pair that identifies the namespace, whatever path opened it.
    pub fn id(&self) -> io::Result<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let meta = self.file.metadata()?;
        Ok((meta.dev(), meta.ino()))
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

fn bind_mount(source: &Path, target: &Path) -> io::Result<()> {
    let src = CString::new(source.as_os_str().as_bytes())?;
    let dst = CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: both strings are valid for the call; a bind mount takes no fs type or data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `dir` a shared mount point (binding it onto itself first if it is not one), so
/// unmounts of namespace files propagate into mount namespaces cloned later.
fn make_shared_mount(dir: &Path) -> io::Result<()> {
    let c_dir = CString::new(dir.as_os_str().as_bytes())?;
    let make_shared = || {
        // SAFETY: c_dir is valid for the call; MS_SHARED|MS_REC only changes propagation.
        unsafe {
            libc::mount(
                std::ptr::null(),
                c_dir.as_ptr(),
                std::ptr::null(),
                libc::MS_SHARED | libc::MS_REC,
                std::ptr::null(),
            )
        }
    };
    if make_shared() == 0 && is_mount_point(dir)? {
        return Ok(());
    }
    bind_mount(dir, dir)?;
    if make_shared() != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn is_mount_point(dir: &Path) -> io::Result<bool> {
    let wanted = fs::canonicalize(dir)?;
    let mounts = fs::read_to_string("/proc/thread-self/mountinfo")?;
    Ok(mounts.lines().any(|line| {
        line.split(' ')
            .nth(4)
            .is_some_and(|mount_point| Path::new(mount_point) == wanted)
    }))
}
