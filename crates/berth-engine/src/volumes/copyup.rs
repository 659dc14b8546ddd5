//! Docker's copy-up: the first mount of an empty volume receives what the image has at
//! the mount's destination (files, folders, links, devices, owners, modes, times and
//! extended attributes), and the volume's root takes the owner and mode of that folder.
//!
//! Paths in the image are resolved with [`scoped_path`], so a symlink in the image
//! (`/data -> /etc`) leads to the image's own `/etc`, never to the host's.

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::{utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, Gid, Uid};

/// How many symlinks one resolution may follow (the kernel's limit is 40; openat2 uses
/// 255 with RESOLVE_IN_ROOT).
const MAX_LINKS: usize = 255;

/// Resolves `path` (absolute, inside the container) to a host path below `root`,
/// following symlinks as if `root` were `/`: absolute link targets restart at `root`
/// and `..` never climbs above it. Components that do not exist are kept as named.
pub fn scoped_path(root: &Path, path: &str) -> io::Result<PathBuf> {
    let mut resolved: Vec<OsString> = Vec::new();
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, Path::new(path));
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(resolved.iter());
        candidate.push(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved.clear();
                }
                push_components(&mut pending, &target);
            }
            Ok(_) => resolved.push(part),
            Err(e) if e.kind() == io::ErrorKind::NotFound => resolved.push(part),
            Err(e) => return Err(e),
        }
    }
    let mut out = root.to_path_buf();
    out.extend(resolved.iter());
    Ok(out)
}

/// Pushes `path`'s components onto a stack so that the first one pops first.
fn push_components(stack: &mut Vec<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

/// Whether `dir` has no entries.
pub(crate) fn is_empty_dir(dir: &Path) -> io::Result<bool> {
    Ok(std::fs::read_dir(dir)?.next().is_none())
}

/// Copies the content of folder `from` into the empty folder `to`, then gives `to` the
/// owner and mode of `from`.
pub(crate) fn copy_into(from: &Path, to: &Path) -> io::Result<()> {
    let mut links = HashMap::new();
    copy_tree(from, to, &mut links)?;
    let meta = std::fs::symlink_metadata(from)?;
    apply_metadata(from, to, &meta, false)
}

fn copy_tree(from: &Path, to: &Path, links: &mut HashMap<(u64, u64), PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&source)?;
        let kind = meta.file_type();
        if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_tree(&source, &target, links)?;
            apply_metadata(&source, &target, &meta, false)?;
            continue;
        }
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = links.get(&key) {
                std::fs::hard_link(first, &target)?;
                continue;
            }
            links.insert(key, target.clone());
        }
        if kind.is_file() {
            copy_file(&source, &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else {
            use std::os::unix::fs::FileTypeExt;
            let flag = if kind.is_fifo() {
                SFlag::S_IFIFO
            } else if kind.is_char_device() {
                SFlag::S_IFCHR
            } else if kind.is_block_device() {
                SFlag::S_IFBLK
            } else {
                continue; // sockets belong to the process that bound them
            };
            nix::sys::stat::mknod(
                &target,
                flag,
                Mode::from_bits_truncate(meta.mode() & 0o7777),
                meta.rdev(),
            )?;
        }
        apply_metadata(&source, &target, &meta, kind.is_symlink())?;
    }
    Ok(())
}

/// Streams a regular file; `io::copy` between files uses copy_file_range, so the
/// kernel moves the bytes (or shares extents on filesystems that can).
fn copy_file(source: &Path, target: &Path) -> io::Result<()> {
    let mut input = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(source)?;
    let mut output = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)?;
    io::copy(&mut input, &mut output)?;
    Ok(())
}

