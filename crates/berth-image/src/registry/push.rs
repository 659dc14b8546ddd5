//! `docker push`: for each tag, every layer is made available as a compressed blob
//! (the one pulled, or a gzip made once from the stored layer and kept), checked with
//! `HEAD`, mounted from another repository of the same registry when one is known to
//! hold it, or uploaded; then the config, then the manifest last, so the registry
//! never lists a tag whose blobs are missing.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use berth_store::{Digest, Lease};

use super::client::{error_text, Repository};
use super::error::RegistryError;
use super::manifest::{DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_MANIFEST};
use super::progress::{Progress, Throttle};
use super::{AuthConfig, Registries};
use crate::reference::Reference;
use crate::store::{ImageStore, LayerBlob};
use crate::Image;

/// One pushed tag.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub tag: String,
    pub digest: Digest,
    pub size: usize,
}

fn short(digest: &Digest) -> String {
    digest.hex()[..12].to_string()
}

/// Pushes `images` (tag, image) to `repository` (a name without tag). Progress lines as
/// docker's; the caller prints the `The push refers to repository` header.
pub async fn push(
    store: Arc<ImageStore>,
    registries: Arc<Registries>,
    repository: &Reference,
    images: Vec<(String, Image)>,
    auth: AuthConfig,
    progress: Progress,
) -> Result<Vec<Pushed>, RegistryError> {
    let endpoint = registries
        .endpoints(repository.domain())
        .into_iter()
        .find(|e| !e.mirror)
        .ok_or_else(|| RegistryError::protocol("no registry endpoint to push to"))?;
    let repo = Arc::new(
        registries
            .connect(&endpoint, repository.path(), &auth, true)
            .await?,
    );
    let mut out = Vec::new();
    for (tag, image) in images {
        let lease = Arc::new(store.storage().lease());
        out.push(push_one(&store, &repo, repository, &tag, &image, &progress, &lease).await?);
    }
    Ok(out)
}

