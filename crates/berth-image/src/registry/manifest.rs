//! Manifests and indexes as registries serve them: Docker schema 2 and OCI, single
//! images and multi-platform lists, and choosing the entry for a platform.

use serde::{Deserialize, Serialize};

use berth_store::Digest;

use super::error::RegistryError;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The `Accept` header of a manifest request: everything we can read.
pub const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`, `linux/arm64/v8`, `amd64` (os defaults to linux).
    pub fn parse(text: &str) -> Result<Platform, RegistryError> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [arch] if !arch.is_empty() => ("linux", *arch, None),
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some(variant.to_string())),
            _ => ("", "", None),
        };
        if os.is_empty() || arch.is_empty() {
            return Err(RegistryError::Unsupported(format!(
                "\"{text}\": unknown operating system or architecture: invalid argument"
            )));
        }
        let arch = match arch {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Ok(Platform {
            os: os.to_lowercase(),
            architecture: arch.to_string(),
            variant,
        })
    }

    /// The machine's own platform (what docker pulls without `--platform`).
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "arm" => "arm",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    pub fn matches(&self, other: &Platform) -> bool {
        if self.os != other.os || self.architecture != other.architecture {
            return false;
        }
        match (&self.variant, &other.variant) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A single-platform image manifest (Docker schema 2 or OCI).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    pub manifests: Vec<Descriptor>,
}

/// What a manifest request returned.
pub enum Fetched {
    Image(ImageManifest),
    Index(Index),
}

/// Parses a manifest by its media type (from the header, else from the body).
pub fn parse(bytes: &[u8], header_type: &str) -> Result<Fetched, RegistryError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion", default)]
        schema_version: u32,
        #[serde(rename = "mediaType", default)]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::protocol(format!("the manifest is not valid JSON: {e}")))?;
    let media_type = if !probe.media_type.is_empty() {
        probe.media_type.as_str()
    } else if !header_type.is_empty() && header_type != "application/json" {
        header_type
    } else if probe.manifests.is_some() {
        OCI_INDEX
    } else {
        OCI_MANIFEST
    };
    if probe.schema_version == 1
        || media_type == DOCKER_SCHEMA1
        || media_type == DOCKER_SCHEMA1_SIGNED
    {
        return Err(RegistryError::Unsupported(
            "this image uses manifest schema 1, which is deprecated and not supported; push it again with a current client".into(),
        ));
    }
    match media_type {
        DOCKER_LIST | OCI_INDEX => serde_json::from_slice(bytes)
            .map(Fetched::Index)
            .map_err(|e| RegistryError::protocol(format!("the image index is malformed: {e}"))),
        DOCKER_MANIFEST | OCI_MANIFEST => serde_json::from_slice(bytes)
            .map(Fetched::Image)
            .map_err(|e| RegistryError::protocol(format!("the image manifest is malformed: {e}"))),
        other => Err(RegistryError::Unsupported(format!(
            "unsupported manifest media type {other:?}"
        ))),
    }
}

/// Chooses the manifest for `want` from an index, as docker does (exact variant first).
pub fn select<'a>(index: &'a Index, want: &Platform) -> Result<&'a Descriptor, RegistryError> {
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| d.platform.as_ref().is_some_and(|p| want.matches(p)))
        .collect();
    let exact = candidates
        .iter()
        .find(|d| d.platform.as_ref().and_then(|p| p.variant.as_ref()) == want.variant.as_ref());
    exact.or(candidates.first()).copied().ok_or_else(|| {
        let available: Vec<String> = index
            .manifests
            .iter()
            .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
            .collect();
        RegistryError::NotFound(format!(
            "no matching manifest for {want} in the manifest list entries (available: {})",
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        ))
    })
}

/// Is a layer of this media type something we can download and unpack?
pub fn check_layer(descriptor: &Descriptor) -> Result<(), RegistryError> {
    let t = descriptor.media_type.as_str();
    if t == DOCKER_FOREIGN || t.contains("nondistributable") || !descriptor.urls.is_empty() {
        return Err(RegistryError::Unsupported(format!(
            "layer {} is a foreign (non-distributable) layer ({t}) that must be fetched from {}; berth does not pull foreign layers",
            descriptor.digest,
            if descriptor.urls.is_empty() { "an external URL".to_string() } else { descriptor.urls.join(", ") }
        )));
    }
    let known = [
        DOCKER_LAYER_GZIP,
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "",
    ];
    if known.contains(&t) {
        Ok(())
    } else {
        Err(RegistryError::Unsupported(format!(
            "layer {} has unsupported media type {t:?}",
            descriptor.digest
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(platform: &str) -> Descriptor {
        let p = Platform::parse(platform).unwrap();
        Descriptor {
            media_type: DOCKER_MANIFEST.into(),
            digest: Digest::of_bytes(platform.as_bytes()),
            size: 1,
            urls: vec![],
            platform: Some(p),
        }
    }

    #[test]
    fn selects_platforms() {
        let index = Index {
            manifests: vec![
                desc("linux/arm/v6"),
                desc("linux/arm/v7"),
                desc("linux/amd64"),
            ],
        };
        let want = Platform::parse("linux/amd64").unwrap();
        assert_eq!(select(&index, &want).unwrap(), &index.manifests[2]);
        let want = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(select(&index, &want).unwrap(), &index.manifests[1]);
        let err = select(&index, &Platform::parse("linux/s390x").unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no matching manifest for linux/s390x"),
            "{err}"
        );
        assert!(Platform::parse("a/b/c/d").is_err());
    }
}
