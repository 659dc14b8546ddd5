//! `docker import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer
//! image, with `--change` instructions applied to its config and `--message` as its
//! comment, optionally tagged.

use std::io::Read;
use std::sync::Arc;

use chrono::Utc;

use berth_store::compression::decompress;
use berth_store::Digest;

use crate::changes::apply_changes;
use crate::config::{format_utc, host_platform, ContainerConfig, History, ImageConfig, RootFs};
use crate::error::ImageError;
use crate::reference::Reference;
use crate::store::{ImageRecord, ImageStore, NewImage};

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `repo[:tag]` to point at the new image (default tag `latest`).
    pub reference: Option<Reference>,
    /// Dockerfile instructions (`CMD ["sh"]`, `ENV A=1`, ...).
    pub changes: Vec<String>,
    /// The image comment and history comment (docker: `Imported from -` by default,
    /// which the HTTP layer supplies).
    pub message: String,
    /// `(os, architecture, variant)`; this machine's when `None`.
    pub platform: Option<(String, String, Option<String>)>,
}

impl ImageStore {
    /// Imports a rootfs tarball and returns the new image's ID.
    pub fn import(&self, input: impl Read, options: ImportOptions) -> Result<Digest, ImageError> {
        let mut container_config = ContainerConfig::default();
        apply_changes(&mut container_config, &options.changes)?;
        if let Some(reference) = &options.reference {
            if reference.digest().is_some() {
                return Err(ImageError::InvalidParameter(
                    "cannot import digest reference".into(),
                ));
            }
        }
        let lease = self.storage().lease();
        let result = (|| {
            let (reader, empty) = decompress(input)?;
            if empty {
                return Err(ImageError::InvalidArchive(
                    "the upload is empty (0 bytes); send a tar archive of a root filesystem".into(),
                ));
            }
            let layer = self
                .storage()
                .layers()
                .apply_tar(&lease, None, None, reader)
                .map_err(|e| {
                    if e.is_bad_input() {
                        ImageError::InvalidArchive(e.to_string())
                    } else {
                        e.into()
                    }
                })?;

            let now = format_utc(&Utc::now());
            let (os, arch, variant) = match &options.platform {
                Some((os, arch, variant)) => (os.clone(), arch.clone(), variant.clone()),
                None => {
                    let (os, arch, _) = host_platform();
                    (os.to_string(), arch.to_string(), None)
                }
            };
            let message = (!options.message.is_empty()).then(|| options.message.clone());
            let config = ImageConfig {
                architecture: Some(arch),
                comment: message.clone(),
                config: Some(container_config),
                created: Some(now.clone()),
                history: vec![History {
                    created: Some(now),
                    comment: message,
                    ..Default::default()
                }],
                os: Some(os),
                rootfs: RootFs {
                    kind: "layers".into(),
                    diff_ids: vec![layer.diff_id.clone()],
                },
                variant,
                ..Default::default()
            };
            let bytes = serde_json::to_vec(&config).expect("config serializes");
            let blob = self.storage().content().put_bytes(&lease, &bytes)?;
            self.commit(vec![NewImage {
                record: ImageRecord {
                    id: blob.digest.clone(),
                    parent: None,
                    size: layer.size,
                    added: Utc::now(),
                    blobs: Vec::new(),
                    layer_blobs: Default::default(),
                },
                config: Arc::new(config),
                tags: options
                    .reference
                    .iter()
                    .map(|r| r.clone().with_default_tag())
                    .collect(),
                touch_tag_time: true,
            }])?;
            Ok(blob.digest)
        })();
        drop(lease);
        if result.is_err() {
            if let Err(err) = self.gc() {
                tracing::warn!(error = %err, "cleanup after a failed import");
            }
        }
        result
    }
}

/// moby's `RepoTagReference(repo, tag)`: the `repo`/`tag` query pair of import, commit
/// and tag requests. `None` when `repo` is empty.
pub fn repo_tag_reference(repo: &str, tag: &str) -> Result<Option<Reference>, ImageError> {
    if repo.is_empty() {
        return Ok(None);
    }
    let reference = Reference::parse_normalized(repo)?;
    if reference.digest().is_some() {
        return Err(ImageError::InvalidParameter(
            "cannot import digest reference".into(),
        ));
    }
    if tag.is_empty() {
        return Ok(Some(reference.with_default_tag()));
    }
    Ok(Some(reference.with_tag(tag)?))
}
