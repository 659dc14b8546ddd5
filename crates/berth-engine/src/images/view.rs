//! Read-only image queries: list, inspect, history, disk usage.

use berth_api::types::image::{HistoryResponseItem, ImageInspect, ImageSummary};
use berth_api::{ApiError, Filters};
use berth_image::ListOptions;

use super::blocking;
use crate::Engine;

/// Filter keys `GET /images/json` accepts.
pub const LIST_FILTERS: &[&str] = &[
    "before",
    "dangling",
    "label",
    "label!",
    "reference",
    "since",
    "until",
];

impl Engine {
    /// `GET /images/json`, newest first.
    pub async fn image_list(
        &self,
        all: bool,
        filters: Filters,
    ) -> Result<Vec<ImageSummary>, ApiError> {
        filters.validate(LIST_FILTERS)?;
        let store = self.image_store();
        blocking(move || Ok(store.summaries(&ListOptions { all, filters })?)).await
    }

    /// `GET /images/{name}/json`.
    pub async fn image_inspect(&self, name: &str) -> Result<ImageInspect, ApiError> {
        let store = self.image_store();
        let name = name.to_string();
        blocking(move || Ok(store.inspect(&name)?)).await
    }

    /// `GET /images/{name}/history`.
    pub async fn image_history(&self, name: &str) -> Result<Vec<HistoryResponseItem>, ApiError> {
        let store = self.image_store();
        let name = name.to_string();
        blocking(move || Ok(store.history(&name)?)).await
    }

    /// Number of images `/info` reports.
    pub fn image_count(&self) -> u64 {
        self.images.list().len() as u64
    }

    /// Images and the bytes their layers take, for `/system/df`.
    pub async fn image_usage(&self) -> Result<(Vec<ImageSummary>, i64), ApiError> {
        let store = self.image_store();
        blocking(move || {
            let summaries = store.summaries(&ListOptions::default())?;
            let layers: i64 = store
                .storage()
                .layers()
                .list()
                .map_err(|e| ApiError::system(e.to_string()))?
                .iter()
                .map(|l| l.size as i64)
                .sum();
            Ok((summaries, layers))
        })
        .await
    }
}
