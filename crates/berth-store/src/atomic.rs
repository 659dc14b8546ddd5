//! Crash-safe writes: every record goes to a temporary name under the data root's `tmp/`
//! (same filesystem, so the final rename is atomic), is fsynced, renamed into place, and
//! the destination folder is fsynced so the rename itself survives a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{IoContext, StoreError};

/// The data root's folder for temporaries. Everything in it is half-done work: it is
/// emptied when the store opens.
#[derive(Debug, Clone)]
pub struct TmpArea {
    dir: PathBuf,
}

impl TmpArea {
    /// Uses (and creates) `dir`, without cleaning it.
    pub fn new(dir: impl Into<PathBuf>) -> Result<TmpArea, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        Ok(TmpArea { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh, unused name `<prefix>-<random>` inside the area (nothing is created).
    pub fn unique_path(&self, prefix: &str) -> PathBuf {
        let suffix: u64 = rand::thread_rng().gen();
        self.dir
            .join(format!("{prefix}-{}-{suffix:016x}", std::process::id()))
    }

    /// Creates a fresh folder that is removed when the guard drops, unless kept.
    pub fn create_dir(&self, prefix: &str) -> Result<TempDir, StoreError> {
        let path = self.unique_path(prefix);
        fs::create_dir(&path).ctx(|| format!("create {}", path.display()))?;
        Ok(TempDir { path: Some(path) })
    }

    /// Removes everything in the area: temporaries of a run that crashed or was killed.
    /// Returns how many entries were removed.
    pub fn clean(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        let entries = fs::read_dir(&self.dir).ctx(|| format!("list {}", self.dir.display()))?;
        for entry in entries {
            let entry = entry.ctx(|| format!("list {}", self.dir.display()))?;
            let path = entry.path();
            remove_any(&path).ctx(|| format!("remove leftover temporary {}", path.display()))?;
            removed += 1;
        }
        if removed > 0 {
            tracing::info!(count = removed, dir = %self.dir.display(), "removed leftover temporaries");
        }
        Ok(removed)
    }
}

/// A temporary folder, removed on drop unless [`TempDir::keep`] was called.
#[derive(Debug)]
pub struct TempDir {
    path: Option<PathBuf>,
}

impl TempDir {
    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("TempDir used after keep()")
    }

    /// Stops the guard from removing the folder (it was renamed into place).
    pub fn keep(mut self) -> PathBuf {
        self.path.take().expect("TempDir used after keep()")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            if let Err(err) = remove_any(&path) {
                if err.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %err, "could not remove temporary folder");
                }
            }
        }
    }
}

/// Removes a file, symlink or folder tree without following symlinks.
pub fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(err) => Err(err),
    }
}

/// fsyncs a folder so that renames and creations inside it are durable.
pub fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    let file = File::open(dir).ctx(|| format!("open {} for fsync", dir.display()))?;
    file.sync_all().ctx(|| format!("fsync {}", dir.display()))
}

/// Writes `bytes` to `dest` atomically: after a crash `dest` holds either its old content
/// or all of `bytes`.
pub fn write_file(tmp: &TmpArea, dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temp = tmp.unique_path("write");
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)
            .ctx(|| format!("create {}", temp.display()))?;
        file.write_all(bytes)
            .ctx(|| format!("write {}", temp.display()))?;
        file.sync_all()
            .ctx(|| format!("fsync {}", temp.display()))?;
        drop(file);
        fs::rename(&temp, dest)
            .ctx(|| format!("rename {} to {}", temp.display(), dest.display()))?;
        if let Some(parent) = dest.parent() {
            fsync_dir(parent)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Serializes `value` as pretty JSON and writes it atomically.
pub fn write_json<T: Serialize>(tmp: &TmpArea, dest: &Path, value: &T) -> Result<(), StoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::CorruptRecord {
        path: dest.to_path_buf(),
        reason: format!("cannot serialize: {e}"),
    })?;
    bytes.push(b'\n');
    write_file(tmp, dest, &bytes)
}

/// Reads a JSON record. `Ok(None)` when the file does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(StoreError::io(format!("read {}", path.display()), err)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StoreError::CorruptRecord {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Removes a file and fsyncs its folder; a missing file is fine.
pub fn remove_file(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(StoreError::io(format!("remove {}", path.display()), err)),
    }
    if let Some(parent) = path.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_json() {
        let root = tempfile::tempdir().unwrap();
        let tmp = TmpArea::new(root.path().join("tmp")).unwrap();
        let dest = root.path().join("record.json");
        write_json(&tmp, &dest, &vec!["a", "b"]).unwrap();
        let back: Vec<String> = read_json(&dest).unwrap().unwrap();
        assert_eq!(back, vec!["a", "b"]);
        assert!(read_json::<Vec<String>>(&root.path().join("missing"))
            .unwrap()
            .is_none());
        // Nothing is left behind in tmp/.
        assert_eq!(fs::read_dir(tmp.dir()).unwrap().count(), 0);
    }

    #[test]
    fn clean_removes_leftovers() {
        let root = tempfile::tempdir().unwrap();
        let tmp = TmpArea::new(root.path().join("tmp")).unwrap();
        let kept = tmp.create_dir("layer").unwrap();
        fs::write(kept.path().join("f"), b"x").unwrap();
        let kept_path = kept.keep();
        std::os::unix::fs::symlink("/etc", tmp.dir().join("link")).unwrap();
        fs::write(tmp.dir().join("blob-1"), b"partial").unwrap();
        assert_eq!(tmp.clean().unwrap(), 3);
        assert!(!kept_path.exists());
        assert!(
            Path::new("/etc/passwd").exists(),
            "clean must not follow symlinks"
        );
    }

    #[test]
    fn temp_dir_guard_removes() {
        let root = tempfile::tempdir().unwrap();
        let tmp = TmpArea::new(root.path().join("tmp")).unwrap();
        let path = {
            let dir = tmp.create_dir("x").unwrap();
            dir.path().to_path_buf()
        };
        assert!(!path.exists());
    }
}
