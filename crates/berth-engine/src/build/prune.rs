//! `POST /build/prune` and `builder prune`: empties the build cache. Step images stay
//! (they are the parents of built images); only the cache's references go.

use berth_api::ApiError;
use serde_json::{json, Value};

use crate::Engine;

impl Engine {
    pub async fn build_prune(&self) -> Result<Value, ApiError> {
        let cache = self.build_cache.clone();
        let removed = tokio::task::spawn_blocking(move || cache.clear())
            .await
            .map_err(|e| ApiError::system(e.to_string()))?
            .map_err(|e| ApiError::system(format!("clearing the build cache: {e}")))?;
        Ok(json!({
            "CachesDeleted": removed,
            "SpaceReclaimed": 0,
        }))
    }

    /// Entries in the build cache (for `/system/df`).
    pub fn build_cache_entries(&self) -> usize {
        self.build_cache.len()
    }
}
