//! The image service: `berth-image`'s store behind async methods, with the events docker
//! publishes for each image operation. Store calls block (disk, hashing), so each runs on
//! the blocking pool.

mod archive;
mod manage;
mod view;

use std::sync::Arc;

use berth_api::ApiError;
use berth_image::{ContainerUse, Digest, ImageStore};

pub use archive::ImportRequest;
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

    /// Which container (if any) uses an image; containers arrive with the container
    /// service, until then nothing is in use.
    pub(crate) fn image_user(&self) -> impl Fn(&Digest) -> Option<ContainerUse> + Send + 'static {
        |_id: &Digest| None
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
