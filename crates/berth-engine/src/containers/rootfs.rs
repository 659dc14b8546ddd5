//! The container's root filesystem: an overlay of the image's layers (read-only lowers)
//! and the container's own upper directory, mounted at `<container-dir>/rootfs`.

use std::path::{Path, PathBuf};

use berth_api::ApiError;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

pub fn rootfs_path(container_dir: &Path) -> PathBuf {
    container_dir.join("rootfs")
}

/// Mounts the overlay. `lowers` are the image's layer directories, top layer first.
pub fn mount_overlay(container_dir: &Path, lowers: &[PathBuf]) -> Result<PathBuf, ApiError> {
    let target = rootfs_path(container_dir);
    let upper = container_dir.join("upper");
    let work = container_dir.join("work");
    for dir in [&target, &upper, &work] {
        std::fs::create_dir_all(dir)
            .map_err(|e| ApiError::system(format!("creating {}: {e}", dir.display())))?;
    }
    // overlayfs needs at least one lower; an image without layers gets an empty one.
    let empty = container_dir.join("empty-lower");
    let lowers: Vec<PathBuf> = if lowers.is_empty() {
        std::fs::create_dir_all(&empty)
            .map_err(|e| ApiError::system(format!("creating {}: {e}", empty.display())))?;
        vec![empty]
    } else {
        lowers.to_vec()
    };
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
        &target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(|e| {
        ApiError::system(format!(
            "mounting the rootfs overlay at {}: {e}",
            target.display()
        ))
    })?;
    Ok(target)
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
