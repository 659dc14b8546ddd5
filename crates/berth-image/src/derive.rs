//! New images on top of existing ones: `docker commit`, and each step of a build. The
//! child keeps its parent's layers and history, adds at most one layer, and carries the
//! container config it is given.

use std::io::Read;
use std::sync::Arc;

use chrono::Utc;

use berth_store::Digest;

use crate::config::{format_utc, host_platform, ContainerConfig, History, ImageConfig, RootFs};
use crate::error::ImageError;
use crate::reference::Reference;
use crate::store::{ImageRecord, ImageStore, NewImage};

/// What the new image gets besides its layer.
#[derive(Debug, Clone, Default)]
pub struct ChildImage {
    /// The image's container config (the caller merges parent defaults and changes).
    pub config: ContainerConfig,
    /// `docker commit -a`.
    pub author: Option<String>,
    /// `docker commit -m`: image comment and history comment.
    pub comment: Option<String>,
    /// The history line (`/bin/sh -c #(nop)  CMD ["sh"]` for builds).
    pub created_by: Option<String>,
    /// The container the image came from (`docker commit`).
    pub container: Option<String>,
    pub reference: Option<Reference>,
}

impl ImageStore {
    /// Creates an image from `parent` (or from scratch) plus an optional layer tar
    /// (already decompressed; overlay whiteouts in `.wh.` form). A layer whose tar is
    /// empty of files still counts, as docker's commit does; `layer = None` marks the
    /// history entry `empty_layer`.
    pub fn create_child(
        &self,
        parent: Option<&Digest>,
        layer: Option<&mut dyn Read>,
        child: ChildImage,
    ) -> Result<Digest, ImageError> {
        let parent_image = parent
            .map(|id| {
                self.get(id)
                    .ok_or_else(|| ImageError::NotFound(format!("No such image: {}", id.as_str())))
            })
            .transpose()?;
        let lease = self.storage().lease();
        let result = (|| {
            let mut diff_ids: Vec<Digest> = parent_image
                .as_ref()
                .map(|p| p.config.rootfs.diff_ids.clone())
                .unwrap_or_default();
            let mut size = parent_image.as_ref().map(|p| p.size).unwrap_or(0);
            let top_chain = parent_image
                .as_ref()
                .and_then(|p| p.chain_ids.last().cloned());
            let empty_layer = layer.is_none();
            if let Some(reader) = layer {
                let record = self
                    .storage()
                    .layers()
                    .apply_tar(&lease, top_chain.as_ref(), None, reader)
                    .map_err(|e| {
                        if e.is_bad_input() {
                            ImageError::InvalidArchive(e.to_string())
                        } else {
                            e.into()
                        }
                    })?;
                diff_ids.push(record.diff_id.clone());
                size += record.size;
            }
            let now = format_utc(&Utc::now());
            let mut history = parent_image
                .as_ref()
                .map(|p| p.config.history.clone())
                .unwrap_or_default();
            history.push(History {
                created: Some(now.clone()),
                created_by: child.created_by.clone(),
                author: child.author.clone(),
                comment: child.comment.clone(),
                empty_layer,
                ..Default::default()
            });
            let (os, arch, _) = host_platform();
            let config = ImageConfig {
                architecture: parent_image
                    .as_ref()
                    .and_then(|p| p.config.architecture.clone())
                    .or(Some(arch.to_string())),
                author: child.author.clone(),
                comment: child.comment.clone(),
                config: Some(child.config.clone()),
                container: child.container.clone(),
                created: Some(now),
                history,
                os: parent_image
                    .as_ref()
                    .and_then(|p| p.config.os.clone())
                    .or(Some(os.to_string())),
                rootfs: RootFs {
                    kind: "layers".into(),
                    diff_ids,
                },
                variant: parent_image.as_ref().and_then(|p| p.config.variant.clone()),
                ..Default::default()
            };
            let bytes = serde_json::to_vec(&config).expect("config serializes");
            let blob = self.storage().content().put_bytes(&lease, &bytes)?;
            self.commit(vec![NewImage {
                record: ImageRecord {
                    id: blob.digest.clone(),
                    parent: parent.cloned(),
                    size,
                    added: Utc::now(),
                    blobs: Vec::new(),
                    layer_blobs: Default::default(),
                },
                config: Arc::new(config),
                tags: child
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
                tracing::warn!(error = %err, "cleanup after a failed commit");
            }
        }
        result
    }
}
