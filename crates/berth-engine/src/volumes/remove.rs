//! `DELETE /volumes/{name}`.

use std::sync::Arc;

use berth_api::{ApiError, ErrorKind};

use super::{event_attributes, local, no_such_volume, Volume, Volumes};
use crate::Engine;

impl Engine {
    /// Removes a volume and its data (on the blocking pool). `force` only forgives a
    /// missing volume (moby's purge-on-error); a volume in use is refused either way.
    pub async fn volume_remove(self: &Arc<Self>, name: &str, force: bool) -> Result<(), ApiError> {
        let engine = self.clone();
        let name = name.to_string();
        crate::images::blocking(move || engine.volume_remove_blocking(&name, force)).await
    }

    fn volume_remove_blocking(&self, name: &str, force: bool) -> Result<(), ApiError> {
        match self.volumes.remove(name) {
            Ok(volume) => {
                self.volume_destroyed(&volume);
                Ok(())
            }
            Err(e) if force && e.kind == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn volume_destroyed(&self, volume: &Volume) {
        self.events.publish(
            "volume",
            "destroy",
            &volume.name,
            event_attributes(&volume.meta.driver, &[]),
        );
    }
}

impl Volumes {
    /// Takes a volume out of the store if no container references it: renamed away under
    /// the lock (so the name is free at once and a crash leaves only a `.gone-*` folder
    /// that the next start removes), then deleted.
    pub(crate) fn remove(&self, name: &str) -> Result<Arc<Volume>, ApiError> {
        let mut map = self.map();
        let volume = map.get(name).cloned().ok_or_else(|| no_such_volume(name))?;
        {
            let mut state = volume.state();
            if !state.refs.is_empty() {
                let users: Vec<&str> = state.refs.iter().map(String::as_str).collect();
                return Err(ApiError::conflict(format!(
                    "remove {name}: volume is in use - [{}]",
                    users.join(", ")
                )));
            }
            if state.device_mounted {
                local::unmount_device(&volume.data_path())
                    .map_err(|e| ApiError::system(format!("remove {name}: {}", e.message)))?;
                state.device_mounted = false;
            }
        }
        let gone = self.root.join(format!(
            ".gone-{name}-{}",
            hex::encode(rand::random::<[u8; 6]>())
        ));
        std::fs::rename(&volume.dir, &gone).map_err(|e| {
            ApiError::system(format!(
                "remove {name}: error removing volume path '{}': {e}",
                volume.dir.display()
            ))
        })?;
        map.remove(name);
        drop(map);
        local::remove_tree(&gone);
        Ok(volume)
    }
}
