//! Changing image references: tag, remove, prune.

use berth_api::types::image::{ImageDeleteResponseItem, ImagePruneResponse};
use berth_api::{ApiError, Filters};
use berth_image::{repo_tag_reference, RemoveOptions};

use super::blocking;
use crate::Engine;

impl Engine {
    /// `POST /images/{name}/tag?repo=&tag=`.
    pub async fn image_tag(&self, source: &str, repo: &str, tag: &str) -> Result<(), ApiError> {
        let target = repo_tag_reference(repo, tag)?
            .ok_or_else(|| ApiError::invalid("repository name must have at least one component"))?;
        let store = self.image_store();
        let source_name = source.to_string();
        let target_ref = target.clone();
        let id = blocking(move || {
            let image = store.resolve(&source_name)?;
            store.tag(&source_name, &target_ref)?;
            Ok(image.id)
        })
        .await?;
        self.image_event("tag", id.as_str(), &target.familiar_string());
        Ok(())
    }

    /// `DELETE /images/{name}`: untags or deletes, as docker decides.
    pub async fn image_remove(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>, ApiError> {
        let store = self.image_store();
        let in_use = self.image_user();
        let name = name.to_string();
        let (id, items) = blocking(move || {
            let id = store.resolve(&name)?.id;
            let items = store.remove(&name, RemoveOptions { force, noprune }, &in_use)?;
            Ok((id, items))
        })
        .await?;
        let owner = |_: &str| Some(id.as_str().to_string());
        self.publish_removals(&items, &[id.as_str().to_string()], owner);
        Ok(items)
    }

    /// `POST /images/prune`.
    pub async fn image_prune(&self, filters: Filters) -> Result<ImagePruneResponse, ApiError> {
        let store = self.image_store();
        let in_use = self.image_user();
        // Who owned which reference before the prune, so the events name the images.
        let (report, before) = blocking(move || {
            let before: Vec<(String, Vec<String>)> = store
                .summaries(&berth_image::ListOptions {
                    all: true,
                    ..Default::default()
                })?
                .into_iter()
                .map(|s| {
                    let mut names = s.repo_tags.clone();
                    names.extend(s.repo_digests.clone());
                    (s.id.clone(), names)
                })
                .collect();
            Ok((store.prune(&filters, &in_use)?, before))
        })
        .await?;
        if let Some(items) = &report.images_deleted {
            let image_ids: Vec<String> = before.iter().map(|(id, _)| id.clone()).collect();
            let owner = |reference: &str| {
                before
                    .iter()
                    .find(|(_, names)| {
                        names
                            .iter()
                            .any(|n| n == reference || familiar(n) == reference)
                    })
                    .map(|(id, _)| id.clone())
            };
            self.publish_removals(items, &image_ids, owner);
        }
        let attributes = [("reclaimed".to_string(), report.space_reclaimed.to_string())]
            .into_iter()
            .collect();
        self.events.publish("image", "prune", "", attributes);
        Ok(report)
    }

    /// `untag` events name the image that lost the reference; `delete` events are
    /// published for images only, not for the layers removed with them.
    fn publish_removals(
        &self,
        items: &[ImageDeleteResponseItem],
        image_ids: &[String],
        owner: impl Fn(&str) -> Option<String>,
    ) {
        for item in items {
            if let Some(reference) = &item.untagged {
                let id = owner(reference).unwrap_or_default();
                self.image_event("untag", &id, reference);
            }
            if let Some(deleted) = &item.deleted {
                if image_ids.iter().any(|id| id == deleted) {
                    self.image_event("delete", deleted, deleted);
                }
            }
        }
    }
}

/// `docker.io/library/busybox:latest` → `busybox:latest`, as untag items name them.
fn familiar(name: &str) -> String {
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    name.strip_prefix("library/").unwrap_or(name).to_string()
}
