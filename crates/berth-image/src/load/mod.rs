//! `docker load`: an uploaded tar (plain, gzip or zstd) in `docker save` format or as an
//! OCI layout becomes images in the store.
//!
//! 1. The archive is spooled to `tmp/load-*/` (never held in memory), hashing every file.
//! 2. `manifest.json` (docker) or `index.json` (OCI) is read into a plan per image;
//!    every named file must exist and match any digest it is named by.
//! 3. Each layer is unpacked (or an existing one reused) with its diff ID checked against
//!    the config before it becomes visible; the config goes to the content store. All of
//!    it is leased, so a concurrent `rmi` cannot collect it.
//! 4. One commit (`refs.json`) adds every image and tag of the archive at once.
//!
//! Any error leaves the store as it was: nothing is committed, the spool goes away, and
//! layers or blobs written for this load are collected.

mod docker;
pub(crate) mod oci;
mod spool;

use std::fs::File;
use std::io::Read;
use std::sync::Arc;

use chrono::Utc;

use berth_store::compression::decompress;
use berth_store::digest::HashingReader;
use berth_store::{chain_ids, Digest, Lease, StoreError};

use crate::config::ImageConfig;
use crate::error::ImageError;
use crate::reference::Reference;
use crate::store::{ImageRecord, ImageStore, NewImage};
use spool::{Spool, SpooledFile};

/// One image the archive held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub id: Digest,
    /// Canonical references now pointing at it.
    pub tags: Vec<Reference>,
}

pub(crate) struct LayerSource {
    /// How the archive names the layer (for messages).
    pub name: String,
    pub file: SpooledFile,
}

pub(crate) struct Plan {
    /// How the archive names the image (for messages).
    pub name: String,
    pub config: SpooledFile,
    pub layers: Vec<LayerSource>,
    pub tags: Vec<Reference>,
    pub parent: Option<Digest>,
}

impl ImageStore {
    /// Loads every image in the archive read from `input`. `progress` receives docker's
    /// lines (`Loaded image: busybox:latest`, `Loaded image ID: sha256:...`); the HTTP
    /// layer wraps them as `{"stream": "...\n"}`.
    pub fn load(
        &self,
        input: impl Read,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Vec<LoadedImage>, ImageError> {
        let lease = self.storage().lease();
        let result = self.load_leased(&lease, input, progress);
        drop(lease);
        if result.is_err() {
            // Layers and blobs this load wrote are referenced by nothing now.
            if let Err(err) = self.gc() {
                tracing::warn!(error = %err, "cleanup after a failed load");
            }
        }
        result
    }

    fn load_leased(
        &self,
        lease: &Lease,
        input: impl Read,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Vec<LoadedImage>, ImageError> {
        let (reader, empty) = decompress(input)?;
        if empty {
            return Err(ImageError::archive(
                "the upload is empty (0 bytes); send a tar archive made by docker save or an OCI layout",
            ));
        }
        let spool = Spool::receive(self.storage().tmp(), reader)?;
        let plans = if spool.contains("manifest.json") {
            docker::plan(&spool)?
        } else if spool.contains("index.json") {
            oci::plan(&spool)?
        } else {
            return Err(ImageError::archive(
                "the archive has neither manifest.json (docker save) nor index.json (OCI layout)",
            ));
        };

        let mut images = Vec::with_capacity(plans.len());
        for plan in plans {
            images.push(self.prepare(lease, plan)?);
        }
        check_parents(self, &mut images);
        let loaded: Vec<LoadedImage> = images
            .iter()
            .map(|i| LoadedImage {
                id: i.record.id.clone(),
                tags: i.tags.clone(),
            })
            .collect();
        let moved = self.commit(images)?;

        for image in &loaded {
            if image.tags.is_empty() {
                progress(&format!("Loaded image ID: {}", image.id));
            }
            for tag in &image.tags {
                if let Some((_, old)) = moved.iter().find(|(t, _)| t == tag) {
                    progress(&format!(
                        "The image {} already exists, renaming the old one with ID {old} to empty string",
                        tag.familiar_string()
                    ));
                }
                progress(&format!("Loaded image: {}", tag.familiar_string()));
            }
        }
        Ok(loaded)
    }

    /// Verifies one image's config and layers and stores them (leased, not committed).
    fn prepare(&self, lease: &Lease, plan: Plan) -> Result<NewImage, ImageError> {
        let bytes = std::fs::read(&plan.config.path)
            .map_err(|e| ImageError::Corrupt(format!("read spooled config: {e}")))?;
        let id = plan.config.digest.clone();
        let config = ImageConfig::parse(&bytes)
            .map_err(|e| ImageError::archive(format!("config {}: {e}", plan.name)))?;
        if config.rootfs.kind != "layers" {
            return Err(ImageError::archive(format!(
                "config {}: rootfs type {:?} is not supported (expected \"layers\")",
                plan.name, config.rootfs.kind
            )));
        }
        if let Some(os) = config.os.as_deref() {
            if !os.is_empty() && os != "linux" {
                return Err(ImageError::archive(format!(
                    "image operating system {os:?} cannot be used on this platform"
                )));
            }
        }
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != plan.layers.len() {
            return Err(ImageError::archive(format!(
                "config {} lists {} layers (rootfs.diff_ids) but the archive's manifest lists {}",
                plan.name,
                diff_ids.len(),
                plan.layers.len()
            )));
        }
        let chain = chain_ids(diff_ids);
        let layers = self.storage().layers();
        // Every layer unpacks on its own core: the chain IDs are known from the config,
        // and nothing becomes visible until the image commits.
        let store_layer = |i: usize| -> Result<u64, ImageError> {
            let source = &plan.layers[i];
            let parent = if i == 0 { None } else { Some(&chain[i - 1]) };
            let record = match layers.reuse(lease, &chain[i]) {
                Some(record) => {
                    // Present already: still refuse an archive whose layer is wrong.
                    verify_layer(source, &diff_ids[i])?;
                    record
                }
                None => {
                    let file = File::open(&source.file.path)
                        .map_err(|e| ImageError::Corrupt(format!("open spooled layer: {e}")))?;
                    let (reader, _) = decompress(file).map_err(|e| layer_error(source, e))?;
                    layers
                        .apply_tar_in_chain(lease, parent, Some(&diff_ids[i]), reader)
                        .map_err(|e| layer_error(source, e))?
                }
            };
            Ok(record.size)
        };
        let count = plan.layers.len();
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(count.max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<u64, ImageError>>>> =
            (0..count).map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let result = store_layer(i);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                });
            }
        });
        let mut size = 0;
        for slot in results {
            let result = slot
                .into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| Err(ImageError::Corrupt("a layer was not processed".into())));
            size += result?;
        }
        self.storage()
            .content()
            .put_verified(lease, &id, &bytes[..])?;
        // Compressed layer blobs are not kept: the unpacked layer and its tar-split
        // reproduce the uncompressed tar, which is what `save` writes.
        Ok(NewImage {
            record: ImageRecord {
                id,
                parent: plan.parent,
                size,
                added: Utc::now(),
                blobs: Vec::new(),
                layer_blobs: Default::default(),
            },
            config: Arc::new(config),
            tags: plan.tags,
            touch_tag_time: false,
        })
    }
}

