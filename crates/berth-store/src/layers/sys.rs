//! Thin, safe wrappers over the `*at` system calls the unpacker needs.
//!
//! Every operation is relative to an open directory and takes a single name (no `/`), so
//! the kernel never resolves a path the tar chose, except in [`Dir::resolve_beneath`],
//! which uses `openat2(RESOLVE_BENEATH)` so that resolution cannot leave the layer.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// An open directory (a real descriptor, not `O_PATH`, so fchown/fchmod/fsetxattr work).
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
}

/// Converts a name or relative path to a C string; NUL bytes cannot name files.
pub(crate) fn cstr(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn check_fd(ret: libc::c_int) -> io::Result<OwnedFd> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: the kernel just returned this descriptor to us and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(ret) })
    }
}

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Type of a directory entry as seen by `fstatat(AT_SYMLINK_NOFOLLOW)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink,
    CharDevice { rdev: u64 },
    Other,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Stat {
    pub kind: Kind,
    pub dev: u64,
    pub ino: u64,
}

impl Dir {
    /// Opens a directory by an absolute or cwd-relative path that Berth itself chose.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let c = cstr(path.as_os_str().as_bytes())?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            )
        };
        Ok(Dir { fd: check_fd(fd)? })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `/proc/self/fd/<fd>/<name>`: a path that reaches `name` inside this directory
    /// through the descriptor, for calls that have no `*at` form (lsetxattr, lgetxattr).
    pub(crate) fn proc_path(&self, name: &OsStr) -> std::path::PathBuf {
        Path::new(&format!("/proc/self/fd/{}", self.raw())).join(name)
    }

    /// Opens the directory at `rel` (a relative path, `/`-separated) without letting
    /// symlinks or `..` take the resolution outside this directory. Fails with `EXDEV`
    /// when they would, `ENOENT` when something is missing, `ENOTDIR` when a component
    /// is not a directory. Falls back to a component walk that refuses every symlink
    /// where openat2 is not available.
    pub(crate) fn resolve_beneath(&self, rel: &[u8]) -> io::Result<Dir> {
        if rel.is_empty() {
            return self.try_clone();
        }
        let c = cstr(rel)?;
        let how = OpenHow {
            flags: (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: `c` and `how` are valid for the duration of the call and `how` has the
        // layout of `struct open_how`; the size passed is its exact size.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.raw(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if ret >= 0 {
            return check_fd(ret as libc::c_int).map(|fd| Dir { fd });
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENOSYS) | Some(libc::EPERM) => self.walk_no_symlinks(rel),
            _ => Err(err),
        }
    }

    fn walk_no_symlinks(&self, rel: &[u8]) -> io::Result<Dir> {
        let mut current = self.try_clone()?;
        for component in rel.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            if component == b".." || component == b"." {
                return Err(io::Error::from_raw_os_error(libc::EXDEV));
            }
            match current.stat(OsStr::from_bytes(component))? {
                None => return Err(io::Error::from_raw_os_error(libc::ENOENT)),
                Some(stat) if stat.kind == Kind::Symlink => {
                    return Err(io::Error::from_raw_os_error(libc::EXDEV))
                }
                Some(_) => {}
            }
            current = current.open_dir(OsStr::from_bytes(component))?;
        }
        Ok(current)
    }

    pub(crate) fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone()?,
        })
    }

    /// Opens a child directory, refusing a symlink.
    pub(crate) fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let c = cstr(name.as_bytes())?;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                self.raw(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            )
        };
        Ok(Dir { fd: check_fd(fd)? })
    }

    /// Opens a child regular file for reading, refusing a symlink.
    pub(crate) fn open_file(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name.as_bytes())?;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                self.raw(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            )
        };
        Ok(File::from(check_fd(fd)?))
    }

    /// Creates a new regular file (fails if the name exists, never follows a symlink).
    pub(crate) fn create_file(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name.as_bytes())?;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                self.raw(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        Ok(File::from(check_fd(fd)?))
    }

    pub(crate) fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let c = cstr(name.as_bytes())?;
        // SAFETY: valid descriptor and NUL-terminated name.
        check(unsafe { libc::mkdirat(self.raw(), c.as_ptr(), mode as libc::mode_t) })
    }

    pub(crate) fn symlink(&self, target: &[u8], name: &OsStr) -> io::Result<()> {
        let t = cstr(target)?;
        let c = cstr(name.as_bytes())?;
        // SAFETY: both strings are valid and NUL-terminated; the descriptor is open.
        check(unsafe { libc::symlinkat(t.as_ptr(), self.raw(), c.as_ptr()) })
    }

    /// Hard-links `src_dir/src_name` as `self/name` (a symlink source is linked itself).
    pub(crate) fn link_from(
        &self,
        src_dir: &Dir,
        src_name: &OsStr,
        name: &OsStr,
    ) -> io::Result<()> {
        let s = cstr(src_name.as_bytes())?;
        let c = cstr(name.as_bytes())?;
        // SAFETY: valid descriptors and NUL-terminated names; flags 0 = do not follow.
        check(unsafe { libc::linkat(src_dir.raw(), s.as_ptr(), self.raw(), c.as_ptr(), 0) })
    }

    pub(crate) fn mknod(&self, name: &OsStr, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        let c = cstr(name.as_bytes())?;
        let dev = libc::makedev(major, minor);
        // SAFETY: valid descriptor and NUL-terminated name.
        check(unsafe { libc::mknodat(self.raw(), c.as_ptr(), mode as libc::mode_t, dev) })
    }

    /// lchown of a child.
    pub(crate) fn chown(&self, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
        let c = cstr(name.as_bytes())?;
        // SAFETY: valid descriptor and NUL-terminated name.
        check(unsafe {
            libc::fchownat(self.raw(), c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW)
        })
    }

    /// chmod of a child that the caller knows is not a symlink (Linux cannot chmod a
    /// symlink itself, and this call would follow one).
    pub(crate) fn chmod_not_symlink(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let c = cstr(name.as_bytes())?;
        // SAFETY: valid descriptor and NUL-terminated name.
        check(unsafe { libc::fchmodat(self.raw(), c.as_ptr(), mode as libc::mode_t, 0) })
    }

    /// Sets atime and mtime of a child without following a symlink.
    pub(crate) fn set_times(&self, name: &OsStr, secs: i64) -> io::Result<()> {
        let c = cstr(name.as_bytes())?;
        let ts = libc::timespec {
            tv_sec: secs as libc::time_t,
            tv_nsec: 0,
        };
        let times = [ts, ts];
        // SAFETY: valid descriptor, NUL-terminated name and a two-element timespec array.
        check(unsafe {
            libc::utimensat(
                self.raw(),
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
    }

    /// fstatat without following a symlink; `None` when the name does not exist.
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<Option<Stat>> {
        let c = cstr(name.as_bytes())?;
        // SAFETY: `st` is plain old data that the kernel fills in.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name and a writable stat buffer.
        let ret =
            unsafe { libc::fstatat(self.raw(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if ret < 0 {
            let err = io::Error::last_os_error();
            return if err.raw_os_error() == Some(libc::ENOENT) {
                Ok(None)
            } else {
                Err(err)
            };
        }
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFREG => Kind::File,
            libc::S_IFLNK => Kind::Symlink,
            libc::S_IFCHR => Kind::CharDevice { rdev: st.st_rdev },
            _ => Kind::Other,
        };
        Ok(Some(Stat {
            kind,
            dev: st.st_dev,
            ino: st.st_ino,
        }))
    }

    /// Removes a child of any type, recursively for folders, never following symlinks.
    pub(crate) fn remove_all(&self, name: &OsStr) -> io::Result<()> {
        match self.stat(name)? {
            None => Ok(()),
            Some(stat) if stat.kind == Kind::Dir => {
                // std's remove_dir_all opens each level with O_NOFOLLOW and unlinks with
                // unlinkat; the /proc path only names this directory's descriptor.
                std::fs::remove_dir_all(self.proc_path(name))
            }
            Some(_) => {
                let c = cstr(name.as_bytes())?;
                // SAFETY: valid descriptor and NUL-terminated name.
                check(unsafe { libc::unlinkat(self.raw(), c.as_ptr(), 0) })
            }
        }
    }

    /// Sets an extended attribute on a child without following a symlink.
    pub(crate) fn lsetxattr(&self, name: &OsStr, key: &[u8], value: &[u8]) -> io::Result<()> {
        let path = cstr(self.proc_path(name).as_os_str().as_bytes())?;
        let k = cstr(key)?;
        // SAFETY: valid NUL-terminated path and key; value pointer/length describe a live slice.
        check(unsafe {
            libc::lsetxattr(
                path.as_ptr(),
                k.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        })
    }

    /// Sets an extended attribute on this directory itself.
    pub(crate) fn fsetxattr(&self, key: &[u8], value: &[u8]) -> io::Result<()> {
        fsetxattr(self.raw(), key, value)
    }

    pub(crate) fn fchown(&self, uid: u32, gid: u32) -> io::Result<()> {
        // SAFETY: valid descriptor.
        check(unsafe { libc::fchown(self.raw(), uid, gid) })
    }

    pub(crate) fn fchmod(&self, mode: u32) -> io::Result<()> {
        // SAFETY: valid descriptor.
        check(unsafe { libc::fchmod(self.raw(), mode as libc::mode_t) })
    }

    pub(crate) fn set_own_times(&self, secs: i64) -> io::Result<()> {
        futimes(self.raw(), secs)
    }

    /// Flushes the whole filesystem this directory lives on.
    pub(crate) fn syncfs(&self) -> io::Result<()> {
        // SAFETY: valid descriptor.
        check(unsafe { libc::syncfs(self.raw()) })
    }
}

pub(crate) fn fsetxattr(fd: RawFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    let k = cstr(key)?;
    // SAFETY: valid descriptor and key; value pointer/length describe a live slice.
    check(unsafe { libc::fsetxattr(fd, k.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
}

pub(crate) fn futimes(fd: RawFd, secs: i64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: 0,
    };
    let times = [ts, ts];
    // SAFETY: valid descriptor and a two-element timespec array.
    check(unsafe { libc::futimens(fd, times.as_ptr()) })
}

/// Reads one extended attribute of `path` without following a symlink. `None` when the
/// attribute is not set or the filesystem has none.
pub(crate) fn lgetxattr(path: &Path, key: &CStr) -> io::Result<Option<Vec<u8>>> {
    let p = cstr(path.as_os_str().as_bytes())?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: valid NUL-terminated strings; the buffer pointer/length describe `buf`.
        let n = unsafe {
            libc::lgetxattr(p.as_ptr(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(Some(buf));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
            Some(libc::ERANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            _ => return Err(err),
        }
    }
}

/// Lists the extended attribute names of `path` without following a symlink.
pub(crate) fn llistxattr(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    let p = cstr(path.as_os_str().as_bytes())?;
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: valid NUL-terminated path; the buffer pointer/length describe `buf`.
        let n = unsafe { libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf
                .split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(<[u8]>::to_vec)
                .collect());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENOTSUP) => return Ok(Vec::new()),
            Some(libc::ERANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            _ => return Err(err),
        }
    }
}
