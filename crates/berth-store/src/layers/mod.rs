//! The layer store: each layer unpacked once, by chain ID, under
//! `layers/<chain-id-hex>/{diff/,meta.json,tar-split.gz}`.
//!
//! `diff/` is ready to be an overlayfs lower (whiteouts in overlay form). A layer is
//! unpacked into a folder under `tmp/`, flushed to disk, and renamed into place: a layer
//! folder either exists whole or not at all. Layers are never modified after that; they
//! are removed by the store's garbage collector when no image references them.

mod apply;
mod split;
pub(crate) mod sys;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::atomic::{fsync_dir, TmpArea};
use crate::digest::{chain_id, is_sha256_hex, Digest};
use crate::error::{IoContext, StoreError};
use crate::lease::{GcCoordinator, Lease};
use sys::Dir;

pub use apply::clean_path;

/// What the store knows about one unpacked layer (`meta.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub chain_id: Digest,
    /// sha256 of the uncompressed layer tar.
    pub diff_id: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// Bytes of file content in `diff/` (what docker reports as the layer size).
    pub size: u64,
    /// Length of the uncompressed tar, needed to write a tar header before streaming it.
    pub tar_size: u64,
    /// False when the original tar cannot be replayed from `diff/` (the tar overwrote
    /// its own files); such a layer cannot be saved.
    #[serde(default = "default_true")]
    pub reproducible: bool,
}

fn default_true() -> bool {
    true
}

const META: &str = "meta.json";
const DIFF: &str = "diff";

#[derive(Debug)]
pub struct LayerStore {
    dir: PathBuf,
    tmp: TmpArea,
    gc: Arc<GcCoordinator>,
    cache: RwLock<HashMap<Digest, LayerRecord>>,
}

