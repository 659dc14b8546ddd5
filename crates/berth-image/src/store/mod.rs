//! The image store: image records, references, and the one commit point that makes a
//! change visible.
//!
//! On disk (besides the blobs and layers of `berth_store`):
//!
//! ```text
//! <root>/images/<id-hex>.json   ImageRecord: parent, size, extra blobs; one per image
//! <root>/refs.json              the index: which images exist (+ last tag time) and every
//!                               repo:tag / repo@digest reference
//! ```
//!
//! `refs.json` is the commit point. A new image's record and its blobs and layers are
//! written first (invisible until indexed), then `refs.json` is replaced atomically with
//! the image and its tags in it. Removing an image rewrites `refs.json` without it, then
//! deletes its record and collects its layers. At open, records that `refs.json` does
//! not list (a crash before the commit) and layers/blobs no image references are removed,
//! so a crash at any point leaves the old state or the new one.

mod remove;
pub mod view;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use berth_store::atomic::{read_json, remove_file, write_json};
use berth_store::digest::is_sha256_hex;
use berth_store::{chain_ids, Digest, GcReport, Store};

use crate::config::ImageConfig;
use crate::error::ImageError;
use crate::reference::{AnyReference, Reference};

pub use remove::{ContainerUse, RemoveOptions};

/// `images/<id-hex>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: Digest,
    /// The image this one was built/committed from (local history only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Digest>,
    /// Sum of the layers' content sizes.
    pub size: u64,
    /// When the image entered this store.
    pub added: DateTime<Utc>,
    /// Blobs besides the config that this image keeps alive (manifests, compressed
    /// layers of a pull).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blobs: Vec<Digest>,
    /// The compressed blobs known for this image's layers, by diff ID: what a pull
    /// downloaded or a push uploaded, so a push can send (or mount) them again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layer_blobs: BTreeMap<Digest, LayerBlob>,
}

/// A compressed layer blob in the content store and where it is known to live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlob {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    /// `host/repository` names the blob was pulled from or pushed to (mount sources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// Per-image entry of `refs.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct IndexEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_tag_time: Option<DateTime<Utc>>,
    /// Deleted by the user while a container still uses it: invisible, but its layers
    /// and config stay until [`ImageStore::collect_garbage`] finds it unused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    retained: bool,
}

/// `refs.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RefsFile {
    version: u32,
    images: BTreeMap<Digest, IndexEntry>,
    refs: BTreeMap<String, Digest>,
}

const REFS_VERSION: u32 = 1;

/// One image as the store knows it (a snapshot; cheap to clone).
#[derive(Debug, Clone)]
pub struct Image {
    pub id: Digest,
    pub parent: Option<Digest>,
    pub config: Arc<ImageConfig>,
    /// Chain IDs, bottom layer first.
    pub chain_ids: Vec<Digest>,
    pub size: u64,
    /// `repo:tag` references, canonical form, sorted.
    pub repo_tags: Vec<Reference>,
    /// `repo@digest` references.
    pub repo_digests: Vec<Reference>,
    pub last_tag_time: Option<DateTime<Utc>>,
    pub added: DateTime<Utc>,
}

impl Image {
    /// The top layer's chain ID (`None` for an image without layers).
    pub fn top_layer(&self) -> Option<&Digest> {
        self.chain_ids.last()
    }

    /// Familiar `name:tag` strings, as docker prints them.
    pub fn familiar_tags(&self) -> Vec<String> {
        self.repo_tags
            .iter()
            .map(Reference::familiar_string)
            .collect()
    }

    pub fn familiar_digests(&self) -> Vec<String> {
        self.repo_digests
            .iter()
            .map(Reference::familiar_string)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub record: ImageRecord,
    pub config: Arc<ImageConfig>,
    pub chain: Vec<Digest>,
    index: IndexEntry,
}

/// In-memory state; changes are made on a copy and swapped in after `refs.json` is written.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub images: HashMap<Digest, Entry>,
    /// Canonical reference string → (parsed reference, image).
    pub refs: BTreeMap<String, (Reference, Digest)>,
}

