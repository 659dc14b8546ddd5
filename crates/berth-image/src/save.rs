//! `docker save`: images as one tar that both `docker load` and OCI tools read.
//!
//! ```text
//! blobs/sha256/<config>      the config, byte for byte (its sha256 is the image ID)
//! blobs/sha256/<diff-id>     each layer's original uncompressed tar (replayed)
//! blobs/sha256/<manifest>    an OCI manifest per image
//! index.json                 OCI index: one entry per tag (io.containerd.image.name,
//!                            org.opencontainers.image.ref.name), one per untagged image
//! manifest.json              docker's list: Config, RepoTags, Layers (+ Parent)
//! oci-layout                 {"imageLayoutVersion": "1.0.0"}
//! repositories               legacy {"name": {"tag": "<top layer>"}}
//! ```
//!
//! Entries are sorted, owned by 0:0 and dated 1970, so the same images always give the
//! same bytes. Layers stream from disk; nothing large is held in memory.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

use serde_json::{json, Value};

use berth_store::{Digest, Lease};

use crate::error::ImageError;
use crate::load::oci::{
    ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, OCI_CONFIG, OCI_INDEX, OCI_LAYER_TAR, OCI_MANIFEST,
};
use crate::reference::{AnyReference, Reference};
use crate::store::{Image, ImageStore};

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion": "1.0.0"}"#;

enum Blob {
    Bytes(Vec<u8>),
    Layer { chain_id: Digest, size: u64 },
}

struct Selected {
    image: Image,
    tags: Vec<Reference>,
}

impl ImageStore {
    /// Writes the named images (names, tags, IDs; a bare repository name saves all its
    /// tags) to `out` as a `docker save` tar.
    pub fn save(&self, names: &[String], out: impl Write) -> Result<(), ImageError> {
        let lease = self.storage().lease();
        let selected = self.select(names, &lease)?;
        self.write_archive(&selected, out)
    }

    /// moby's `parseNames`: which images, with which tags.
    fn select(&self, names: &[String], lease: &Lease) -> Result<Vec<Selected>, ImageError> {
        let state = self.state_snapshot();
        let mut selected: Vec<Selected> = Vec::new();
        let mut add = |id: &Digest, tag: Option<Reference>| {
            let index = match selected.iter().position(|s| &s.image.id == id) {
                Some(i) => i,
                None => {
                    let image = state.image(id).expect("resolved image exists");
                    selected.push(Selected {
                        image,
                        tags: Vec::new(),
                    });
                    selected.len() - 1
                }
            };
            if let Some(tag) = tag.filter(|t| t.digest().is_none()) {
                if !selected[index].tags.contains(&tag) {
                    selected[index].tags.push(tag);
                }
            }
        };
        for name in names {
            match AnyReference::parse(name)? {
                AnyReference::Digest(_) => add(&state.resolve(name)?, None),
                AnyReference::Named(reference) if reference.familiar_name() == "sha256" => {
                    add(&state.resolve(name)?, None)
                }
                AnyReference::Named(reference) if reference.is_name_only() => {
                    let repo = reference.name();
                    let mut found = false;
                    for (tag, id) in state.refs.values() {
                        if tag.name() == repo && state.visible(id).is_some() {
                            add(id, Some(tag.clone()));
                            found = true;
                        }
                    }
                    if !found {
                        add(&state.resolve(name)?, None);
                    }
                }
                AnyReference::Named(reference) => {
                    let lookup = reference.docker_ref();
                    let id = state
                        .refs
                        .get(&lookup.to_string())
                        .map(|(_, id)| id.clone())
                        .filter(|id| state.visible(id).is_some())
                        .ok_or_else(|| ImageError::NotFound(lookup.familiar_string()))?;
                    add(&id, Some(lookup));
                }
            }
        }
        if selected.is_empty() {
            return Err(ImageError::InvalidParameter("no images to save".into()));
        }
        // Keep everything that will be streamed alive until the archive is written.
        for s in &selected {
            if !self.storage().content().reuse(lease, &s.image.id) {
                return Err(ImageError::NotFound(s.image.id.to_string()));
            }
            if let Some(top) = s.image.top_layer() {
                if self.storage().layers().reuse(lease, top).is_none() {
                    return Err(ImageError::NotFound(s.image.id.to_string()));
                }
            }
        }
        Ok(selected)
    }

    fn write_archive(&self, selected: &[Selected], out: impl Write) -> Result<(), ImageError> {
        let layers = self.storage().layers();
        let mut blobs: BTreeMap<String, Blob> = BTreeMap::new();
        let mut manifest_items: Vec<Value> = Vec::new();
        let mut index_entries: Vec<Value> = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let saved: HashSet<&Digest> = selected.iter().map(|s| &s.image.id).collect();

        for s in selected {
            let image = &s.image;
            let config_bytes = self.raw_config(&image.id)?;
            let config_size = config_bytes.len();
            blobs.insert(image.id.hex().to_string(), Blob::Bytes(config_bytes));

            let mut layer_descriptors = Vec::new();
            let mut layer_paths = Vec::new();
            for (chain_id, diff_id) in image.chain_ids.iter().zip(&image.config.rootfs.diff_ids) {
                let record = layers.get(chain_id)?;
                if !record.reproducible {
                    return Err(ImageError::Corrupt(format!(
                        "layer {diff_id} of image {} cannot be exported byte for byte (its tar overwrote its own files)",
                        image.id
                    )));
                }
                layer_descriptors.push(json!({
                    "mediaType": OCI_LAYER_TAR,
                    "digest": diff_id,
                    "size": record.tar_size,
                }));
                layer_paths.push(format!("blobs/sha256/{}", diff_id.hex()));
                blobs.insert(
                    diff_id.hex().to_string(),
                    Blob::Layer {
                        chain_id: chain_id.clone(),
                        size: record.tar_size,
                    },
                );
            }

            let platform = platform_of(image);
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": { "mediaType": OCI_CONFIG, "digest": image.id, "size": config_size },
                "layers": layer_descriptors,
            });
            let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
            let manifest_digest = Digest::of_bytes(&manifest_bytes);
            let manifest_size = manifest_bytes.len();
            blobs.insert(
                manifest_digest.hex().to_string(),
                Blob::Bytes(manifest_bytes),
            );

