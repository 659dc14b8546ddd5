//! Berth's storage primitives under one data root:
//!
//! ```text
//! <root>/blobs/sha256/<hex>                       content store (verified on write)
//! <root>/layers/<chain-id-hex>/diff/              unpacked layer, an overlayfs lower
//! <root>/layers/<chain-id-hex>/meta.json          its LayerRecord
//! <root>/layers/<chain-id-hex>/tar-split.gz       what reproduces the original tar
//! <root>/tmp/                                     temporaries; emptied at open
//! ```
//!
//! [`Store::open`] creates the folders and removes leftovers of a crashed run. Blobs and
//! layers are immutable; they go away through [`Store::gc`], which keeps what the caller
//! names as roots plus whatever a live [`Lease`] protects.

pub mod atomic;
pub mod compression;
pub mod content;
pub mod digest;
pub mod error;
pub mod layers;
mod lease;
pub mod tar;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use atomic::TmpArea;
pub use content::{BlobInfo, BlobWriter, ContentStore};
pub use digest::{chain_id, chain_ids, Digest};
pub use error::StoreError;
pub use layers::{LayerRecord, LayerStore, LayerTarReader};
pub use lease::Lease;

use error::IoContext;
use lease::GcCoordinator;

/// The content and layer stores of one data root.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    tmp: TmpArea,
    content: ContentStore,
    layers: LayerStore,
    gc: Arc<GcCoordinator>,
}

/// What a garbage collection removed.
#[derive(Debug, Default)]
pub struct GcReport {
    pub layers: Vec<LayerRecord>,
    pub blobs: Vec<Digest>,
}

impl GcReport {
    /// Bytes of layer content freed.
    pub fn layer_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.size).sum()
    }
}

impl Store {
    /// Opens (creating if needed) the store under `root` and removes every temporary left
    /// by an earlier run. Only one process may use a data root at a time.
    pub fn open(root: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).ctx(|| format!("create data root {}", root.display()))?;
        let tmp = TmpArea::new(root.join("tmp"))?;
        tmp.clean()?;
        let gc = Arc::new(GcCoordinator::default());
        let content = ContentStore::new(&root, tmp.clone(), Arc::clone(&gc))?;
        let layers = LayerStore::new(&root, tmp.clone(), Arc::clone(&gc))?;
        Ok(Store {
            root,
            tmp,
            content,
            layers,
            gc,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn tmp(&self) -> &TmpArea {
        &self.tmp
    }

    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    /// A new lease: blobs and layers added to it survive collections until it drops.
    pub fn lease(&self) -> Lease {
        Lease::new(Arc::clone(&self.gc))
    }

    /// Removes every layer not reachable from `layer_roots` (a root keeps its parents)
    /// and every blob not in `blob_roots`, except what live leases protect.
    pub fn gc(
        &self,
        layer_roots: &HashSet<Digest>,
        blob_roots: &HashSet<Digest>,
    ) -> Result<GcReport, StoreError> {
        let mut report = GcReport::default();
        let mut detached = Vec::new();
        {
            let _guard = self.gc.sweep_guard();
            let leased = self.gc.leased();
            let all_layers = self.layers.list()?;
            let by_id: std::collections::HashMap<&Digest, &LayerRecord> =
                all_layers.iter().map(|l| (&l.chain_id, l)).collect();
            let mut keep: HashSet<Digest> = HashSet::new();
            for start in layer_roots.iter().chain(leased.iter()) {
                let mut next = Some(start);
                while let Some(id) = next {
                    if !keep.insert(id.clone()) {
                        break;
                    }
                    next = by_id.get(id).and_then(|l| l.parent.as_ref());
                }
            }
            for layer in &all_layers {
                if !keep.contains(&layer.chain_id) {
                    if let Some(path) = self.layers.detach(&layer.chain_id)? {
                        detached.push(path);
                        report.layers.push(layer.clone());
                    }
                }
            }
            if !report.layers.is_empty() {
                self.layers.fsync()?;
            }
            for blob in self.content.list()? {
                if !blob_roots.contains(&blob) && !leased.contains(&blob) {
                    self.content.delete(&blob)?;
                    report.blobs.push(blob);
                }
            }
        }
        // The folders already left layers/; deleting them needs no lock.
        for path in detached {
            if let Err(err) = atomic::remove_any(&path) {
                tracing::warn!(path = %path.display(), error = %err, "could not delete removed layer (it is cleaned at next start)");
            }
        }
        if !report.layers.is_empty() || !report.blobs.is_empty() {
            tracing::info!(
                layers = report.layers.len(),
                blobs = report.blobs.len(),
                "garbage collected"
            );
        }
        Ok(report)
    }
}
