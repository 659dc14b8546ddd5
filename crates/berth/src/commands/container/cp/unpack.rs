//! Extracting the archive `GET /containers/{id}/archive` sends into a local path, as
//! `docker cp` does: the archive's top entry lands on a chosen path (renamed if needed),
//! modes and times are kept, owners only with `-a`, a directory never replaces a file (or
//! the reverse), and nothing is written outside the destination: `..` entries are
//! refused, directories are never entered through symlinks, and hard links must point
//! inside.

use std::ffi::CString;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

/// Where and how to extract.
pub struct Unpack {
    /// Where the archive's top entry goes.
    pub target: PathBuf,
    /// The archive's top entry name (from the stat header; `.` when the archive holds a
    /// directory's contents), stripped from every entry.
    pub top: String,
    /// Give files the owners recorded in the archive (`-a`).
    pub chown: bool,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// An archive path relative to the top entry: `./` and `/` prefixes dropped, `..`
/// refused, the top name removed when the entry is under it.
fn relative(raw: &Path, top: &[PathBuf]) -> io::Result<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                return Err(invalid(format!(
                    "invalid archive entry {:?}: it leaves the destination",
                    raw.display().to_string()
                )))
            }
        }
    }
    let skip = if !top.is_empty()
        && parts.len() >= top.len()
        && parts.iter().zip(top).all(|(p, t)| *p == t.as_os_str())
    {
        top.len()
    } else {
        0
    };
    Ok(parts[skip..].iter().collect())
}

