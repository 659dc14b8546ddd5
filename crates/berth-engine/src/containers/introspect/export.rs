//! `GET /containers/{id}/export`: the container's filesystem as a tar stream.

use std::io::Write;
use std::sync::Arc;

use berth_api::ApiError;
use berth_store::tar::{write_dir_tar, TarOptions};

use crate::containers::rootfs;
use crate::Engine;

impl Engine {
    /// Writes the merged root filesystem to `out`. A stopped container's overlay is
    /// mounted for the duration and unmounted after.
    pub async fn container_export(
        self: &Arc<Self>,
        reference: &str,
        out: Box<dyn Write + Send>,
    ) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        let mount_here = !record.state.status.is_live();
        let lowers = match berth_image::Digest::parse(&record.image_id) {
            Ok(id) => self.image_store().layer_dirs(&id)?,
            Err(e) => return Err(ApiError::system(e.to_string())),
        };
        let dir = container.dir.clone();
        let id = record.id.clone();
        let result = tokio::task::spawn_blocking(move || {
            let root = if mount_here {
                rootfs::mount_overlay(&dir, &lowers)?
            } else {
                rootfs::rootfs_path(&dir)
            };
            let written = write_dir_tar(&root, out, &TarOptions::default())
                .map(|_| ())
                .map_err(|e| ApiError::system(format!("exporting {id}: {e}")));
            if mount_here {
                rootfs::unmount(&dir)?;
            }
            written
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?;
        if result.is_ok() {
            self.container_event(&record, "export", &[]);
        }
        result
    }
}