/// Checks a layer's content against its diff ID without unpacking it.
fn verify_layer(source: &LayerSource, diff_id: &Digest) -> Result<(), ImageError> {
    if &source.file.digest == diff_id {
        return Ok(());
    }
    let file = File::open(&source.file.path)
        .map_err(|e| ImageError::Corrupt(format!("open spooled layer: {e}")))?;
    let (reader, _) = decompress(file).map_err(|e| layer_error(source, e))?;
    let (actual, _, _) = HashingReader::new(reader).finish().map_err(|e| {
        layer_error(
            source,
            StoreError::BadTar(format!("cannot decompress: {e}")),
        )
    })?;
    if &actual != diff_id {
        return Err(layer_error(
            source,
            StoreError::DigestMismatch {
                what: "layer content (diff ID)".into(),
                expected: diff_id.clone(),
                actual,
            },
        ));
    }
    Ok(())
}

fn layer_error(source: &LayerSource, err: StoreError) -> ImageError {
    match err {
        StoreError::DigestMismatch { expected, actual, .. } => ImageError::archive(format!(
            "layer {}: its content does not match the image config: the config says diff ID {expected}, the content hashes to {actual}",
            source.name
        )),
        err if err.is_bad_input() => ImageError::archive(format!("layer {}: {err}", source.name)),
        err => ImageError::Store(err),
    }
}

/// Keeps a `Parent` link from `manifest.json` only if the parent is known (loaded now or
/// already present) and its layers are a prefix of the child's, as moby validates.
fn check_parents(store: &ImageStore, images: &mut [NewImage]) {
    let known: Vec<(Digest, Vec<Digest>)> = images
        .iter()
        .map(|i| (i.record.id.clone(), i.config.rootfs.diff_ids.clone()))
        .collect();
    for image in images.iter_mut() {
        let Some(parent) = image.record.parent.clone() else {
            continue;
        };
        let parent_layers = known
            .iter()
            .find(|(id, _)| id == &parent)
            .map(|(_, layers)| layers.clone())
            .or_else(|| store.get(&parent).map(|p| p.config.rootfs.diff_ids.clone()));
        let valid = parent_layers.is_some_and(|pl| {
            let own = &image.config.rootfs.diff_ids;
            pl.len() < own.len() && own.starts_with(&pl)
        });
        if !valid {
            tracing::warn!(image = %image.record.id, parent = %parent, "ignoring invalid parent link in manifest.json");
            image.record.parent = None;
        }
    }
}