impl State {
    pub(crate) fn visible(&self, id: &Digest) -> Option<&Entry> {
        self.images.get(id).filter(|e| !e.index.retained)
    }

    pub(crate) fn refs_of(&self, id: &Digest) -> Vec<Reference> {
        self.refs
            .values()
            .filter(|(_, target)| target == id)
            .map(|(r, _)| r.clone())
            .collect()
    }

    pub(crate) fn children(&self, id: &Digest) -> Vec<Digest> {
        self.images
            .values()
            .filter(|e| !e.index.retained && e.record.parent.as_ref() == Some(id))
            .map(|e| e.record.id.clone())
            .collect()
    }

    pub(crate) fn is_dangling(&self, id: &Digest) -> bool {
        self.refs_of(id).is_empty() && self.children(id).is_empty()
    }

    pub(crate) fn image(&self, id: &Digest) -> Option<Image> {
        let entry = self.images.get(id)?;
        let mut repo_tags = Vec::new();
        let mut repo_digests = Vec::new();
        for reference in self.refs_of(id) {
            if reference.digest().is_some() {
                repo_digests.push(reference);
            } else {
                repo_tags.push(reference);
            }
        }
        Some(Image {
            id: id.clone(),
            parent: entry.record.parent.clone(),
            config: Arc::clone(&entry.config),
            chain_ids: entry.chain.clone(),
            size: entry.record.size,
            repo_tags,
            repo_digests,
            last_tag_time: entry.index.last_tag_time,
            added: entry.record.added,
        })
    }

    /// Docker's image lookup: a full ID/digest, then a reference (default tag latest),
    /// then a unique ID prefix.
    pub(crate) fn resolve(&self, text: &str) -> Result<Digest, ImageError> {
        match AnyReference::parse(text)? {
            AnyReference::Digest(digest) => {
                let id =
                    Digest::parse(&digest).map_err(|_| ImageError::NotFound(digest.clone()))?;
                if self.visible(&id).is_some() {
                    Ok(id)
                } else {
                    Err(ImageError::NotFound(digest))
                }
            }
            AnyReference::Named(reference) => {
                let lookup = reference.docker_ref();
                if let Some((_, id)) = self.refs.get(&lookup.to_string()) {
                    if self.visible(id).is_some() {
                        return Ok(id.clone());
                    }
                }
                let shown = lookup.familiar_string();
                self.search_prefix(text).map_err(|err| match err {
                    PrefixError::None => ImageError::NotFound(shown),
                    PrefixError::Many(count) => ImageError::Ambiguous {
                        reference: shown,
                        prefix: text.to_string(),
                        count,
                    },
                })
            }
        }
    }

    fn search_prefix(&self, text: &str) -> Result<Digest, PrefixError> {
        let prefix = text.strip_prefix("sha256:").unwrap_or(text);
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(PrefixError::None);
        }
        let mut found = self
            .images
            .values()
            .filter(|e| !e.index.retained && e.record.id.hex().starts_with(prefix))
            .map(|e| e.record.id.clone());
        match (found.next(), found.next()) {
            (None, _) => Err(PrefixError::None),
            (Some(id), None) => Ok(id),
            (Some(_), Some(_)) => Err(PrefixError::Many(2 + found.count())),
        }
    }

    fn to_file(&self) -> RefsFile {
        RefsFile {
            version: REFS_VERSION,
            images: self
                .images
                .iter()
                .map(|(id, e)| (id.clone(), e.index.clone()))
                .collect(),
            refs: self
                .refs
                .iter()
                .map(|(k, (_, id))| (k.clone(), id.clone()))
                .collect(),
        }
    }

    /// Layer and blob roots for garbage collection: everything any image (retained ones
    /// included) references.
    fn gc_roots(&self) -> (HashSet<Digest>, HashSet<Digest>) {
        let mut layers = HashSet::new();
        let mut blobs = HashSet::new();
        for entry in self.images.values() {
            if let Some(top) = entry.chain.last() {
                layers.insert(top.clone());
            }
            blobs.insert(entry.record.id.clone());
            blobs.extend(entry.record.blobs.iter().cloned());
            blobs.extend(entry.record.layer_blobs.values().map(|b| b.digest.clone()));
        }
        (layers, blobs)
    }
}

