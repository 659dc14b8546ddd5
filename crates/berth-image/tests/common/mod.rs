//! Test helpers: building image archives (docker save and OCI layouts) in memory, and
//! checking that a data root holds nothing beyond what it should.

#![allow(dead_code)]

/// The tar builders of berth-store's tests, shared rather than copied.
#[path = "../../../berth-store/tests/common/mod.rs"]
pub mod tars;

use std::path::Path;

use berth_image::{Digest, ImageStore};
use serde_json::{json, Value};

pub use self::tars::{gzip, tree, TarBuilder};

pub fn sha(data: &[u8]) -> String {
    Digest::of_bytes(data).to_string()
}

pub fn hex(data: &[u8]) -> String {
    Digest::of_bytes(data).hex().to_string()
}

/// A config for these layers; `extra` fields are merged in (e.g. a label to vary the ID).
pub fn config(layers: &[Vec<u8>], extra: Value) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let mut config = json!({
        "architecture": "amd64",
        "config": {"Cmd": ["sh"]},
        "created": "2024-01-01T00:00:00Z",
        "history": layers.iter().map(|_| json!({"created": "2024-01-01T00:00:00Z", "created_by": "test"})).collect::<Vec<_>>(),
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    if let (Some(base), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&config).unwrap()
}

/// One image of a docker-save archive.
pub struct SavedImage {
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
    pub tags: Vec<String>,
}

impl SavedImage {
    pub fn new(layers: Vec<Vec<u8>>, tags: &[&str]) -> SavedImage {
        SavedImage {
            config: config(&layers, json!({})),
            layers,
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }
    }
    pub fn id(&self) -> String {
        sha(&self.config)
    }
}

/// A `docker save` archive (Docker 25+ layout: blobs/sha256 + manifest.json).
pub fn docker_archive(images: &[SavedImage]) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = Vec::new();
    for image in images {
        files.push((
            format!("blobs/sha256/{}", hex(&image.config)),
            image.config.clone(),
        ));
        let mut layer_paths = Vec::new();
        for layer in &image.layers {
            let path = format!("blobs/sha256/{}", hex(layer));
            layer_paths.push(path.clone());
            files.push((path, layer.clone()));
        }
        manifest.push(json!({
            "Config": format!("blobs/sha256/{}", hex(&image.config)),
            "RepoTags": image.tags,
            "Layers": layer_paths,
        }));
    }
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    archive(files)
}

/// A tar of plain files (dedup by name, first wins).
pub fn archive(files: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    let mut builder = TarBuilder::new();
    let mut seen = std::collections::HashSet::new();
    for (name, data) in files {
        if seen.insert(name.clone()) {
            builder = builder.file(&name, &data);
        }
    }
    builder.finish()
}

/// An OCI layout whose layers are gzip-compressed, named by annotation.
pub fn oci_archive(layers: &[Vec<u8>], name: &str, layer_media_type: &str) -> (Vec<u8>, String) {
    let cfg = config(layers, json!({}));
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        (format!("blobs/sha256/{}", hex(&cfg)), cfg.clone()),
    ];
    let mut descriptors = Vec::new();
    for layer in layers {
        let compressed = gzip(layer);
        descriptors.push(json!({"mediaType": layer_media_type, "digest": sha(&compressed), "size": compressed.len()}));
        files.push((format!("blobs/sha256/{}", hex(&compressed)), compressed));
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&cfg), "size": cfg.len()},
        "layers": descriptors,
    }))
    .unwrap();
    files.push((format!("blobs/sha256/{}", hex(&manifest)), manifest.clone()));
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha(&manifest),
            "size": manifest.len(),
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "latest"},
        }],
    });
    files.push(("index.json".into(), serde_json::to_vec(&index).unwrap()));
    (archive(files), sha(&cfg))
}

/// A small layer with a file whose content varies with `seed`.
pub fn layer(seed: &str) -> Vec<u8> {
    TarBuilder::new()
        .dir("etc/", 0o755)
        .file(&format!("etc/{seed}"), seed.as_bytes())
        .finish()
}

/// Asserts the store holds no images, layers, blobs or temporaries.
pub fn assert_empty(store: &ImageStore) {
    assert!(
        store.list().is_empty(),
        "images left: {:?}",
        store
            .list()
            .iter()
            .map(|i| i.id.to_string())
            .collect::<Vec<_>>()
    );
    let storage = store.storage();
    assert!(storage.layers().list().unwrap().is_empty(), "layers left");
    assert!(storage.content().list().unwrap().is_empty(), "blobs left");
    let tmp = tree(&storage.root().join("tmp"));
    assert!(tmp.is_empty(), "tmp not empty: {tmp:?}");
    let images = tree(&storage.root().join("images"));
    assert!(images.is_empty(), "image records left: {images:?}");
}

pub fn open(dir: &Path) -> ImageStore {
    ImageStore::open(dir).unwrap()
}

pub fn no_progress() -> impl FnMut(&str) {
    |_| {}
}