/// Owner first (chown clears set-id bits and file capabilities), then extended
/// attributes, mode and times, all taken from `source`.
fn apply_metadata(
    source: &Path,
    path: &Path,
    meta: &std::fs::Metadata,
    symlink: bool,
) -> io::Result<()> {
    fchownat(
        None,
        path,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    copy_xattrs(source, path);
    if !symlink {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    let atime = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(None, path, &atime, &mtime, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
}

/// Extended attribute names of `path` (not following a final symlink).
fn list_xattrs(path: &Path) -> Vec<CString> {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return Vec::new();
    };
    // SAFETY: a null buffer of size 0 asks for the needed size only.
    let size = unsafe { libc::llistxattr(c_path.as_ptr(), std::ptr::null_mut(), 0) };
    if size <= 0 {
        return Vec::new();
    }
    let mut buffer = vec![0u8; size as usize];
    // SAFETY: `buffer` has `buffer.len()` writable bytes.
    let size =
        unsafe { libc::llistxattr(c_path.as_ptr(), buffer.as_mut_ptr().cast(), buffer.len()) };
    if size <= 0 {
        return Vec::new();
    }
    buffer.truncate(size as usize);
    buffer
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect()
}

/// Copies every extended attribute of `source` to `target` (neither following a final
/// symlink), except overlayfs' private ones. Best effort: the volume's filesystem may not
/// take them all.
fn copy_xattrs(source: &Path, target: &Path) {
    let (Ok(c_source), Ok(c_target)) = (
        CString::new(source.as_os_str().as_bytes()),
        CString::new(target.as_os_str().as_bytes()),
    ) else {
        return;
    };
    for name in list_xattrs(source) {
        if name.as_bytes().starts_with(b"trusted.overlay.") {
            continue;
        }
        // SAFETY: null buffer, size 0: asks for the value's size.
        let size =
            unsafe { libc::lgetxattr(c_source.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            continue;
        }
        let mut value = vec![0u8; size as usize];
        // SAFETY: `value` has `value.len()` writable bytes.
        let size = unsafe {
            libc::lgetxattr(
                c_source.as_ptr(),
                name.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if size < 0 {
            continue;
        }
        // SAFETY: `value[..size]` is initialised; the strings are NUL-terminated.
        unsafe {
            libc::lsetxattr(
                c_target.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                size as usize,
                0,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "berth-copyup-{name}-{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let root = temp("scoped");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("data")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(scoped_path(&root, "/data").unwrap(), root.join("etc"));
        assert_eq!(scoped_path(&root, "/data/x").unwrap(), root.join("etc/x"));
        assert_eq!(scoped_path(&root, "/up").unwrap(), root.join("etc"));
        assert_eq!(scoped_path(&root, "/../../x").unwrap(), root.join("x"));
        assert_eq!(
            scoped_path(&root, "/missing/a").unwrap(),
            root.join("missing/a")
        );
        assert!(scoped_path(&root, "/loop").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn copies_files_links_and_modes() {
        let from = temp("from");
        let to = temp("to");
        std::fs::create_dir(from.join("sub")).unwrap();
        std::fs::write(from.join("sub/file"), b"hello").unwrap();
        std::fs::hard_link(from.join("sub/file"), from.join("hard")).unwrap();
        std::os::unix::fs::symlink("sub/file", from.join("link")).unwrap();
        std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o750)).unwrap();
        std::fs::set_permissions(
            from.join("sub/file"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        assert!(is_empty_dir(&to).unwrap());
        copy_into(&from, &to).unwrap();
        assert_eq!(std::fs::read(to.join("sub/file")).unwrap(), b"hello");
        assert_eq!(
            std::fs::read_link(to.join("link")).unwrap(),
            Path::new("sub/file")
        );
        let a = std::fs::metadata(to.join("sub/file")).unwrap();
        let b = std::fs::metadata(to.join("hard")).unwrap();
        assert_eq!(a.ino(), b.ino());
        assert_eq!(a.mode() & 0o7777, 0o640);
        assert_eq!(std::fs::metadata(&to).unwrap().mode() & 0o7777, 0o750);
        std::fs::remove_dir_all(&from).unwrap();
        std::fs::remove_dir_all(&to).unwrap();
    }
}