async fn push_one(
    store: &Arc<ImageStore>,
    repo: &Arc<Repository>,
    repository: &Reference,
    tag: &str,
    image: &Image,
    progress: &Progress,
    lease: &Arc<Lease>,
) -> Result<Pushed, RegistryError> {
    let diff_ids = image.config.rootfs.diff_ids.clone();
    let here = format!("{}/{}", repo.endpoint.host, repo.name);
    // docker lists the top layer first.
    for diff_id in diff_ids.iter().rev() {
        progress.layer(&short(diff_id), "Preparing");
    }
    let jobs = (0..diff_ids.len()).rev().map(|i| {
        let store = store.clone();
        let repo = repo.clone();
        let lease = lease.clone();
        let progress = progress.clone();
        let diff_id = diff_ids[i].clone();
        let chain_id = image.chain_ids[i].clone();
        let here = here.clone();
        async move {
            let id = short(&diff_id);
            let known = store.layer_blob(&diff_id);
            // The recorded blob may already be in this repository, or mountable.
            if let Some(blob) = &known {
                if on_registry(&repo, blob, &id, &here, &progress).await? {
                    return Ok((diff_id, with_source(blob.clone(), &here)));
                }
            }
            // Else upload it from the content store, or a gzip made now.
            let local = match known.filter(|b| store.storage().content().reuse(&lease, &b.digest)) {
                Some(local) => local,
                None => {
                    let made = compress(&store, &lease, &chain_id).await?;
                    if on_registry(&repo, &made, &id, &here, &progress).await? {
                        return Ok((diff_id, with_source(made, &here)));
                    }
                    made
                }
            };
            upload_layer(&repo, &local, &id, &store, &progress).await?;
            Ok::<_, RegistryError>((diff_id, with_source(local, &here)))
        }
    });
    let blobs: Vec<(Digest, LayerBlob)> = futures_util::future::try_join_all(jobs).await?;

    // The config.
    let config_bytes = {
        let store = store.clone();
        let id = image.id.clone();
        tokio::task::spawn_blocking(move || store.raw_config(&id))
            .await
            .map_err(|e| RegistryError::protocol(e.to_string()))??
    };
    if !repo.has_blob(&image.id).await? {
        let size = config_bytes.len() as u64;
        upload(
            repo,
            &image.id,
            size,
            reqwest::Body::from(config_bytes.clone()),
            None,
        )
        .await?;
    }

    // The manifest: OCI when a layer is an OCI blob (e.g. zstd), else Docker schema 2.
    let by_diff: std::collections::HashMap<&Digest, &LayerBlob> =
        blobs.iter().map(|(d, b)| (d, b)).collect();
    let oci = blobs
        .iter()
        .any(|(_, b)| b.media_type.starts_with("application/vnd.oci."));
    let layers: Vec<serde_json::Value> = diff_ids
        .iter()
        .map(|d| {
            let blob = by_diff[d];
            let media_type = if oci {
                blob.media_type.replace(
                    DOCKER_LAYER_GZIP,
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                )
            } else if blob.media_type.is_empty()
                || blob.media_type.starts_with("application/vnd.oci.")
            {
                DOCKER_LAYER_GZIP.to_string()
            } else {
                blob.media_type.clone()
            };
            json!({ "mediaType": media_type, "size": blob.size, "digest": blob.digest })
        })
        .collect();
    let (manifest_type, config_type) = if oci {
        (OCI_MANIFEST, "application/vnd.oci.image.config.v1+json")
    } else {
        (DOCKER_MANIFEST, DOCKER_CONFIG)
    };
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": { "mediaType": config_type, "size": config_bytes.len(), "digest": image.id },
        "layers": layers,
    });
    let manifest_bytes = Bytes::from(serde_json::to_vec_pretty(&manifest).expect("json"));
    let size = manifest_bytes.len();
    let digest = repo
        .put_manifest(tag, manifest_type, manifest_bytes.clone())
        .await?;
    progress.line(format!("{tag}: digest: {digest} size: {size}"));
    progress.aux(json!({ "Tag": tag, "Digest": digest, "Size": size }));

    // Remember the blobs and the digest (RepoDigests), keeping the manifest too.
    {
        let store = store.clone();
        let lease = lease.clone();
        let id = image.id.clone();
        let digest_ref = repository
            .with_digest(digest.as_str())
            .map_err(crate::ImageError::from)?;
        tokio::task::spawn_blocking(move || -> Result<(), RegistryError> {
            store
                .storage()
                .content()
                .put_bytes(&lease, &manifest_bytes)?;
            store.record_distribution(&id, blobs, Some(digest_ref))?;
            Ok(())
        })
        .await
        .map_err(|e| RegistryError::protocol(e.to_string()))??;
    }
    Ok(Pushed {
        tag: tag.to_string(),
        digest,
        size,
    })
}

/// Adds `here` to the places a blob is known to be.
fn with_source(mut blob: LayerBlob, here: &str) -> LayerBlob {
    if !blob.sources.iter().any(|s| s == here) {
        blob.sources.push(here.to_string());
    }
    blob
}

/// A gzip of the stored layer's original tar, made on a blocking thread and kept in the
/// content store (recorded with the image after the push) for the next push.
async fn compress(
    store: &Arc<ImageStore>,
    lease: &Arc<Lease>,
    chain_id: &Digest,
) -> Result<LayerBlob, RegistryError> {
    let store = store.clone();
    let lease = lease.clone();
    let chain_id = chain_id.clone();
    tokio::task::spawn_blocking(move || -> Result<LayerBlob, RegistryError> {
        let mut tar = store.storage().layers().tar_stream(&chain_id)?;
        let writer = store.storage().content().writer()?;
        // Fast compression: a push is limited by compression speed, not bandwidth, on
        // the networks registries usually sit on; the blob is still standard gzip.
        let mut gz = flate2::write::GzEncoder::new(writer, flate2::Compression::fast());
        std::io::copy(&mut tar, &mut gz)
            .map_err(|e| RegistryError::protocol(format!("compressing layer {chain_id}: {e}")))?;
        let writer = gz
            .finish()
            .map_err(|e| RegistryError::protocol(format!("compressing layer {chain_id}: {e}")))?;
        let info = writer.commit(&lease, None, None)?;
        Ok(LayerBlob {
            digest: info.digest,
            size: info.size,
            media_type: DOCKER_LAYER_GZIP.to_string(),
            sources: Vec::new(),
        })
    })
    .await
    .map_err(|e| RegistryError::protocol(e.to_string()))?
}

