//! The container's root filesystem: an overlay of the image's layers (read-only lowers)
//! and the container's own upper directory, mounted at `<container-dir>/rootfs`.

use std::path::{Path, PathBuf};

use berth_api::ApiError;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

pub fn rootfs_path(container_dir: &Path) -> PathBuf {
    container_dir.join("rootfs")
}

/// Files and folders the runtime mounts over or needs. They sit in a per-container
/// "init" layer between the image and the container's own changes (as Docker's init
/// layer), so mount targets never show up in `diff`, `commit` or `export` as changes.
const INIT_DIRS: &[&str] = &["dev", "dev/pts", "dev/shm", "proc", "sys", "etc"];
const INIT_FILES: &[&str] = &[
    "dev/console",
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
];

pub fn init_layer_path(container_dir: &Path) -> PathBuf {
    container_dir.join("init")
}

fn ensure_init_layer(container_dir: &Path) -> Result<PathBuf, ApiError> {
    let init = init_layer_path(container_dir);
    let fail = |what: &Path, e: std::io::Error| {
        ApiError::system(format!("creating {}: {e}", what.display()))
    };
    for dir in INIT_DIRS {
        let path = init.join(dir);
        std::fs::create_dir_all(&path).map_err(|e| fail(&path, e))?;
    }
    for file in INIT_FILES {
        let path = init.join(file);
        if !path.exists() {
            std::fs::File::create(&path).map_err(|e| fail(&path, e))?;
        }
    }
    let mtab = init.join("etc/mtab");
    if mtab.symlink_metadata().is_err() {
        std::os::unix::fs::symlink("/proc/mounts", &mtab).map_err(|e| fail(&mtab, e))?;
    }
    Ok(init)
}

/// Mounts the overlay. `lowers` are the image's layer directories, top layer first; the
/// container's init layer goes on top of them.
pub fn mount_overlay(container_dir: &Path, lowers: &[PathBuf]) -> Result<PathBuf, ApiError> {
    let target = rootfs_path(container_dir);
    let upper = container_dir.join("upper");
    let work = container_dir.join("work");
    for dir in [&target, &upper, &work] {
        std::fs::create_dir_all(dir)
            .map_err(|e| ApiError::system(format!("creating {}: {e}", dir.display())))?;
    }
    let mut all_lowers = vec![ensure_init_layer(container_dir)?];
    all_lowers.extend(lowers.iter().cloned());
    let lowers = all_lowers;
    mount_overlay_at(&target, &lowers, &upper, &work, "rootfs")?;
    Ok(target)
}

/// Mounts an overlay at `target` with `lowers` (topmost first) under `upper`; `what`
/// names the mount in the error ("rootfs", "build").
pub(crate) fn mount_overlay_at(
    target: &Path,
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    what: &str,
) -> Result<(), ApiError> {
    let lowerdir = lowers
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let options = format!(
        "lowerdir={lowerdir},upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(|e| {
        ApiError::system(format!(
            "mounting the {what} overlay at {}: {e}",
            target.display()
        ))
    })
}

/// Unmounts the overlay; a rootfs that is not mounted is fine.
pub fn unmount(container_dir: &Path) -> Result<(), ApiError> {
    let target = rootfs_path(container_dir);
    match umount2(&target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(ApiError::system(format!(
            "unmounting {}: {e}",
            target.display()
        ))),
    }
}
