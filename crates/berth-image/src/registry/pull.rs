//! `docker pull`: manifest (through an index when there is one) → config → every layer
//! downloaded at once, each streamed through its digest check into the content store
//! and, at the same time, decompressed and unpacked on its own thread. The image
//! becomes visible in one commit after every layer verified; any failure leaves
//! nothing behind (the lease drops and a collection removes what was written).

use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use tokio::sync::mpsc;

use berth_store::compression::decompress;
use berth_store::digest::HashingReader;
use berth_store::{chain_ids, Digest, Lease, StoreError};

use super::client::Repository;
use super::error::{describe, RegistryError};
use super::manifest::{self, Descriptor, Fetched, ImageManifest, Platform};
use super::progress::{Progress, Throttle};
use super::{AuthConfig, Registries};
use crate::config::ImageConfig;
use crate::reference::Reference;
use crate::store::{ImageRecord, ImageStore, LayerBlob, NewImage};

/// What to pull.
#[derive(Debug, Clone)]
pub struct PullRequest {
    /// Normalized, with a tag or a digest.
    pub reference: Reference,
    /// `None`: the host's platform.
    pub platform: Option<Platform>,
    pub auth: AuthConfig,
}

/// What a pull produced.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub id: Digest,
    /// The digest of the manifest (or index) the reference resolved to.
    pub digest: Digest,
    /// False when the image was already present.
    pub downloaded: bool,
}

/// The configs and manifests the pull fetched, stored with the image.
struct Fetch {
    repo: Repository,
    top_digest: Digest,
    /// Manifest blobs to keep (index and image manifest).
    manifests: Vec<Bytes>,
    manifest: ImageManifest,
}

/// Docker's short layer ID in progress lines: 12 hex characters of the blob digest.
fn short(digest: &Digest) -> String {
    digest.hex()[..12].to_string()
}

/// Pulls one reference. `progress` gets docker's messages; the caller adds nothing but
/// the final error line.
pub async fn pull(
    store: Arc<ImageStore>,
    registries: Arc<Registries>,
    request: PullRequest,
    progress: Progress,
) -> Result<Pulled, RegistryError> {
    let lease = Arc::new(store.storage().lease());
    let result = pull_leased(&store, &registries, &request, &progress, &lease).await;
    drop(lease);
    if result.is_err() {
        let store = store.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(err) = store.gc() {
                tracing::warn!(error = %err, "cleanup after a failed pull");
            }
        })
        .await;
    }
    result
}