impl LayerStore {
    pub(crate) fn new(
        data_root: &Path,
        tmp: TmpArea,
        gc: Arc<GcCoordinator>,
    ) -> Result<Self, StoreError> {
        let dir = data_root.join("layers");
        fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        Ok(LayerStore {
            dir,
            tmp,
            gc,
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// `layers/<chain-id-hex>`.
    pub fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.dir.join(chain_id.hex())
    }

    /// `layers/<chain-id-hex>/diff`, the overlayfs lower of this layer.
    pub fn diff_dir(&self, chain_id: &Digest) -> PathBuf {
        self.layer_dir(chain_id).join(DIFF)
    }

    pub fn exists(&self, chain_id: &Digest) -> bool {
        self.layer_dir(chain_id).join(META).is_file()
    }

    /// Unpacks a layer tar (already decompressed) on top of `parent` and returns its
    /// record. With `expected_diff_id`, a tar that hashes differently is refused before
    /// anything becomes visible. If the layer already exists (another load got there
    /// first) the new copy is dropped and the existing record returned. The layer is
    /// protected by `lease` until the caller records an image that references it.
    pub fn apply_tar(
        &self,
        lease: &Lease,
        parent: Option<&Digest>,
        expected_diff_id: Option<&Digest>,
        reader: impl Read,
    ) -> Result<LayerRecord, StoreError> {
        if let Some(parent) = parent {
            // The parent must exist (and stay: the caller leases it).
            self.get(parent)?;
        }
        self.apply_tar_in_chain(lease, parent, expected_diff_id, reader)
    }

    /// Like [`apply_tar`](Self::apply_tar) for a layer whose place in a chain is already
    /// known from its image config, so the layers of one image can unpack in parallel:
    /// a layer's content does not depend on its parent, only its chain ID does. The
    /// caller leases the whole chain and commits the image only when every layer is in.
    pub fn apply_tar_in_chain(
        &self,
        lease: &Lease,
        parent: Option<&Digest>,
        expected_diff_id: Option<&Digest>,
        reader: impl Read,
    ) -> Result<LayerRecord, StoreError> {
        let temp = self.tmp.create_dir("layer")?;
        let diff_path = temp.path().join(DIFF);
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&diff_path)
            .ctx(|| format!("create {}", diff_path.display()))?;
        let diff = Dir::open(&diff_path).ctx(|| format!("open {}", diff_path.display()))?;
        let split_path = temp.path().join(split::FILE_NAME);
        let split_file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&split_path)
            .ctx(|| format!("create {}", split_path.display()))?;

        let unpacked = apply::unpack(reader, &diff, split_file)?;
        if let Some(expected) = expected_diff_id {
            if expected != &unpacked.diff_id {
                return Err(StoreError::DigestMismatch {
                    what: "layer content (diff ID)".into(),
                    expected: expected.clone(),
                    actual: unpacked.diff_id,
                });
            }
        }
        let chain = chain_id(parent, &unpacked.diff_id);
        let record = LayerRecord {
            chain_id: chain.clone(),
            diff_id: unpacked.diff_id,
            parent: parent.cloned(),
            size: unpacked.size,
            tar_size: unpacked.tar_size,
            reproducible: unpacked.reproducible,
        };
        let meta_path = temp.path().join(META);
        let mut meta = serde_json::to_vec_pretty(&record).expect("layer record serializes");
        meta.push(b'\n');
        fs::write(&meta_path, meta).ctx(|| format!("write {}", meta_path.display()))?;
        // One flush for the whole unpacked tree instead of an fsync per file.
        diff.syncfs()
            .ctx(|| format!("syncfs {}", diff_path.display()))?;
        drop(diff);

        let dest = self.layer_dir(&chain);
        let _guard = self.gc.commit_guard();
        lease.protect(&chain);
        if self.exists(&chain) {
            return self.get(&chain);
        }
        match fs::rename(temp.path(), &dest) {
            Ok(()) => {
                temp.keep();
            }
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::ENOTEMPTY) | Some(libc::EEXIST)
                ) =>
            {
                // Another writer committed the same layer between our check and rename.
                return self.get(&chain);
            }
            Err(err) => {
                return Err(StoreError::io(
                    format!("rename {} to {}", temp.path().display(), dest.display()),
                    err,
                ))
            }
        }
        fsync_dir(&self.dir)?;
        self.cache_insert(&record);
        tracing::debug!(chain_id = %chain, size = record.size, "layer committed");
        Ok(record)
    }

    /// If the layer exists, protects it with `lease` and returns its record.
    pub fn reuse(&self, lease: &Lease, chain_id: &Digest) -> Option<LayerRecord> {
        let _guard = self.gc.commit_guard();
        let record = self.get(chain_id).ok()?;
        lease.protect(chain_id);
        Some(record)
    }

    /// The record of one layer.
    pub fn get(&self, chain_id: &Digest) -> Result<LayerRecord, StoreError> {
        if let Some(record) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(chain_id)
        {
            return Ok(record.clone());
        }
        let path = self.layer_dir(chain_id).join(META);
        let record: LayerRecord = crate::atomic::read_json(&path)?
            .ok_or_else(|| StoreError::LayerNotFound(chain_id.clone()))?;
        if &record.chain_id != chain_id {
            return Err(StoreError::CorruptRecord {
                path,
                reason: format!("records chain ID {} instead of {chain_id}", record.chain_id),
            });
        }
        self.cache_insert(&record);
        Ok(record)
    }

    fn cache_insert(&self, record: &LayerRecord) {
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.chain_id.clone(), record.clone());
    }

    /// The layer and its ancestors, top (the given layer) first.
    pub fn chain(&self, chain_id: &Digest) -> Result<Vec<LayerRecord>, StoreError> {
        let mut out = Vec::new();
        let mut next = Some(chain_id.clone());
        while let Some(id) = next {
            let record = self.get(&id)?;
            next = record.parent.clone();
            out.push(record);
            if out.len() > 1000 {
                return Err(StoreError::CorruptRecord {
                    path: self.layer_dir(chain_id),
                    reason: "layer parent chain loops".into(),
                });
            }
        }
        Ok(out)
    }

    /// The `diff/` folders of a layer and its ancestors, top first: the `lowerdir=`
    /// order of an overlay mount.
    pub fn diff_dirs(&self, chain_id: &Digest) -> Result<Vec<PathBuf>, StoreError> {
        Ok(self
            .chain(chain_id)?
            .iter()
            .map(|r| self.diff_dir(&r.chain_id))
            .collect())
    }

    /// Every layer in the store (folders without a readable meta.json are skipped).
    pub fn list(&self) -> Result<Vec<LayerRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).ctx(|| format!("list {}", self.dir.display()))? {
            let entry = entry.ctx(|| format!("list {}", self.dir.display()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !is_sha256_hex(&name) {
                continue;
            }
            match self.get(&Digest::from_hex(&name)?) {
                Ok(record) => out.push(record),
                Err(err) => tracing::warn!(layer = name, error = %err, "skipping unreadable layer"),
            }
        }
        out.sort_by(|a, b| a.chain_id.cmp(&b.chain_id));
        Ok(out)
    }

    /// The layer's original uncompressed tar, byte for byte (its sha256 is the diff ID).
    /// The reader fails at the end if the bytes no longer match.
    pub fn tar_stream(&self, chain_id: &Digest) -> Result<LayerTarReader, StoreError> {
        let record = self.get(chain_id)?;
        if !record.reproducible {
            return Err(StoreError::CorruptRecord {
                path: self.layer_dir(chain_id),
                reason: "this layer's tar overwrote its own files, so it cannot be exported byte for byte".into(),
            });
        }
        let layer_dir = self.layer_dir(chain_id);
        let split_path = layer_dir.join(split::FILE_NAME);
        let split_file =
            File::open(&split_path).ctx(|| format!("open {}", split_path.display()))?;
        let diff_path = layer_dir.join(DIFF);
        let root = Dir::open(&diff_path).ctx(|| format!("open {}", diff_path.display()))?;
        let inner = split::SplitReader::open(split_file, root)
            .ctx(|| format!("read {}", split_path.display()))?;
        Ok(LayerTarReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            record,
            finished: false,
        })
    }

    /// Moves a layer folder out of `layers/` (atomic disappearance) into `tmp/`, whence
    /// the caller deletes it. Returns the temporary path, `None` if the layer was absent.
    pub(crate) fn detach(&self, chain_id: &Digest) -> Result<Option<PathBuf>, StoreError> {
        let source = self.layer_dir(chain_id);
        let dest = self.tmp.unique_path("rm-layer");
        match fs::rename(&source, &dest) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(StoreError::io(
                    format!("move {} out of the store", source.display()),
                    err,
                ))
            }
        }
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(chain_id);
        Ok(Some(dest))
    }

    pub(crate) fn fsync(&self) -> Result<(), StoreError> {
        fsync_dir(&self.dir)
    }
}

/// A layer's original tar stream, checked against its diff ID and size as it is read.
pub struct LayerTarReader {
    inner: split::SplitReader,
    hasher: Sha256,
    count: u64,
    record: LayerRecord,
    finished: bool,
}

impl LayerTarReader {
    /// Length of the stream (for a tar header written before it).
    pub fn len(&self) -> u64 {
        self.record.tar_size
    }

    pub fn is_empty(&self) -> bool {
        self.record.tar_size == 0
    }

    pub fn diff_id(&self) -> &Digest {
        &self.record.diff_id
    }
}

impl Read for LayerTarReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.finished {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.finished = true;
            let actual = Digest::from_hasher(std::mem::take(&mut self.hasher));
            if actual != self.record.diff_id || self.count != self.record.tar_size {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "layer {} no longer reproduces its diff ID {} (got {actual}, {} of {} bytes); the layer folder was modified",
                        self.record.chain_id, self.record.diff_id, self.count, self.record.tar_size
                    ),
                ));
            }
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
