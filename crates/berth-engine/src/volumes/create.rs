//! `POST /volumes/create`, and the volumes containers create on first use.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api::ApiError;
use serde::Deserialize;
use serde_json::Value;

use super::{
    event_attributes, local, new_volume, validate_name, Volume, VolumeMeta, Volumes,
    ANONYMOUS_LABEL, LOCAL_DRIVER,
};
use crate::Engine;

/// The `POST /volumes/create` body (`VolumeCreateRequest`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateRequest {
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    #[serde(rename = "Driver", default)]
    pub driver: Option<String>,
    #[serde(rename = "DriverOpts", default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
}

impl Engine {
    /// `POST /volumes/create`: a new volume, or the existing one of that name.
    pub async fn volume_create(
        self: &Arc<Self>,
        request: CreateRequest,
    ) -> Result<Value, ApiError> {
        let engine = self.clone();
        crate::images::blocking(move || engine.volume_create_blocking(request)).await
    }

    fn volume_create_blocking(&self, request: CreateRequest) -> Result<Value, ApiError> {
        let name = request.name.unwrap_or_default();
        let (volume, _) = self.volume_get_or_create(
            &name,
            request.driver.as_deref().unwrap_or(""),
            request.driver_opts.unwrap_or_default(),
            request.labels.unwrap_or_default(),
            None,
        )?;
        Ok(volume.to_json())
    }

    /// The volume `name` (a fresh anonymous one when empty), created when missing, with
    /// `reference` (a container ID) recorded on it before anyone can remove it. Publishes
    /// `create` for a new volume. The bool says whether it was created.
    pub(crate) fn volume_get_or_create(
        &self,
        name: &str,
        driver: &str,
        options: BTreeMap<String, String>,
        mut labels: BTreeMap<String, String>,
        reference: Option<&str>,
    ) -> Result<(Arc<Volume>, bool), ApiError> {
        let name = if name.is_empty() {
            labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
            hex::encode(rand::random::<[u8; 32]>())
        } else {
            name.to_string()
        };
        validate_name(&name)?;
        if !driver.is_empty() && driver != LOCAL_DRIVER {
            return Err(ApiError::not_found(format!(
                "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        local::validate_options(&options)
            .map_err(|e| ApiError::invalid(format!("create {name}: {e}")))?;
        let meta = VolumeMeta {
            driver: LOCAL_DRIVER.into(),
            labels,
            options,
            created_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let (volume, created) = self.volumes.get_or_create(&name, meta, reference)?;
        if created {
            self.events.publish(
                "volume",
                "create",
                &volume.name,
                event_attributes(&volume.meta.driver, &[]),
            );
        }
        Ok((volume, created))
    }
}

impl Volumes {
    fn get_or_create(
        &self,
        name: &str,
        meta: VolumeMeta,
        reference: Option<&str>,
    ) -> Result<(Arc<Volume>, bool), ApiError> {
        let mut map = self.map();
        if let Some(volume) = map.get(name) {
            if let Some(id) = reference {
                volume.state().refs.insert(id.to_string());
            }
            return Ok((volume.clone(), false));
        }
        let dir = local::create_on_disk(&self.root, name, &meta).map_err(|e| {
            ApiError::system(format!(
                "create {name}: error while creating volume root path '{}': {e}",
                self.root.join(name).display()
            ))
        })?;
        let volume = Arc::new(new_volume(name.to_string(), dir, meta));
        if let Some(id) = reference {
            volume.state().refs.insert(id.to_string());
        }
        map.insert(name.to_string(), volume.clone());
        Ok((volume, true))
    }

    /// Records that container `id` uses the existing volume `name` (`--volumes-from`).
    pub(crate) fn add_reference(&self, name: &str, id: &str) -> Result<Arc<Volume>, ApiError> {
        let map = self.map();
        let volume = map.get(name).ok_or_else(|| super::no_such_volume(name))?;
        volume.state().refs.insert(id.to_string());
        Ok(volume.clone())
    }

    /// Drops container `id`'s reference on `name`.
    pub(crate) fn release_reference(&self, name: &str, id: &str) {
        if let Some(volume) = self.map().get(name) {
            volume.state().refs.remove(id);
        }
    }
}
