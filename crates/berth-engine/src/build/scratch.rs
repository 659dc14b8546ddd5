//! Working areas of a build: `<data-root>/builder/tmp/<id>/` holds the unpacked context
//! and the overlay mounts COPY/ADD write through. Everything in it is unmounted and
//! removed when the build ends (the `WorkDir` is dropped), and at daemon start.

use std::path::{Path, PathBuf};

use berth_api::ApiError;
use nix::mount::{umount2, MntFlags};

/// One build's working folder.
pub(crate) struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    pub(crate) fn create(tmp: &Path) -> std::io::Result<WorkDir> {
        std::fs::create_dir_all(tmp)?;
        let path = tmp.join(hex::encode(rand::random::<[u8; 8]>()));
        std::fs::create_dir(&path)?;
        Ok(WorkDir { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A fresh subfolder.
    pub(crate) fn subdir(&self, prefix: &str) -> std::io::Result<PathBuf> {
        let path = self.path.join(format!(
            "{prefix}-{}",
            hex::encode(rand::random::<[u8; 4]>())
        ));
        std::fs::create_dir(&path)?;
        Ok(path)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        remove_tree(&self.path);
    }
}

/// Unmounts every mount below `dir`, then removes it.
fn remove_tree(dir: &Path) {
    for target in mounts_below(dir) {
        let _ = umount2(&target, MntFlags::MNT_DETACH);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Removes all working areas under `tmp` (daemon start: no build is running).
pub(crate) fn remove_all(tmp: &Path) {
    if tmp.exists() {
        remove_tree(tmp);
    }
}

fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mounts") else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    // Deepest first.
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// An image's filesystem with a writable upper directory: an overlay of the image's
/// layers, or the bare upper directory for an image without layers.
pub(crate) struct Overlay {
    pub(crate) root: PathBuf,
    pub(crate) upper: PathBuf,
    mounted: bool,
}

impl Overlay {
    /// Mounts `lowers` (top first) under `dir` (which must be empty).
    pub(crate) fn mount(dir: &Path, lowers: &[PathBuf]) -> Result<Overlay, ApiError> {
        let upper = dir.join("upper");
        let work = dir.join("work");
        let root = dir.join("root");
        for d in [&upper, &work, &root] {
            std::fs::create_dir_all(d)
                .map_err(|e| ApiError::system(format!("creating {}: {e}", d.display())))?;
        }
        if lowers.is_empty() {
            return Ok(Overlay {
                root: upper.clone(),
                upper,
                mounted: false,
            });
        }
        crate::containers::rootfs::mount_overlay_at(&root, lowers, &upper, &work, "build")?;
        Ok(Overlay {
            root,
            upper,
            mounted: true,
        })
    }

    pub(crate) fn unmount(&mut self) {
        if self.mounted {
            let _ = umount2(&self.root, MntFlags::MNT_DETACH);
            self.mounted = false;
        }
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        self.unmount();
    }
}
