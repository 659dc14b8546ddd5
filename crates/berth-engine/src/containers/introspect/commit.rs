//! `POST /commit?container=`: a new image from the container's changes (its overlay
//! upper directory as one layer) on top of its image.

use std::sync::Arc;

use berth_api::{ApiError, ErrorKind};
use berth_image::{repo_tag_reference, ChildImage};
use berth_shim::Request;
use berth_store::tar::{write_dir_tar, TarOptions};

use crate::containers::Status;
use crate::Engine;

#[derive(Debug, Default, Clone)]
pub struct CommitRequest {
    pub container: String,
    pub repo: String,
    pub tag: String,
    pub comment: String,
    pub author: String,
    pub changes: Vec<String>,
    pub pause: bool,
    /// A container config from the request body overriding the container's own.
    pub config: Option<serde_json::Value>,
}

impl Engine {
    pub async fn container_commit(
        self: &Arc<Self>,
        request: CommitRequest,
    ) -> Result<String, ApiError> {
        let container = self.containers.get(&request.container)?;
        let reference = repo_tag_reference(&request.repo, &request.tag)?;
        let record = container.snapshot();
        let mut config: berth_image::config::ContainerConfig = {
            let mut value = serde_json::to_value(&record.config)
                .map_err(|e| ApiError::system(e.to_string()))?;
            if let (Some(overrides), Some(object)) = (
                request.config.as_ref().and_then(|c| c.as_object()),
                value.as_object_mut(),
            ) {
                for (k, v) in overrides {
                    if !v.is_null() {
                        object.insert(k.clone(), v.clone());
                    }
                }
            }
            serde_json::from_value(value)
                .map_err(|e| ApiError::invalid(format!("invalid config: {e}")))?
        };
        berth_image::changes::apply_changes(&mut config, &request.changes)?;
        let parent = berth_image::Digest::parse(&record.image_id)
            .map_err(|e| ApiError::system(e.to_string()))?;

        let paused_here = request.pause && record.state.status == Status::Running;
        if paused_here {
            self.shim_call(&container, Request::Pause).await?;
        }
        let upper = container.dir.join("upper");
        let store = self.image_store();
        let child = ChildImage {
            config,
            author: (!request.author.is_empty()).then(|| request.author.clone()),
            comment: (!request.comment.is_empty()).then(|| request.comment.clone()),
            // docker records the container's command as the layer's origin.
            created_by: record.config.cmd.as_ref().map(|cmd| cmd.join(" ")),
            container: Some(record.id.clone()),
            reference,
        };
        let result = commit_dir(store, upper, Some(parent), child).await;
        if paused_here {
            let _ = self.shim_call(&container, Request::Resume).await;
        }
        let id = result.map_err(|e| match e.kind {
            ErrorKind::NotFound => ApiError::system(e.message),
            _ => e,
        })?;
        self.container_event(
            &record,
            "commit",
            &[
                ("comment", request.comment.clone()),
                ("imageID", id.as_str().to_string()),
            ],
        );
        self.image_event("commit", id.as_str(), id.as_str());
        Ok(id.as_str().to_string())
    }
}

/// Makes an image from `parent` plus the changes in an overlay upper directory (one
/// layer). The tar streams through a pipe into the layer store: no temporary copy.
pub(crate) async fn commit_dir(
    store: std::sync::Arc<berth_image::ImageStore>,
    upper: std::path::PathBuf,
    parent: Option<berth_image::Digest>,
    child: ChildImage,
) -> Result<berth_image::Digest, ApiError> {
    crate::images::blocking(move || {
        let (mut reader, writer) = std::io::pipe().map_err(|e| ApiError::system(e.to_string()))?;
        let producer = std::thread::spawn(move || {
            write_dir_tar(
                &upper,
                writer,
                &TarOptions {
                    convert_whiteouts: true,
                },
            )
            .map(|_| ())
        });
        let created = store.create_child(parent.as_ref(), Some(&mut reader), child);
        drop(reader);
        let produced = producer
            .join()
            .map_err(|_| ApiError::system("the layer writer panicked"))?;
        let id = created?;
        produced.map_err(|e| ApiError::system(format!("reading the container's changes: {e}")))?;
        Ok(id)
    })
    .await
}