async fn pull_leased(
    store: &Arc<ImageStore>,
    registries: &Arc<Registries>,
    request: &PullRequest,
    progress: &Progress,
    lease: &Arc<Lease>,
) -> Result<Pulled, RegistryError> {
    let reference = &request.reference;
    let explicit_platform = request.platform.is_some();
    let platform = request.platform.clone().unwrap_or_else(Platform::host);
    let fetch = fetch_manifest(registries, request, &platform).await?;
    let label = reference
        .tag()
        .or(reference.digest())
        .unwrap_or("latest")
        .to_string();
    progress.line_id(&label, format!("Pulling from {}", reference.path()));

    let image_manifest = &fetch.manifest;
    for layer in &image_manifest.layers {
        manifest::check_layer(layer)?;
    }
    let id = image_manifest.config.digest.clone();
    let mut tags = Vec::new();
    if let Some(tag) = reference.tag() {
        tags.push(reference.with_tag(tag).map_err(crate::ImageError::from)?);
    }
    tags.push(
        reference
            .with_digest(fetch.top_digest.as_str())
            .map_err(crate::ImageError::from)?,
    );

    if store.is_visible(&id) {
        // Present and tagged already: nothing to write (no fsync on this fast path).
        let tagged = tags
            .iter()
            .all(|t| store.resolve(&t.to_string()).is_ok_and(|i| i.id == id));
        if !tagged {
            commit(store, lease, &fetch, None, tags).await?;
        }
        // As docker: a tag that now points to the image counts as a newer image, even
        // when every layer was present.
        finish(progress, reference, &fetch.top_digest, !tagged);
        return Ok(Pulled {
            id,
            digest: fetch.top_digest,
            downloaded: !tagged,
        });
    }

    let config_bytes = fetch
        .repo
        .blob_bytes(&id, 8 << 20)
        .await
        .map_err(|e| match e {
            RegistryError::Protocol(m) => RegistryError::Protocol(format!("image config: {m}")),
            other => other,
        })?;
    let config = ImageConfig::parse(&config_bytes)
        .map_err(|e| RegistryError::protocol(format!("the image config is malformed: {e}")))?;
    check_platform(&config, &platform, explicit_platform, reference)?;
    let diff_ids = config.rootfs.diff_ids.clone();
    if diff_ids.len() != image_manifest.layers.len() {
        return Err(RegistryError::protocol(format!(
            "the image config lists {} layers but its manifest {}",
            diff_ids.len(),
            image_manifest.layers.len()
        )));
    }
    let chain = chain_ids(&diff_ids);

    // Announce every layer first, as docker does, then fetch them all at once.
    let mut pending = Vec::new();
    for (i, layer) in image_manifest.layers.iter().enumerate() {
        if store.storage().layers().reuse(lease, &chain[i]).is_some() {
            progress.layer(&short(&layer.digest), "Already exists");
        } else {
            progress.layer(&short(&layer.digest), "Pulling fs layer");
            pending.push(i);
        }
    }
    let source = format!("{}/{}", fetch.repo.endpoint.host, fetch.repo.name);
    let repo = &fetch.repo;
    let jobs = pending.iter().map(|&i| {
        let layer = &image_manifest.layers[i];
        let parent = if i == 0 {
            None
        } else {
            Some(chain[i - 1].clone())
        };
        let job = LayerJob {
            store: store.clone(),
            lease: lease.clone(),
            descriptor: layer.clone(),
            chain_id: chain[i].clone(),
            parent,
            diff_id: diff_ids[i].clone(),
            progress: progress.clone(),
        };
        let registries = registries.clone();
        async move {
            let lock = registries.download_lock(&job.chain_id);
            let _held = lock.lock().await;
            job.run(repo).await
        }
    });
    futures_util::future::try_join_all(jobs).await?;

    // Which compressed blob each layer came from, and where: a later push finds it there.
    let layer_blobs = image_manifest
        .layers
        .iter()
        .zip(&diff_ids)
        .map(|(layer, diff_id)| {
            let blob = LayerBlob {
                digest: layer.digest.clone(),
                size: layer.size,
                media_type: layer.media_type.clone(),
                sources: vec![source.clone()],
            };
            (diff_id.clone(), blob)
        })
        .collect();
    let size = {
        let layers = store.storage().layers();
        let mut size = 0;
        for id in &chain {
            size += layers.get(id)?.size;
        }
        size
    };
    let image = NewImage {
        record: ImageRecord {
            id: id.clone(),
            parent: None,
            size,
            added: Utc::now(),
            blobs: Vec::new(),
            layer_blobs,
        },
        config: Arc::new(config),
        tags: Vec::new(),
        touch_tag_time: false,
    };
    commit(store, lease, &fetch, Some((image, config_bytes)), tags).await?;
    finish(progress, reference, &fetch.top_digest, true);
    Ok(Pulled {
        id,
        digest: fetch.top_digest,
        downloaded: true,
    })
}

fn finish(progress: &Progress, reference: &Reference, digest: &Digest, downloaded: bool) {
    progress.line(format!("Digest: {digest}"));
    let shown = reference.familiar_string();
    if downloaded {
        progress.line(format!("Status: Downloaded newer image for {shown}"));
    } else {
        progress.line(format!("Status: Image is up to date for {shown}"));
    }
}

/// docker refuses an image for another OS; with an explicit `--platform` it also
/// refuses another architecture.
fn check_platform(
    config: &ImageConfig,
    want: &Platform,
    explicit: bool,
    reference: &Reference,
) -> Result<(), RegistryError> {
    let os = config.os.clone().unwrap_or_default();
    let arch = config.architecture.clone().unwrap_or_default();
    if !os.is_empty() && os != want.os {
        return Err(RegistryError::NotFound(format!(
            "image with reference {} was found but does not match the specified platform: wanted {want}, actual: {os}/{arch}",
            reference.familiar_string()
        )));
    }
    if explicit && !arch.is_empty() && arch != want.architecture {
        return Err(RegistryError::NotFound(format!(
            "image with reference {} was found but does not match the specified platform: wanted {want}, actual: {os}/{arch}",
            reference.familiar_string()
        )));
    }
    Ok(())
}