enum PrefixError {
    None,
    Many(usize),
}

/// Images, references and their storage under one data root. `Send + Sync`: share it
/// behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct ImageStore {
    store: Store,
    images_dir: PathBuf,
    refs_path: PathBuf,
    state: Mutex<State>,
}

impl ImageStore {
    /// Opens the store under `data_root` (creating it), removes what a crash left
    /// half-done, and loads every image record.
    pub fn open(data_root: impl AsRef<Path>) -> Result<ImageStore, ImageError> {
        let store = Store::open(data_root.as_ref())?;
        let images_dir = store.root().join("images");
        fs::create_dir_all(&images_dir)
            .map_err(|e| ImageError::Corrupt(format!("create {}: {e}", images_dir.display())))?;
        let refs_path = store.root().join("refs.json");
        let file: RefsFile = read_json(&refs_path)?.unwrap_or_default();
        if file.version > REFS_VERSION {
            return Err(ImageError::Corrupt(format!(
                "{} has version {}, newer than this berth understands ({REFS_VERSION})",
                refs_path.display(),
                file.version
            )));
        }

        let mut state = State::default();
        let mut dirty = false;
        for (id, index) in file.images {
            match load_entry(&store, &images_dir, &id, index) {
                Ok(entry) => {
                    state.images.insert(id, entry);
                }
                Err(err) => {
                    tracing::error!(image = %id, error = %err, "dropping unreadable image");
                    dirty = true;
                }
            }
        }
        for (key, id) in file.refs {
            let reference = match Reference::parse_canonical(&key) {
                Ok(r) => r,
                Err(err) => {
                    tracing::error!(reference = key, error = %err, "dropping unparsable reference");
                    dirty = true;
                    continue;
                }
            };
            if state.images.contains_key(&id) {
                state.refs.insert(key, (reference, id));
            } else {
                dirty = true;
            }
        }

        let this = ImageStore {
            store,
            images_dir,
            refs_path,
            state: Mutex::new(State::default()),
        };
        if dirty {
            this.write_index(&state)?;
        }
        this.remove_orphan_records(&state)?;
        *this.lock() = state;
        this.gc()?;
        Ok(this)
    }

    /// The storage primitives (for the engine: overlay lowers, export).
    pub fn storage(&self) -> &Store {
        &self.store
    }

