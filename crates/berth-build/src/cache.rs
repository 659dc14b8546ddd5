//! The build cache: a step's result image by a key of everything the result depends on
//! (parent image, the config the step runs with, its history line, and for COPY/ADD the
//! checksum of the sources). Kept in `<data-root>/builder/cache.json` so it survives
//! restarts; entries whose image is gone are ignored by the caller and dropped on prune.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use berth_image::config::ContainerConfig;

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: HashMap<String, String>,
}

#[derive(Debug)]
pub struct BuildCache {
    path: PathBuf,
    entries: Mutex<HashMap<String, String>>,
}

/// The cache key of a step.
pub fn key(
    parent: Option<&str>,
    config: &ContainerConfig,
    author: Option<&str>,
    created_by: &str,
    extra: &str,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(parent.unwrap_or("scratch").as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(config).unwrap_or_default());
    hasher.update([0]);
    hasher.update(author.unwrap_or("").as_bytes());
    hasher.update([0]);
    hasher.update(created_by.as_bytes());
    hasher.update([0]);
    hasher.update(extra.as_bytes());
    hex::encode(hasher.finalize())
}

impl BuildCache {
    /// Opens (or starts) the cache in `dir`. An unreadable file starts an empty cache.
    pub fn open(dir: &Path) -> std::io::Result<BuildCache> {
        fs::create_dir_all(dir)?;
        let path = dir.join("cache.json");
        let entries = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<CacheFile>(&bytes) {
                Ok(file) => file.entries,
                Err(e) => {
                    tracing::warn!("ignoring unreadable build cache {}: {e}", path.display());
                    HashMap::new()
                }
            },
            Err(_) => HashMap::new(),
        };
        Ok(BuildCache {
            path,
            entries: Mutex::new(entries),
        })
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().get(key).cloned()
    }

    /// Records a step's result and persists the cache.
    pub fn put(&self, key: String, image: String) -> std::io::Result<()> {
        let mut entries = self.lock();
        entries.insert(key, image);
        self.save(&entries)
    }

    /// Drops an entry whose image no longer exists.
    pub fn forget(&self, key: &str) {
        let mut entries = self.lock();
        if entries.remove(key).is_some() {
            let _ = self.save(&entries);
        }
    }

    /// Empties the cache; returns the images it pointed at.
    pub fn clear(&self) -> std::io::Result<Vec<String>> {
        let mut entries = self.lock();
        let images: Vec<String> = entries.values().cloned().collect();
        entries.clear();
        self.save(&entries)?;
        Ok(images)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Atomic replace: temp file, fsync, rename.
    fn save(&self, entries: &HashMap<String, String>) -> std::io::Result<()> {
        let file = CacheFile {
            version: 1,
            entries: entries.clone(),
        };
        let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        let mut out = fs::File::create(&tmp)?;
        out.write_all(&bytes)?;
        out.sync_all()?;
        fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(dir.path()).unwrap();
        let k = key(
            Some("sha256:a"),
            &ContainerConfig::default(),
            None,
            "RUN x",
            "",
        );
        assert_ne!(
            k,
            key(
                Some("sha256:b"),
                &ContainerConfig::default(),
                None,
                "RUN x",
                ""
            )
        );
        cache.put(k.clone(), "sha256:img".into()).unwrap();
        let again = BuildCache::open(dir.path()).unwrap();
        assert_eq!(again.get(&k).as_deref(), Some("sha256:img"));
        assert_eq!(again.clear().unwrap().len(), 1);
        assert!(BuildCache::open(dir.path()).unwrap().is_empty());
    }
}