/// Resolves the reference on the first endpoint that has it (mirrors first) down to a
/// single-platform manifest.
async fn fetch_manifest(
    registries: &Registries,
    request: &PullRequest,
    platform: &Platform,
) -> Result<Fetch, RegistryError> {
    let reference = &request.reference;
    let wanted = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_string();
    let shown = reference.familiar_string();
    let mut last_error = None;
    for endpoint in registries.endpoints(reference.domain()) {
        let attempt = async {
            let repo = registries
                .connect(&endpoint, reference.path(), &request.auth, false)
                .await?;
            let (bytes, media_type, digest) = repo.manifest(&wanted, &shown).await?;
            Ok::<_, RegistryError>((repo, bytes, media_type, digest))
        }
        .await;
        match attempt {
            Ok((repo, bytes, media_type, digest)) => {
                if let Some(want) = reference.digest() {
                    if digest.as_str() != want {
                        return Err(RegistryError::protocol(format!(
                            "manifest verification failed for digest {want}: the registry sent content hashing to {digest}"
                        )));
                    }
                }
                return resolve(repo, bytes, &media_type, digest, platform, &shown).await;
            }
            Err(err) if endpoint.mirror => {
                tracing::info!(mirror = %endpoint.base, error = %err, "mirror failed; trying the next endpoint");
                last_error = Some(err);
            }
            Err(err) => return Err(err),
        }
    }
    Err(last_error.unwrap_or_else(|| RegistryError::protocol("no registry endpoint to pull from")))
}

async fn resolve(
    repo: Repository,
    bytes: Bytes,
    media_type: &str,
    digest: Digest,
    platform: &Platform,
    shown: &str,
) -> Result<Fetch, RegistryError> {
    match manifest::parse(&bytes, media_type)? {
        Fetched::Image(manifest) => Ok(Fetch {
            repo,
            top_digest: digest,
            manifests: vec![bytes],
            manifest,
        }),
        Fetched::Index(index) => {
            let chosen = manifest::select(&index, platform)?.clone();
            let (inner, inner_type, inner_digest) =
                repo.manifest(chosen.digest.as_str(), shown).await?;
            if inner_digest != chosen.digest {
                return Err(RegistryError::protocol(format!(
                    "manifest verification failed for digest {}: the registry sent content hashing to {inner_digest}",
                    chosen.digest
                )));
            }
            match manifest::parse(&inner, &inner_type)? {
                Fetched::Image(manifest) => Ok(Fetch {
                    repo,
                    top_digest: digest,
                    manifests: vec![bytes, inner],
                    manifest,
                }),
                Fetched::Index(_) => Err(RegistryError::Unsupported(
                    "an image index that points at another index is not supported".into(),
                )),
            }
        }
    }
}

/// Stores the config and manifests and commits the image and its references.
async fn commit(
    store: &Arc<ImageStore>,
    lease: &Arc<Lease>,
    fetch: &Fetch,
    image: Option<(NewImage, Bytes)>,
    tags: Vec<Reference>,
) -> Result<(), RegistryError> {
    let store = store.clone();
    let lease = lease.clone();
    let manifests = fetch.manifests.clone();
    let id = fetch.manifest.config.digest.clone();
    tokio::task::spawn_blocking(move || -> Result<(), RegistryError> {
        let content = store.storage().content();
        let mut blobs = Vec::new();
        for bytes in &manifests {
            blobs.push(content.put_bytes(&lease, bytes)?.digest);
        }
        let image = match image {
            Some((mut image, config_bytes)) => {
                content.put_verified(&lease, &id, &config_bytes[..])?;
                image.record.blobs = blobs;
                image.tags = tags;
                image
            }
            None => {
                // Present already: only the references change.
                let existing = store
                    .get(&id)
                    .ok_or_else(|| crate::ImageError::NotFound(id.to_string()))?;
                let record = store.record(&id)?;
                NewImage {
                    record,
                    config: existing.config,
                    tags,
                    touch_tag_time: false,
                }
            }
        };
        store.commit(vec![image])?;
        Ok(())
    })
    .await
    .map_err(|e| RegistryError::protocol(format!("pull task failed: {e}")))?
}

/// One layer's download, verification and unpacking.
struct LayerJob {
    store: Arc<ImageStore>,
    lease: Arc<Lease>,
    descriptor: Descriptor,
    chain_id: Digest,
    parent: Option<Digest>,
    diff_id: Digest,
    progress: Progress,
}

