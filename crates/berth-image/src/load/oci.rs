//! OCI image layouts (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), as buildah,
//! skopeo, buildx and `docker save` write them. Every blob is checked against its
//! descriptor's digest and size; unknown media types are refused by name. Multi-platform
//! indexes resolve to this machine's platform; attestation manifests are skipped.

use std::collections::BTreeMap;

use serde::Deserialize;

use berth_store::Digest;

use super::spool::{Spool, SpooledFile};
use super::{LayerSource, Plan};
use crate::config::host_platform;
use crate::error::ImageError;
use crate::reference::Reference;

pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

/// Annotation with the full image name (containerd, docker).
pub(crate) const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// OCI's reference name annotation (a tag, or a full name with some tools).
pub(crate) const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: i64,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

pub(crate) fn plan(spool: &Spool) -> Result<Vec<Plan>, ImageError> {
    let bytes = spool
        .read_file("index.json")?
        .expect("caller checked index.json exists");
    let index: Index = serde_json::from_slice(&bytes)
        .map_err(|e| ImageError::archive(format!("index.json is not a valid OCI index: {e}")))?;
    if let Some(media_type) = &index.media_type {
        if media_type != OCI_INDEX {
            return Err(ImageError::archive(format!(
                "index.json has unsupported media type {media_type:?}"
            )));
        }
    }
    if index.manifests.is_empty() {
        return Err(ImageError::archive("index.json lists no images"));
    }
    let mut plans: Vec<Plan> = Vec::new();
    for descriptor in &index.manifests {
        let tags = names(descriptor)?;
        let mut plan = resolve(spool, descriptor, "index.json", 0)?;
        plan.tags = tags;
        // The same image listed once per tag: merge.
        match plans
            .iter_mut()
            .find(|p| p.config.digest == plan.config.digest)
        {
            Some(existing) => {
                for tag in plan.tags {
                    if !existing.tags.contains(&tag) {
                        existing.tags.push(tag);
                    }
                }
            }
            None => plans.push(plan),
        }
    }
    Ok(plans)
}

fn names(descriptor: &Descriptor) -> Result<Vec<Reference>, ImageError> {
    let Some(annotations) = &descriptor.annotations else {
        return Ok(Vec::new());
    };
    let candidate = annotations.get(ANNOTATION_IMAGE_NAME).or_else(|| {
        annotations
            .get(ANNOTATION_REF_NAME)
            .filter(|n| n.contains(['/', ':']))
    });
    let Some(candidate) = candidate else {
        return Ok(Vec::new());
    };
    match Reference::parse_normalized(candidate) {
        Ok(reference) if reference.digest().is_none() => Ok(vec![reference.with_default_tag()]),
        Ok(_) => Ok(Vec::new()),
        Err(e) => Err(ImageError::archive(format!(
            "index.json names the image {candidate:?}, which is invalid: {e}"
        ))),
    }
}

/// The spooled blob a descriptor names, checked against its digest and size.
fn blob<'a>(
    spool: &'a Spool,
    descriptor: &Descriptor,
    context: &str,
) -> Result<&'a SpooledFile, ImageError> {
    let digest = Digest::parse(&descriptor.digest).map_err(|e| {
        ImageError::archive(format!("{context} names blob {:?}: {e}", descriptor.digest))
    })?;
    let path = format!("blobs/sha256/{}", digest.hex());
    let file = spool.get(&path).ok_or_else(|| {
        ImageError::archive(format!(
            "{context} names blob {digest}, which is not in the archive ({path})"
        ))
    })?;
    if file.digest != digest {
        return Err(ImageError::archive(format!(
            "blob {path} does not match its digest: its content is {}",
            file.digest
        )));
    }
    if descriptor.size >= 0 && file.size != descriptor.size as u64 {
        return Err(ImageError::archive(format!(
            "blob {path} has {} bytes but {context} says {}",
            file.size, descriptor.size
        )));
    }
    Ok(file)
}

fn resolve(
    spool: &Spool,
    descriptor: &Descriptor,
    context: &str,
    depth: usize,
) -> Result<Plan, ImageError> {
    if depth > 4 {
        return Err(ImageError::archive("image indexes nest too deeply"));
    }
    let file = blob(spool, descriptor, context)?;
    let bytes = std::fs::read(&file.path)
        .map_err(|e| ImageError::Corrupt(format!("read spooled blob: {e}")))?;
    match descriptor.media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => {
            let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
                ImageError::archive(format!(
                    "index {} is not valid JSON: {e}",
                    descriptor.digest
                ))
            })?;
            let chosen = choose_platform(&index.manifests).ok_or_else(|| {
                let (os, arch, _) = host_platform();
                ImageError::archive(format!(
                    "index {} has no image for this platform ({os}/{arch})",
                    descriptor.digest
                ))
            })?;
            resolve(
                spool,
                chosen,
                &format!("index {}", descriptor.digest),
                depth + 1,
            )
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
                ImageError::archive(format!(
                    "manifest {} is not valid JSON: {e}",
                    descriptor.digest
                ))
            })?;
            if let Some(inner) = &manifest.media_type {
                if inner != &descriptor.media_type {
                    return Err(ImageError::archive(format!(
                        "manifest {} has media type {inner:?} but its descriptor says {:?}",
                        descriptor.digest, descriptor.media_type
                    )));
                }
            }
            let context = format!("manifest {}", descriptor.digest);
            if manifest.config.media_type != OCI_CONFIG
                && manifest.config.media_type != DOCKER_CONFIG
            {
                return Err(ImageError::archive(format!(
                    "{context} has config media type {:?}, which is not a container image config (unknown media type)",
                    manifest.config.media_type
                )));
            }
            let config = blob(spool, &manifest.config, &context)?.clone();
            let mut layers = Vec::with_capacity(manifest.layers.len());
            for layer in &manifest.layers {
                if !LAYER_TYPES.contains(&layer.media_type.as_str()) {
                    return Err(ImageError::archive(format!(
                        "{context} has a layer of unknown media type {:?}",
                        layer.media_type
                    )));
                }
                let file = blob(spool, layer, &context)?.clone();
                layers.push(LayerSource {
                    name: format!("blobs/sha256/{}", file.digest.hex()),
                    file,
                });
            }
            Ok(Plan {
                name: context,
                config,
                layers,
                tags: Vec::new(),
                parent: None,
            })
        }
        other => Err(ImageError::archive(format!(
            "{context} names {} with unknown media type {other:?}",
            descriptor.digest
        ))),
    }
}

/// The manifest of an index for this machine: exact os/arch (and variant when both
/// sides name one), attestations skipped; a single real entry is taken as is.
fn choose_platform(manifests: &[Descriptor]) -> Option<&Descriptor> {
    let (os, arch, variant) = host_platform();
    let real: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .map(String::as_str)
                != Some("attestation-manifest")
        })
        .collect();
    let matching = |d: &&&Descriptor| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == os
                && p.architecture == arch
                && match (&p.variant, variant) {
                    (Some(v), Some(want)) => v == want,
                    _ => true,
                }
        })
    };
    real.iter()
        .find(matching)
        .copied()
        .or_else(|| if real.len() == 1 { Some(real[0]) } else { None })
}
