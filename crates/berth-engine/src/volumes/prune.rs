//! `POST /volumes/prune`: removes unused local volumes; anonymous ones only unless the
//! `all` filter says otherwise (API 1.42 and later; older clients get `all=true`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use berth_api::{ApiError, Filters};
use serde_json::{json, Value};

use super::{event_attributes, list::bool_filter, local, ANONYMOUS_LABEL};
use crate::Engine;

const PRUNE_FILTERS: &[&str] = &["label", "label!", "all"];

impl Engine {
    /// Runs on the blocking pool: sizes and removals walk the volumes' data.
    pub async fn volume_prune(self: &Arc<Self>, filters: Filters) -> Result<Value, ApiError> {
        filters.validate(PRUNE_FILTERS)?;
        if filters.get("all").len() > 1 {
            return Err(ApiError::invalid(format!(
                "invalid filter 'all={:?}': only one value is expected",
                filters.get("all")
            )));
        }
        let all = bool_filter(&filters, "all")?.unwrap_or(false);
        if self.volumes.pruning.swap(true, Ordering::SeqCst) {
            return Err(ApiError::conflict("a prune operation is already running"));
        }
        let engine = self.clone();
        let result = crate::images::blocking(move || engine.prune_unlocked(&filters, all)).await;
        self.volumes.pruning.store(false, Ordering::SeqCst);
        result
    }

    fn prune_unlocked(&self, filters: &Filters, all: bool) -> Result<Value, ApiError> {
        let candidates: Vec<_> = self
            .volumes
            .all()
            .into_iter()
            .filter(|v| !v.in_use())
            // Volumes with mount options hold nothing on this disk (moby skips them).
            .filter(|v| !local::needs_mount(&v.meta))
            .filter(|v| all || v.meta.labels.contains_key(ANONYMOUS_LABEL))
            .filter(|v| filters.matches_labels("label", &v.meta.labels))
            .filter(|v| {
                !filters
                    .get("label!")
                    .iter()
                    .any(|l| match l.split_once('=') {
                        Some((k, val)) => v.meta.labels.get(k).is_some_and(|x| x == val),
                        None => v.meta.labels.contains_key(l.as_str()),
                    })
            })
            .collect();
        let mut deleted = Vec::new();
        let mut reclaimed: u64 = 0;
        for volume in candidates {
            let size = super::data_size(&volume.data_path());
            match self.volumes.remove(&volume.name) {
                Ok(removed) => {
                    self.volume_destroyed(&removed);
                    reclaimed += size;
                    deleted.push(removed.name.clone());
                }
                Err(e) => tracing::warn!("pruning volume {}: {}", volume.name, e.message),
            }
        }
        self.events.publish(
            "volume",
            "prune",
            "",
            event_attributes("", &[("reclaimed", reclaimed.to_string())]),
        );
        Ok(json!({ "VolumesDeleted": deleted, "SpaceReclaimed": reclaimed }))
    }
}