impl LayerJob {
    async fn run(self, repo: &Repository) -> Result<(), RegistryError> {
        let id = short(&self.descriptor.digest);
        // Someone else may have finished this layer while we waited for its lock.
        if self
            .store
            .storage()
            .layers()
            .reuse(&self.lease, &self.chain_id)
            .is_some()
        {
            self.progress.layer(&id, "Already exists");
            return Ok(());
        }
        let mut response = repo.blob(&self.descriptor.digest).await?;
        let total = self.descriptor.size;
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(64);
        let worker = {
            let store = self.store.clone();
            let lease = self.lease.clone();
            let descriptor = self.descriptor.clone();
            let parent = self.parent.clone();
            let diff_id = self.diff_id.clone();
            tokio::task::spawn_blocking(move || {
                unpack(&store, &lease, &descriptor, parent.as_ref(), &diff_id, rx)
            })
        };
        let mut received: u64 = 0;
        let mut throttle = Throttle::new();
        let mut failure = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    received += chunk.len() as u64;
                    if received > total {
                        failure = Some(RegistryError::protocol(format!(
                            "blob {} is larger than its descriptor says ({total} bytes)",
                            self.descriptor.digest
                        )));
                        let _ = tx
                            .send(Err(io::Error::other("blob larger than its descriptor")))
                            .await;
                        break;
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        // The unpacker stopped: its error says why.
                        break;
                    }
                    if throttle.ready() {
                        self.progress.bar(&id, "Downloading", received, total);
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    let message = format!(
                        "downloading blob {}: {} (after {received} of {total} bytes)",
                        self.descriptor.digest,
                        describe(&err)
                    );
                    let _ = tx.send(Err(io::Error::other(message.clone()))).await;
                    failure = Some(RegistryError::Transport(message));
                    break;
                }
            }
        }
        drop(tx);
        let outcome = worker
            .await
            .map_err(|e| RegistryError::protocol(format!("layer task failed: {e}")))?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        if received < total {
            return Err(RegistryError::Transport(format!(
                "downloading blob {}: unexpected EOF after {received} of {total} bytes",
                self.descriptor.digest
            )));
        }
        outcome?;
        self.progress.layer(&id, "Verifying Checksum");
        self.progress.layer(&id, "Download complete");
        self.progress.bar(&id, "Extracting", total, total);
        self.progress.layer(&id, "Pull complete");
        Ok(())
    }
}

/// The blocking half of a layer: reads the downloaded chunks, hashing them (the blob's
/// digest) while they are decompressed and unpacked. The compressed blob itself is not
/// kept (as dockerd does): writing and flushing it would double the disk traffic of a
/// pull; its digest is recorded so a push can find it on the registry again.
fn unpack(
    store: &ImageStore,
    lease: &Lease,
    descriptor: &Descriptor,
    parent: Option<&Digest>,
    diff_id: &Digest,
    rx: mpsc::Receiver<io::Result<Bytes>>,
) -> Result<(), RegistryError> {
    let mut hashed = HashingReader::new(ChannelReader {
        rx,
        current: Bytes::new(),
    });
    let applied = match decompress(&mut hashed) {
        Ok((reader, _)) => store
            .storage()
            .layers()
            .apply_tar_in_chain(lease, parent, Some(diff_id), reader)
            .map(|_| ()),
        Err(err) => Err(err),
    };
    // Read what is left so the digest covers the whole blob (a tar ends before its
    // compressed stream does), then check it before anything else.
    let (actual, _, _) = hashed
        .finish()
        .map_err(|e| RegistryError::Transport(e.to_string()))?;
    if actual != descriptor.digest {
        return Err(RegistryError::protocol(format!(
            "filesystem layer verification failed for digest {}: the registry sent content hashing to {actual}",
            descriptor.digest
        )));
    }
    applied.map_err(|err| match err {
        StoreError::DigestMismatch { actual, .. } => RegistryError::protocol(format!(
            "layer {}: its content does not match the image config: the config says diff ID {diff_id}, the content hashes to {actual}",
            descriptor.digest
        )),
        err if err.is_bad_input() => {
            RegistryError::protocol(format!("layer {}: {err}", descriptor.digest))
        }
        err => err.into(),
    })
}

/// A blocking reader over the chunks the download task sends.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(err)) => return Err(err),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}
