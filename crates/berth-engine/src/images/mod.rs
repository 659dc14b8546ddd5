//! The image service: `berth-image`'s store behind async methods, with the events docker
//! publishes for each image operation. Store calls block (disk, hashing), so each runs on
//! the blocking pool.

mod archive;
mod manage;
mod registry;
mod view;

use std::sync::Arc;

use berth_api::ApiError;
use berth_image::{ContainerUse, Digest, ImageStore};

pub use archive::ImportRequest;
pub use berth_image::registry::search::SearchResult;
pub use berth_image::registry::AuthConfig;
pub use registry::{PullRequest, PushRequest};
pub use view::LIST_FILTERS;

use crate::Engine;

/// Runs a blocking store call off the async workers.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::system(format!("image task failed: {e}")))?
}

impl Engine {
    pub(crate) fn image_store(&self) -> Arc<ImageStore> {
        self.images.clone()
    }

    /// Which container (if any) uses an image, for `rmi` and prune decisions. A snapshot:
    /// the store calls it on the blocking pool.
    pub(crate) fn image_user(&self) -> impl Fn(&Digest) -> Option<ContainerUse> + Send + 'static {
        let users: Vec<(String, String, bool)> = self
            .containers
            .all()
            .iter()
            .map(|c| {
                let r = c.snapshot();
                (r.image_id.clone(), r.id.clone(), r.state.status.is_live())
            })
            .collect();
        move |id: &Digest| {
            users.iter().find(|(image, _, _)| image == id.as_str()).map(
                |(_, container, running)| ContainerUse {
                    container_id: container.clone(),
                    running: *running,
                },
            )
        }
    }

    /// Publishes an image event with docker's attributes (`name` is the reference the
    /// operation used).
    pub(crate) fn image_event(&self, action: &str, id: &str, name: &str) {
        let attributes = [("name".to_string(), name.to_string())]
            .into_iter()
            .collect();
        self.events.publish("image", action, id, attributes);
    }
}
