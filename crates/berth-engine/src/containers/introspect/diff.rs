//! `GET /containers/{id}/changes`: what the container changed, from its overlay upper
//! directory compared with the image's layers.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_api::ApiError;
use serde_json::{json, Value};

use crate::Engine;

/// docker's change kinds.
const MODIFIED: u8 = 0;
const ADDED: u8 = 1;
const DELETED: u8 = 2;

impl Engine {
    pub async fn container_changes(&self, reference: &str) -> Result<Value, ApiError> {
        let container = self.containers.get(reference)?;
        let record = container.snapshot();
        let mut lowers = vec![crate::containers::rootfs::init_layer_path(&container.dir)];
        if let Ok(id) = berth_image::Digest::parse(&record.image_id) {
            lowers.extend(self.image_store().layer_dirs(&id).unwrap_or_default());
        }
        let upper = container.dir.join("upper");
        let changes = tokio::task::spawn_blocking(move || {
            let mut changes = Vec::new();
            walk(&upper, Path::new("/"), &lowers, &mut changes);
            changes.sort_by(|a: &(String, u8), b| a.0.cmp(&b.0));
            changes
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?;
        if changes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(Value::Array(
            changes
                .into_iter()
                .map(|(path, kind)| json!({"Path": path, "Kind": kind}))
                .collect(),
        ))
    }
}

fn walk(dir: &Path, relative: &Path, lowers: &[PathBuf], out: &mut Vec<(String, u8)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let path = relative.join(entry.file_name());
        let in_lower = lowers.iter().any(|l| {
            l.join(path.strip_prefix("/").unwrap_or(&path))
                .symlink_metadata()
                .is_ok_and(|m| !(m.file_type().is_char_device() && m.rdev() == 0))
        });
        let whiteout = meta.file_type().is_char_device() && meta.rdev() == 0;
        let kind = if whiteout {
            DELETED
        } else if in_lower {
            MODIFIED
        } else {
            ADDED
        };
        out.push((path.display().to_string(), kind));
        if meta.is_dir() && !whiteout {
            walk(&entry.path(), &path, lowers, out);
        }
    }
}