    pub fn data_root(&self) -> &Path {
        self.store.root()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every visible image.
    pub fn list(&self) -> Vec<Image> {
        let state = self.lock();
        let mut out: Vec<Image> = state
            .images
            .keys()
            .filter(|id| state.visible(id).is_some())
            .filter_map(|id| state.image(id))
            .collect();
        out.sort_by(|a, b| {
            b.config
                .created_unix()
                .cmp(&a.config.created_unix())
                .then(a.id.cmp(&b.id))
        });
        out
    }

    /// An image by exact ID, including one deleted while a container still uses it (so
    /// the engine can keep mounting it).
    pub fn get(&self, id: &Digest) -> Option<Image> {
        self.lock().image(id)
    }

    /// Finds an image by full ID, `sha256:` digest, name (`busybox` = `busybox:latest`),
    /// `name@digest`, or unique ID prefix. Errors: `No such image: x`, ambiguous prefix,
    /// invalid reference.
    pub fn resolve(&self, name_or_id: &str) -> Result<Image, ImageError> {
        let state = self.lock();
        let id = state.resolve(name_or_id)?;
        Ok(state.image(&id).expect("resolved image exists"))
    }

    /// The `diff/` folders of an image's layers, top first (overlay `lowerdir` order).
    pub fn layer_dirs(&self, id: &Digest) -> Result<Vec<PathBuf>, ImageError> {
        let image = self
            .get(id)
            .ok_or_else(|| ImageError::NotFound(id.to_string()))?;
        match image.top_layer() {
            None => Ok(Vec::new()),
            Some(top) => Ok(self.store.layers().diff_dirs(top)?),
        }
    }

    /// The raw config bytes (the image ID is their sha256).
    pub fn raw_config(&self, id: &Digest) -> Result<Vec<u8>, ImageError> {
        Ok(self.store.content().read_verified(id)?)
    }

    /// Points `target` (`repo[:tag]`, default tag `latest`) at the image `source` names.
    /// An existing tag moves, as in docker.
    pub fn tag(&self, source: &str, target: &Reference) -> Result<(), ImageError> {
        if target.digest().is_some() {
            return Err(ImageError::InvalidParameter(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        let target = target.clone().with_default_tag();
        if target.familiar_name() == "sha256" {
            return Err(ImageError::InvalidParameter(
                "refusing to create an ambiguous tag using digest algorithm as name".into(),
            ));
        }
        let mut state = self.lock();
        let id = state.resolve(source)?;
        let mut next = state.clone();
        next.refs.insert(target.to_string(), (target, id.clone()));
        if let Some(entry) = next.images.get_mut(&id) {
            entry.index.last_tag_time = Some(Utc::now());
        }
        self.write_index(&next)?;
        *state = next;
        Ok(())
    }

    /// Adds images (their config blobs and layers already stored under a lease) and
    /// points `tags` at them, in one commit. Returns, per tag, the image it pointed to
    /// before (when it moved).
    pub(crate) fn commit(
        &self,
        images: Vec<NewImage>,
    ) -> Result<Vec<(Reference, Digest)>, ImageError> {
        let mut state = self.lock();
        let mut next = state.clone();
        let mut moved = Vec::new();
        for image in images {
            let id = image.record.id.clone();
            match next.images.get_mut(&id) {
                Some(existing) => existing.index.retained = false,
                None => {
                    write_json(self.store.tmp(), &self.record_path(&id), &image.record)?;
                    let chain = chain_ids(&image.config.rootfs.diff_ids);
                    next.images.insert(
                        id.clone(),
                        Entry {
                            record: image.record,
                            config: image.config,
                            chain,
                            index: IndexEntry::default(),
                        },
                    );
                }
            }
            if image.touch_tag_time && !image.tags.is_empty() {
                if let Some(entry) = next.images.get_mut(&id) {
                    entry.index.last_tag_time = Some(Utc::now());
                }
            }
            for tag in image.tags {
                if let Some((_, previous)) =
                    next.refs.insert(tag.to_string(), (tag.clone(), id.clone()))
                {
                    if previous != id {
                        moved.push((tag, previous));
                    }
                }
            }
        }
        self.write_index(&next)?;
        *state = next;
        Ok(moved)
    }

    /// The stored record of an image.
    pub(crate) fn record(&self, id: &Digest) -> Result<ImageRecord, ImageError> {
        self.lock()
            .images
            .get(id)
            .map(|e| e.record.clone())
            .ok_or_else(|| ImageError::NotFound(id.to_string()))
    }

    /// Is the image present and not deleted?
    pub fn is_visible(&self, id: &Digest) -> bool {
        self.lock().visible(id).is_some()
    }

    /// A compressed blob recorded for the layer `diff_id` by any image (pulled or pushed),
    /// preferring one still in the content store. A pull records the blob it downloaded
    /// without keeping it, so the blob may only exist on the registries it names.
    pub fn layer_blob(&self, diff_id: &Digest) -> Option<LayerBlob> {
        let state = self.lock();
        let known: Vec<&LayerBlob> = state
            .images
            .values()
            .filter_map(|e| e.record.layer_blobs.get(diff_id))
            .collect();
        known
            .iter()
            .find(|b| self.store.content().exists(&b.digest))
            .or(known.first())
            .map(|b| (*b).clone())
    }

    /// Records compressed blobs for an image's layers (after a push made them), and
    /// adds `digest_ref` (`repo@digest`) when given. The blobs must be leased by the
    /// caller until this returns.
    pub fn record_distribution(
        &self,
        id: &Digest,
        blobs: Vec<(Digest, LayerBlob)>,
        digest_ref: Option<Reference>,
    ) -> Result<(), ImageError> {
        let mut state = self.lock();
        let mut next = state.clone();
        let Some(entry) = next.images.get_mut(id) else {
            return Err(ImageError::NotFound(id.to_string()));
        };
        let mut changed = false;
        for (diff_id, blob) in blobs {
            match entry.record.layer_blobs.get_mut(&diff_id) {
                Some(existing) if existing.digest == blob.digest => {
                    for source in blob.sources {
                        if !existing.sources.contains(&source) {
                            existing.sources.push(source);
                            changed = true;
                        }
                    }
                }
                _ => {
                    entry.record.layer_blobs.insert(diff_id, blob);
                    changed = true;
                }
            }
        }
        if changed {
            write_json(self.store.tmp(), &self.record_path(id), &entry.record)?;
        }
        if let Some(reference) = digest_ref {
            next.refs
                .insert(reference.to_string(), (reference, id.clone()));
            self.write_index(&next)?;
        }
        *state = next;
        Ok(())
    }

    /// Writes `refs.json` from a state: the commit point of every change.
    fn write_index(&self, state: &State) -> Result<(), ImageError> {
        write_json(self.store.tmp(), &self.refs_path, &state.to_file())?;
        Ok(())
    }

    fn record_path(&self, id: &Digest) -> PathBuf {
        self.images_dir.join(format!("{}.json", id.hex()))
    }

    fn remove_orphan_records(&self, state: &State) -> Result<(), ImageError> {
        let entries = fs::read_dir(&self.images_dir)
            .map_err(|e| ImageError::Corrupt(format!("list {}: {e}", self.images_dir.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let listed = name
                .strip_suffix(".json")
                .filter(|hex| is_sha256_hex(hex))
                .and_then(|hex| Digest::from_hex(hex).ok())
                .is_some_and(|id| state.images.contains_key(&id));
            if !listed {
                tracing::info!(
                    file = name,
                    "removing image record that was never committed"
                );
                remove_file(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Removes layers and blobs no image references (leased ones excepted).
    pub(crate) fn gc(&self) -> Result<GcReport, ImageError> {
        let state = self.lock();
        let (layers, blobs) = state.gc_roots();
        // Collect while holding the state lock, so no commit races the root set.
        Ok(self.store.gc(&layers, &blobs)?)
    }

    /// Drops images deleted while in use once no container uses them, then collects
    /// unreferenced layers and blobs. Call after removing a container.
    pub fn collect_garbage(
        &self,
        in_use: &dyn Fn(&Digest) -> Option<ContainerUse>,
    ) -> Result<GcReport, ImageError> {
        {
            let mut state = self.lock();
            let released: Vec<Digest> = state
                .images
                .values()
                .filter(|e| e.index.retained && in_use(&e.record.id).is_none())
                .map(|e| e.record.id.clone())
                .collect();
            if !released.is_empty() {
                let mut next = state.clone();
                for id in &released {
                    next.images.remove(id);
                }
                self.write_index(&next)?;
                for id in &released {
                    remove_file(&self.record_path(id))?;
                }
                *state = next;
            }
        }
        self.gc()
    }
}

/// An image about to be committed by load/import.
#[derive(Debug)]
pub(crate) struct NewImage {
    pub record: ImageRecord,
    pub config: Arc<ImageConfig>,
    pub tags: Vec<Reference>,
    /// Set `LastTagTime` (a local tag, as import does; a load does not).
    pub touch_tag_time: bool,
}

fn load_entry(
    store: &Store,
    images_dir: &Path,
    id: &Digest,
    index: IndexEntry,
) -> Result<Entry, ImageError> {
    let path = images_dir.join(format!("{}.json", id.hex()));
    let record: ImageRecord = read_json(&path)?
        .ok_or_else(|| ImageError::Corrupt(format!("{} is missing", path.display())))?;
    if &record.id != id {
        return Err(ImageError::Corrupt(format!(
            "{} records ID {}",
            path.display(),
            record.id
        )));
    }
    let raw = store.content().read_verified(id)?;
    let config = ImageConfig::parse(&raw).map_err(ImageError::Corrupt)?;
    let chain = chain_ids(&config.rootfs.diff_ids);
    if let Some(top) = chain.last() {
        // The whole chain must be there for the image to be usable.
        store.layers().chain(top)?;
    }
    Ok(Entry {
        record,
        config: Arc::new(config),
        chain,
        index,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::ImageStore>();
        check::<super::Image>();
    }
}
