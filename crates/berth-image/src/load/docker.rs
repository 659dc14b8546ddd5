//! `docker save` archives: `manifest.json` lists each image's config file, tags and layer
//! files. Both layouts are read: the legacy one (`<id>.json`, `<v1-id>/layer.tar`) and the
//! one Docker 25+ writes (`blobs/sha256/<hex>`), whose names are digests and are checked.

use serde::Deserialize;

use berth_store::digest::is_sha256_hex;
use berth_store::Digest;

use super::spool::Spool;
use super::{LayerSource, Plan};
use crate::error::ImageError;
use crate::reference::Reference;

#[derive(Debug, Deserialize)]
struct ManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
    #[serde(rename = "Parent", default)]
    parent: Option<String>,
}

pub(crate) fn plan(spool: &Spool) -> Result<Vec<Plan>, ImageError> {
    let bytes = spool
        .read_file("manifest.json")?
        .expect("caller checked manifest.json exists");
    let items: Vec<ManifestItem> = serde_json::from_slice(&bytes).map_err(|e| {
        ImageError::archive(format!(
            "manifest.json is not a valid docker save manifest: {e}"
        ))
    })?;
    if items.is_empty() {
        return Err(ImageError::archive("manifest.json lists no images"));
    }
    let mut plans = Vec::with_capacity(items.len());
    for item in items {
        let config = spool.get(&item.config).cloned().ok_or_else(|| {
            ImageError::archive(format!(
                "manifest.json names config {:?}, which is not in the archive",
                item.config
            ))
        })?;
        if let Some(named) = digest_in_name(&item.config) {
            if named != config.digest {
                return Err(ImageError::archive(format!(
                    "config {:?} does not match the digest in its name: its content is {}",
                    item.config, config.digest
                )));
            }
        }
        let mut layers = Vec::with_capacity(item.layers.len());
        for layer in &item.layers {
            let file = spool.get(layer).cloned().ok_or_else(|| {
                ImageError::archive(format!(
                    "manifest.json names layer {layer:?}, which is not in the archive"
                ))
            })?;
            if let Some(named) = digest_in_name(layer) {
                if named != file.digest {
                    return Err(ImageError::archive(format!(
                        "layer {layer:?} does not match the digest in its name: its content is {}",
                        file.digest
                    )));
                }
            }
            layers.push(LayerSource {
                name: layer.clone(),
                file,
            });
        }
        let mut tags = Vec::new();
        for tag in item.repo_tags.unwrap_or_default() {
            let reference = Reference::parse_normalized(&tag).map_err(|e| {
                ImageError::archive(format!("manifest.json has an invalid tag {tag:?}: {e}"))
            })?;
            if reference.tag().is_none() || reference.digest().is_some() {
                return Err(ImageError::archive(format!(
                    "manifest.json has an invalid tag {tag:?}: expected name:tag"
                )));
            }
            tags.push(reference);
        }
        let parent = item.parent.as_deref().and_then(|p| Digest::parse(p).ok());
        plans.push(Plan {
            name: item.config.clone(),
            config,
            layers,
            tags,
            parent,
        });
    }
    Ok(plans)
}

/// The digest a file name claims: `blobs/sha256/<hex>` or a legacy `<hex>.json` config.
fn digest_in_name(name: &str) -> Option<Digest> {
    let name = name.trim_start_matches("./");
    let hex = name
        .strip_prefix("blobs/sha256/")
        .or_else(|| name.strip_suffix(".json").filter(|h| !h.contains('/')))?;
    if is_sha256_hex(hex) {
        Digest::from_hex(hex).ok()
    } else {
        None
    }
}
