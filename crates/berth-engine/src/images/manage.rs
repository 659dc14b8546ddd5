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
        self.publish_removals(id.as_str(), &items);
        Ok(items)
    }

    /// `POST /images/prune`.
    pub async fn image_prune(&self, filters: Filters) -> Result<ImagePruneResponse, ApiError> {
        let store = self.image_store();
        let in_use = self.image_user();
        let report = blocking(move || Ok(store.prune(&filters, &in_use)?)).await?;
        if let Some(items) = &report.images_deleted {
            self.publish_removals("", items);
        }
        let attributes = [("reclaimed".to_string(), report.space_reclaimed.to_string())]
            .into_iter()
            .collect();
        self.events.publish("image", "prune", "", attributes);
        Ok(report)
    }

    fn publish_removals(&self, id: &str, items: &[ImageDeleteResponseItem]) {
        for item in items {
            if let Some(reference) = &item.untagged {
                self.image_event("untag", id, reference);
            }
            if let Some(deleted) = &item.deleted {
                self.image_event("delete", deleted, deleted);
            }
        }
    }
}