/// Is the blob in this repository already (`Layer already exists`), or can it be
/// mounted from another repository of the same registry (`Mounted from ...`)?
async fn on_registry(
    repo: &Repository,
    blob: &LayerBlob,
    id: &str,
    here: &str,
    progress: &Progress,
) -> Result<bool, RegistryError> {
    if repo.has_blob(&blob.digest).await? {
        progress.layer(id, "Layer already exists");
        return Ok(true);
    }
    let host_prefix = format!("{}/", repo.endpoint.host);
    if let Some(from) = blob
        .sources
        .iter()
        .filter(|s| s.as_str() != here)
        .find_map(|s| s.strip_prefix(&host_prefix))
    {
        repo.add_pull_scope(from).await?;
        if repo
            .start_upload(Some((&blob.digest, from)))
            .await?
            .is_none()
        {
            progress.layer(id, &format!("Mounted from {from}"));
            return Ok(true);
        }
    }
    Ok(false)
}

/// Uploads a blob from the content store with `Pushing` progress, then `Pushed`.
async fn upload_layer(
    repo: &Repository,
    blob: &LayerBlob,
    id: &str,
    store: &ImageStore,
    progress: &Progress,
) -> Result<(), RegistryError> {
    let file = tokio::fs::File::open(store.storage().content().path(&blob.digest))
        .await
        .map_err(|e| RegistryError::protocol(format!("open blob {}: {e}", blob.digest)))?;
    let total = blob.size;
    let progress_id = id.to_string();
    let bar = progress.clone();
    let stream = futures_util::stream::unfold(
        (file, 0u64, Throttle::new()),
        move |(mut file, sent, mut throttle)| {
            let progress = bar.clone();
            let progress_id = progress_id.clone();
            async move {
                use tokio::io::AsyncReadExt;
                let mut buf = vec![0u8; 256 * 1024];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        let sent = sent + n as u64;
                        if throttle.ready() || sent == total {
                            progress.bar(&progress_id, "Pushing", sent, total);
                        }
                        Some((
                            Ok::<_, std::io::Error>(Bytes::from(buf)),
                            (file, sent, throttle),
                        ))
                    }
                    Err(e) => Some((Err(e), (file, sent, throttle))),
                }
            }
        },
    );
    upload(
        repo,
        &blob.digest,
        total,
        reqwest::Body::wrap_stream(stream),
        None,
    )
    .await?;
    progress.layer(id, "Pushed");
    Ok(())
}

/// A monolithic upload: `POST` for a location, then one `PUT ?digest=` with the blob.
async fn upload(
    repo: &Repository,
    digest: &Digest,
    size: u64,
    body: reqwest::Body,
    location: Option<String>,
) -> Result<(), RegistryError> {
    let location = match location {
        Some(l) => l,
        None => repo
            .start_upload(None)
            .await?
            .ok_or_else(|| RegistryError::protocol("the registry sent no upload location"))?,
    };
    let mut url = reqwest::Url::parse(&location)
        .map_err(|e| RegistryError::protocol(format!("bad upload location {location:?}: {e}")))?;
    url.query_pairs_mut().append_pair("digest", digest.as_str());
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    let response = repo
        .send_stream(Method::PUT, url.as_str(), headers, body)
        .await?;
    match response.status() {
        StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
        _ => {
            let text = error_text(response).await;
            Err(RegistryError::protocol(format!(
                "uploading blob {digest}: {text}"
            )))
        }
    }
}