/// Makes sure every directory between `target` and `path` exists and is a real
/// directory (not a symlink someone could point elsewhere), creating missing ones.
fn ensure_parents(target: &Path, rel: &Path) -> io::Result<()> {
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    let mut current = target.to_path_buf();
    if parent.as_os_str().is_empty() {
        return Ok(());
    }
    // The target itself is the user's destination: following a symlink there is fine.
    if !current.is_dir() {
        std::fs::create_dir(&current)?;
    }
    for part in parent.components() {
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(invalid(format!(
                    "cannot extract into {}: not a directory",
                    current.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir(&current)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Like `ensure_parents` without creating anything: a hard link's source must be reached
/// through real directories inside the destination.
fn check_parents(target: &Path, rel: &Path) -> io::Result<()> {
    let mut current = target.to_path_buf();
    for part in rel.parent().into_iter().flat_map(Path::components) {
        current.push(part);
        let meta = std::fs::symlink_metadata(&current)?;
        if !meta.is_dir() {
            return Err(invalid(format!(
                "invalid hard link: {} is not a directory",
                current.display()
            )));
        }
    }
    Ok(())
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| invalid("path with a NUL byte".into()))
}

fn lchown(path: &Path, uid: u64, gid: u64) -> io::Result<()> {
    let c = c_path(path)?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    if unsafe { libc::lchown(c.as_ptr(), uid as libc::uid_t, gid as libc::gid_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_times(path: &Path, mtime: u64, follow: bool) -> io::Result<()> {
    let c = c_path(path)?;
    let time = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: 0,
    };
    let times = [time, time];
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: `c` is a valid path and `times` points to two initialised timespecs.
    if unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn mknod(path: &Path, kind: EntryType, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    let c = c_path(path)?;
    let file_type = match kind {
        EntryType::Char => libc::S_IFCHR,
        EntryType::Block => libc::S_IFBLK,
        _ => libc::S_IFIFO,
    };
    let dev = libc::makedev(major, minor);
    // SAFETY: `c` is a valid path; mknod only reads its arguments.
    if unsafe { libc::mknod(c.as_ptr(), file_type | (mode & 0o7777), dev) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A directory whose mode, owner and time are applied after its contents are written
/// (a read-only directory must still receive its files; writing them changes its mtime).
struct DirFix {
    path: PathBuf,
    mode: u32,
    mtime: u64,
    owner: Option<(u64, u64)>,
}

/// Extracts `input` as described by `options`; returns the bytes of file content.
pub fn unpack(input: impl Read, options: &Unpack) -> io::Result<u64> {
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(options.chown);
    archive.set_overwrite(true);
    let top: Vec<PathBuf> = Path::new(&options.top)
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(PathBuf::from(p)),
            _ => None,
        })
        .collect();
    let mut dirs: Vec<DirFix> = Vec::new();
    let mut content = 0u64;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.into_owned();
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName
        ) {
            continue;
        }
        let rel = relative(&raw, &top)?;
        ensure_parents(&options.target, &rel)?;
        let dest = if rel.as_os_str().is_empty() {
            options.target.clone()
        } else {
            options.target.join(&rel)
        };
        let existing = std::fs::symlink_metadata(&dest).ok();
        let shown = raw.display().to_string();
        match (&existing, kind.is_dir()) {
            (Some(meta), false) if meta.is_dir() => {
                return Err(invalid(format!(
                    "cannot overwrite directory {:?} with non-directory {shown:?}",
                    dest.display().to_string()
                )))
            }
            (Some(meta), true) if !meta.is_dir() => {
                return Err(invalid(format!(
                    "cannot overwrite non-directory {:?} with directory {shown:?}",
                    dest.display().to_string()
                )))
            }
            (Some(_), false) => std::fs::remove_file(&dest)?,
            _ => {}
        }
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644);
        let mtime = header.mtime().unwrap_or(0);
        let owner = options
            .chown
            .then(|| (header.uid().unwrap_or(0), header.gid().unwrap_or(0)));
        match kind {
            EntryType::Directory => {
                if existing.is_none() {
                    std::fs::create_dir(&dest)?;
                }
                dirs.push(DirFix {
                    path: dest,
                    mode,
                    mtime,
                    owner,
                });
            }
            EntryType::Link => {
                let link = entry
                    .link_name()?
                    .ok_or_else(|| invalid(format!("hard link {shown:?} without a target")))?
                    .into_owned();
                let link_rel = relative(&link, &top)?;
                check_parents(&options.target, &link_rel)?;
                let source = options.target.join(link_rel);
                std::fs::hard_link(&source, &dest).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("linking {} to {}: {e}", dest.display(), source.display()),
                    )
                })?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                // Some writers leave the device fields of a fifo blank.
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                mknod(&dest, kind, mode, major, minor)?;
                if let Some((uid, gid)) = owner {
                    lchown(&dest, uid, gid)?;
                }
                set_times(&dest, mtime, false)?;
            }
            _ => {
                // Regular files and symlinks: tar writes them afresh (never through an
                // existing link), with mode, time and, with `-a`, owner.
                if kind.is_file() || kind == EntryType::Continuous {
                    content += header.size().unwrap_or(0);
                }
                entry.unpack(&dest)?;
            }
        }
    }
    for dir in dirs.iter().rev() {
        if let Some((uid, gid)) = dir.owner {
            lchown(&dir.path, uid, gid)?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            &dir.path,
            std::fs::Permissions::from_mode(dir.mode & 0o7777),
        )?;
        set_times(&dir.path, dir.mtime, true)?;
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_relative_to_the_top() {
        let top = |s: &str| -> Vec<PathBuf> {
            Path::new(s)
                .components()
                .filter_map(|c| match c {
                    Component::Normal(p) => Some(PathBuf::from(p)),
                    _ => None,
                })
                .collect()
        };
        let rel = |raw: &str, t: &str| relative(Path::new(raw), &top(t)).unwrap();
        assert_eq!(rel("dir/", "dir"), PathBuf::new());
        assert_eq!(rel("dir/a/b", "dir"), PathBuf::from("a/b"));
        assert_eq!(rel("./a", "."), PathBuf::from("a"));
        assert_eq!(rel(".", "."), PathBuf::new());
        assert_eq!(rel("passwd", "passwd"), PathBuf::new());
        assert!(relative(Path::new("dir/../../x"), &top("dir")).is_err());
    }

    #[test]
    fn round_trip_with_renamed_top() {
        let dir = std::env::temp_dir().join(format!("berth-unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src/sub")).unwrap();
        std::fs::write(dir.join("src/sub/f"), b"data").unwrap();
        std::fs::hard_link(dir.join("src/sub/f"), dir.join("src/g")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("src/l")).unwrap();
        let mut tar = Vec::new();
        super::super::pack::write_tar(&dir.join("src"), "src", &mut tar).unwrap();
        let options = Unpack {
            target: dir.join("copy"),
            top: "src".into(),
            chown: false,
        };
        unpack(&tar[..], &options).unwrap();
        use std::os::unix::fs::MetadataExt;
        let f = std::fs::metadata(dir.join("copy/sub/f")).unwrap();
        let g = std::fs::metadata(dir.join("copy/g")).unwrap();
        assert_eq!(f.ino(), g.ino());
        assert_eq!(
            std::fs::read_link(dir.join("copy/l")).unwrap(),
            PathBuf::from("/etc")
        );
        // A second copy onto the same tree replaces files; a file cannot replace a dir.
        unpack(&tar[..], &options).unwrap();
        let clash = Unpack {
            target: dir.join("copy/sub"),
            top: "g".into(),
            chown: false,
        };
        let mut file_tar = Vec::new();
        super::super::pack::write_tar(&dir.join("src/g"), "g", &mut file_tar).unwrap();
        let err = unpack(&file_tar[..], &clash).unwrap_err();
        assert!(
            err.to_string().contains("cannot overwrite directory"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