            let descriptor = |annotations: Option<Value>| {
                let mut d = json!({
                    "mediaType": OCI_MANIFEST,
                    "digest": manifest_digest,
                    "size": manifest_size,
                });
                if let Some(a) = annotations {
                    d["annotations"] = a;
                }
                d["platform"] = platform.clone();
                d
            };
            if s.tags.is_empty() {
                index_entries.push(descriptor(None));
            }
            for tag in &s.tags {
                index_entries.push(descriptor(Some(json!({
                    ANNOTATION_IMAGE_NAME: tag.to_string(),
                    ANNOTATION_REF_NAME: tag.tag().unwrap_or("latest"),
                }))));
                if let Some(top) = image.config.rootfs.diff_ids.last() {
                    repositories.entry(tag.familiar_name()).or_default().insert(
                        tag.tag().unwrap_or("latest").to_string(),
                        top.hex().to_string(),
                    );
                }
            }

            let repo_tags: Value = if s.tags.is_empty() {
                Value::Null
            } else {
                Value::from(
                    s.tags
                        .iter()
                        .map(Reference::familiar_string)
                        .collect::<Vec<_>>(),
                )
            };
            let mut item = json!({
                "Config": format!("blobs/sha256/{}", image.id.hex()),
                "RepoTags": repo_tags,
                "Layers": layer_paths,
            });
            if let Some(parent) = image.parent.as_ref().filter(|p| saved.contains(p)) {
                item["Parent"] = Value::from(parent.to_string());
            }
            manifest_items.push(item);
        }

        let mut manifest_json =
            serde_json::to_vec(&manifest_items).expect("manifest.json serializes");
        manifest_json.push(b'\n');
        let index_json = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": index_entries,
        }))
        .expect("index.json serializes");

        let mut builder = tar::Builder::new(out);
        append_dir(&mut builder, "blobs/")?;
        append_dir(&mut builder, "blobs/sha256/")?;
        for (hex, blob) in &blobs {
            let path = format!("blobs/sha256/{hex}");
            match blob {
                Blob::Bytes(bytes) => {
                    append_file(&mut builder, &path, bytes.len() as u64, &bytes[..])?
                }
                Blob::Layer { chain_id, size } => {
                    let stream = layers.tar_stream(chain_id)?;
                    append_file(
                        &mut builder,
                        &path,
                        *size,
                        Exact {
                            inner: stream,
                            left: *size,
                        },
                    )?;
                }
            }
        }
        append_file(
            &mut builder,
            "index.json",
            index_json.len() as u64,
            &index_json[..],
        )?;
        append_file(
            &mut builder,
            "manifest.json",
            manifest_json.len() as u64,
            &manifest_json[..],
        )?;
        append_file(
            &mut builder,
            "oci-layout",
            OCI_LAYOUT.len() as u64,
            OCI_LAYOUT,
        )?;
        if !repositories.is_empty() {
            let mut repos = serde_json::to_vec(&repositories).expect("repositories serializes");
            repos.push(b'\n');
            append_file(&mut builder, "repositories", repos.len() as u64, &repos[..])?;
        }
        let mut out = builder.into_inner().map_err(write_error)?;
        out.flush().map_err(write_error)?;
        Ok(())
    }
}

fn platform_of(image: &Image) -> Value {
    let mut platform = json!({
        "architecture": image.config.architecture(),
        "os": image.config.os(),
    });
    if let Some(variant) = image.config.variant.as_deref().filter(|v| !v.is_empty()) {
        platform["variant"] = Value::from(variant);
    }
    platform
}

fn write_error(err: io::Error) -> ImageError {
    ImageError::Store(berth_store::StoreError::Io {
        context: "write the saved archive".into(),
        source: err,
    })
}

fn header(
    path: &str,
    kind: tar::EntryType,
    mode: u32,
    size: u64,
) -> Result<tar::Header, ImageError> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path).map_err(write_error)?;
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    Ok(header)
}

fn append_dir<W: Write>(builder: &mut tar::Builder<W>, path: &str) -> Result<(), ImageError> {
    let header = header(path, tar::EntryType::Directory, 0o755, 0)?;
    builder.append(&header, io::empty()).map_err(write_error)
}

fn append_file<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    data: impl Read,
) -> Result<(), ImageError> {
    let header = header(path, tar::EntryType::Regular, 0o644, size)?;
    builder.append(&header, data).map_err(write_error)
}

/// Yields exactly `left` bytes or fails, so a short or long layer cannot corrupt the tar.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // Drive the inner reader to its end so it can verify its digest.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "layer is longer than recorded",
                )),
            };
        }
        let want = (self.left.min(buf.len() as u64)) as usize;
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "layer is shorter than recorded",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
