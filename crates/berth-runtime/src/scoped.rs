//! Resolving paths inside a container root without escaping it.
//!
//! Image files are untrusted: `/etc/passwd` may be a symlink to `/../../host/file`. Every
//! lookup the daemon does inside a rootfs goes through [`resolve`], which follows symlinks
//! as the container would see them (absolute targets restart at the root, `..` stops at
//! the root), like a `chroot` would.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Most symlinks followed in one lookup before giving up (Linux uses 40 as well).
const MAX_SYMLINKS: usize = 40;

/// Maps `path` (as seen inside the container) to a host path under `root`. Missing
/// trailing components are allowed; they are appended unresolved.
pub fn resolve(root: &Path, path: &Path) -> std::io::Result<PathBuf> {
    let mut pending: Vec<OsString> = components(path);
    pending.reverse();
    let mut resolved: Vec<OsString> = Vec::new();
    let mut followed = 0;
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
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved.clear();
                }
                let mut more = components(&target);
                more.reverse();
                pending.extend(more);
            }
            Ok(_) => resolved.push(part),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                resolved.push(part);
                // Nothing below a missing component can be a symlink: append the rest.
                while let Some(rest) = pending.pop() {
                    if rest == ".." {
                        resolved.pop();
                    } else {
                        resolved.push(rest);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    let mut out = root.to_path_buf();
    out.extend(resolved.iter());
    Ok(out)
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::write(root.join("real/passwd"), "x").unwrap();
        symlink("/real/passwd", root.join("etc/passwd")).unwrap();
        symlink("../../../../real", root.join("etc/up")).unwrap();
        symlink("/etc/loop", root.join("etc/loop")).unwrap();

        assert_eq!(
            resolve(root, Path::new("/etc/passwd")).unwrap(),
            root.join("real/passwd")
        );
        assert_eq!(
            resolve(root, Path::new("/etc/up/passwd")).unwrap(),
            root.join("real/passwd")
        );
        assert_eq!(
            resolve(root, Path::new("/../../etc/missing/x")).unwrap(),
            root.join("etc/missing/x")
        );
        assert!(resolve(root, Path::new("/etc/loop")).is_err());
    }
}
