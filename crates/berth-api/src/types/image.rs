//! Image wire types: `GET /images/json`, `GET /images/{name}/json`,
//! `GET /images/{name}/history`, `DELETE /images/{name}`, `POST /images/prune`.
//!
//! Field names, null-versus-absent and the per-version differences follow moby: the
//! structs serialize as the current API (1.52+) does, and `to_json(version)` adds what
//! older versions expect (`VirtualSize` before 1.44, `<none>:<none>` before 1.43, the full
//! legacy `Config` before 1.50, ...).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::version::ApiVersion;

/// One entry of `GET /images/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSummary {
    #[serde(rename = "Id")]
    pub id: String,
    /// `""` when the image has no parent (always for pulled/loaded images).
    #[serde(rename = "ParentId")]
    pub parent_id: String,
    /// Familiar `name:tag` strings; `[]` (never null) when untagged.
    #[serde(rename = "RepoTags")]
    pub repo_tags: Vec<String>,
    #[serde(rename = "RepoDigests")]
    pub repo_digests: Vec<String>,
    /// Unix seconds of the image's `created` (0 when the config has none).
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "Size")]
    pub size: i64,
    /// -1: not computed.
    #[serde(rename = "SharedSize")]
    pub shared_size: i64,
    /// Only on API < 1.44 (see [`ImageSummary::to_json`]).
    #[serde(
        rename = "VirtualSize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_size: Option<i64>,
    /// The config's labels; null when it has none (as moby).
    #[serde(rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Containers using the image; -1 when not computed.
    #[serde(rename = "Containers")]
    pub containers: i64,
}

impl ImageSummary {
    /// The JSON for a client speaking `version`.
    pub fn to_json(&self, version: ApiVersion) -> Value {
        let mut summary = self.clone();
        if version < ApiVersion::new(1, 43)
            && summary.repo_tags.is_empty()
            && summary.repo_digests.is_empty()
        {
            summary.repo_tags.push("<none>:<none>".into());
            summary.repo_digests.push("<none>@<none>".into());
        }
        if version < ApiVersion::new(1, 51) {
            summary.containers = -1;
        }
        summary.virtual_size = if version < ApiVersion::new(1, 44) {
            Some(summary.size)
        } else {
            None
        };
        serde_json::to_value(summary).expect("ImageSummary serializes")
    }
}

/// The image config part of an inspect response (the OCI image config's `config`, with
/// Docker's additions). Empty fields are omitted, as moby does from API 1.52 on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(rename = "User", default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(
        rename = "ExposedPorts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Volumes", default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    #[serde(
        rename = "ArgsEscaped",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub args_escaped: bool,
    #[serde(
        rename = "Healthcheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub healthcheck: Option<Value>,
    #[serde(rename = "OnBuild", default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(rename = "Shell", default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// `GraphDriver` of an inspect response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphDriverData {
    #[serde(rename = "Data")]
    pub data: BTreeMap<String, String>,
    #[serde(rename = "Name")]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "Type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(rename = "Layers", default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMetadata {
    /// RFC 3339 with nanoseconds; moby sends Go's zero time when never tagged locally.
    #[serde(rename = "LastTagTime")]
    pub last_tag_time: String,
}

/// The zero time as Go's encoder writes it.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for ImageMetadata {
    fn default() -> Self {
        ImageMetadata {
            last_tag_time: GO_ZERO_TIME.into(),
        }
    }
}

/// `GET /images/{name}/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageInspect {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "RepoTags")]
    pub repo_tags: Vec<String>,
    #[serde(rename = "RepoDigests")]
    pub repo_digests: Vec<String>,
    #[serde(rename = "Parent", default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    #[serde(rename = "Comment", default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// RFC 3339 with nanoseconds; omitted when the config has no date.
    #[serde(rename = "Created", default, skip_serializing_if = "String::is_empty")]
    pub created: String,
    #[serde(
        rename = "DockerVersion",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub docker_version: String,
    #[serde(rename = "Author", default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(rename = "Config")]
    pub config: Option<ImageConfig>,
    #[serde(rename = "Architecture")]
    pub architecture: String,
    #[serde(rename = "Variant", default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(rename = "Os")]
    pub os: String,
    #[serde(
        rename = "OsVersion",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(rename = "Size")]
    pub size: i64,
    /// Only on API < 1.44 (see [`ImageInspect::to_json`]).
    #[serde(
        rename = "VirtualSize",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_size: Option<i64>,
    #[serde(
        rename = "GraphDriver",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub graph_driver: Option<GraphDriverData>,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    #[serde(rename = "Metadata")]
    pub metadata: ImageMetadata,
    /// `Container` of the image config (legacy builder); sent on API < 1.45 only.
    #[serde(skip)]
    pub legacy_container: String,
    /// `container_config` of the image config; sent on API < 1.45 only.
    #[serde(skip)]
    pub legacy_container_config: Option<Value>,
}

/// Fields API < 1.50 always had in `Config`, with their zero values (moby's
/// `legacyConfigFields["v1.49"]`).
/// A config field and a maker of its zero value.
type LegacyField = (&'static str, fn() -> Value);

const LEGACY_CONFIG_V1_49: &[LegacyField] = &[
    ("AttachStderr", || Value::Bool(false)),
    ("AttachStdin", || Value::Bool(false)),
    ("AttachStdout", || Value::Bool(false)),
    ("Cmd", || Value::Null),
    ("Domainname", || Value::String(String::new())),
    ("Entrypoint", || Value::Null),
    ("Env", || Value::Null),
    ("Hostname", || Value::String(String::new())),
    ("Image", || Value::String(String::new())),
    ("Labels", || Value::Null),
    ("OnBuild", || Value::Null),
    ("OpenStdin", || Value::Bool(false)),
    ("StdinOnce", || Value::Bool(false)),
    ("Tty", || Value::Bool(false)),
    ("User", || Value::String(String::new())),
    ("Volumes", || Value::Null),
    ("WorkingDir", || Value::String(String::new())),
];

/// Fields API 1.50 and 1.51 always had in `Config`.
const LEGACY_CONFIG_V1_51: &[&str] = &[
    "Cmd",
    "Entrypoint",
    "Env",
    "Labels",
    "OnBuild",
    "User",
    "Volumes",
    "WorkingDir",
];

/// The container config an image built without one reports on API < 1.45.
pub fn empty_legacy_container_config() -> Value {
    let mut map = Map::new();
    for (key, zero) in LEGACY_CONFIG_V1_49 {
        map.insert((*key).to_string(), zero());
    }
    Value::Object(map)
}

impl ImageInspect {
    /// The JSON for a client speaking `version`, with moby's compatibility rules.
    pub fn to_json(&self, version: ApiVersion) -> Value {
        let mut value = serde_json::to_value(self).expect("ImageInspect serializes");
        let object = value.as_object_mut().expect("ImageInspect is an object");
        if version < ApiVersion::new(1, 44) {
            object.insert("VirtualSize".into(), Value::from(self.size));
            if self.created.is_empty() {
                object.insert("Created".into(), Value::String(GO_ZERO_TIME.into()));
            }
        }
        if version < ApiVersion::new(1, 45) {
            object.insert(
                "Container".into(),
                Value::String(self.legacy_container.clone()),
            );
            object.insert(
                "ContainerConfig".into(),
                self.legacy_container_config
                    .clone()
                    .unwrap_or_else(empty_legacy_container_config),
            );
        }
        if version < ApiVersion::new(1, 52) {
            object.insert("Parent".into(), Value::String(self.parent.clone()));
            object.insert("Comment".into(), Value::String(self.comment.clone()));
            object.insert(
                "DockerVersion".into(),
                Value::String(self.docker_version.clone()),
            );
            object.insert("Author".into(), Value::String(self.author.clone()));
            let mut config = match object.remove("Config") {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            let mut merged = Map::new();
            if version < ApiVersion::new(1, 50) {
                for (key, zero) in LEGACY_CONFIG_V1_49 {
                    merged.insert((*key).to_string(), zero());
                }
            } else {
                for key in LEGACY_CONFIG_V1_51 {
                    let zero = LEGACY_CONFIG_V1_49
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, z)| z())
                        .unwrap_or(Value::Null);
                    merged.insert((*key).to_string(), zero);
                }
            }
            for (key, value) in std::mem::take(&mut config) {
                merged.insert(key, value);
            }
            object.insert("Config".into(), Value::Object(sorted(merged)));
        }
        value
    }
}

/// Go marshals maps with sorted keys; keep that for the merged legacy config.
fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// One entry of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryResponseItem {
    /// The image ID for entries that are images, else `<missing>`.
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "CreatedBy")]
    pub created_by: String,
    /// Familiar tags of the image; null when none (as moby).
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<String>>,
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "Comment")]
    pub comment: String,
}

/// One entry of `DELETE /images/{name}` (and of a prune report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDeleteResponseItem {
    #[serde(rename = "Untagged", default, skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    #[serde(rename = "Deleted", default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

impl ImageDeleteResponseItem {
    pub fn untagged(reference: impl Into<String>) -> Self {
        ImageDeleteResponseItem {
            untagged: Some(reference.into()),
            deleted: None,
        }
    }
    pub fn deleted(id: impl Into<String>) -> Self {
        ImageDeleteResponseItem {
            untagged: None,
            deleted: Some(id.into()),
        }
    }
}

/// `POST /images/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePruneResponse {
    /// null when nothing was deleted (as moby).
    #[serde(rename = "ImagesDeleted")]
    pub images_deleted: Option<Vec<ImageDeleteResponseItem>>,
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect() -> ImageInspect {
        ImageInspect {
            id: "sha256:abc".into(),
            repo_tags: vec!["busybox:latest".into()],
            repo_digests: vec![],
            parent: String::new(),
            comment: String::new(),
            created: "2024-01-01T00:00:00Z".into(),
            docker_version: String::new(),
            author: String::new(),
            config: Some(ImageConfig {
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            }),
            architecture: "amd64".into(),
            variant: String::new(),
            os: "linux".into(),
            os_version: String::new(),
            size: 10,
            virtual_size: None,
            graph_driver: None,
            root_fs: RootFs {
                kind: "layers".into(),
                layers: vec!["sha256:def".into()],
            },
            metadata: ImageMetadata::default(),
            legacy_container: String::new(),
            legacy_container_config: None,
        }
    }

    #[test]
    fn inspect_current_omits_empty_fields() {
        let v = inspect().to_json(ApiVersion::new(1, 55));
        let o = v.as_object().unwrap();
        assert!(
            !o.contains_key("Parent")
                && !o.contains_key("VirtualSize")
                && !o.contains_key("Comment")
        );
        assert_eq!(v["Config"], serde_json::json!({"Cmd": ["sh"]}));
        assert_eq!(v["RepoDigests"], serde_json::json!([]));
        assert_eq!(v["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
    }

    #[test]
    fn inspect_old_versions_have_legacy_fields() {
        let v = inspect().to_json(ApiVersion::new(1, 41));
        assert_eq!(v["VirtualSize"], 10);
        assert_eq!(v["Parent"], "");
        assert_eq!(v["Config"]["Cmd"], serde_json::json!(["sh"]));
        assert_eq!(v["Config"]["Hostname"], "");
        assert_eq!(v["Config"]["Env"], Value::Null);
        assert_eq!(v["ContainerConfig"]["Tty"], false);
        let v = inspect().to_json(ApiVersion::new(1, 50));
        assert!(v["Config"].get("Hostname").is_none());
        assert_eq!(v["Config"]["WorkingDir"], "");
        assert!(v.get("VirtualSize").is_none());
    }

    #[test]
    fn summary_versions() {
        let s = ImageSummary {
            id: "sha256:abc".into(),
            parent_id: String::new(),
            repo_tags: vec![],
            repo_digests: vec![],
            created: 1,
            size: 5,
            shared_size: -1,
            virtual_size: None,
            labels: None,
            containers: 2,
        };
        let v = s.to_json(ApiVersion::new(1, 41));
        assert_eq!(v["RepoTags"], serde_json::json!(["<none>:<none>"]));
        assert_eq!(v["VirtualSize"], 5);
        assert_eq!(v["Containers"], -1);
        assert_eq!(v["Labels"], Value::Null);
        let v = s.to_json(ApiVersion::new(1, 55));
        assert_eq!(v["RepoTags"], serde_json::json!([]));
        assert!(v.get("VirtualSize").is_none());
        assert_eq!(v["Containers"], 2);
    }

    #[test]
    fn delete_items_and_prune() {
        let items = vec![
            ImageDeleteResponseItem::untagged("busybox:latest"),
            ImageDeleteResponseItem::deleted("sha256:x"),
        ];
        assert_eq!(
            serde_json::to_string(&items).unwrap(),
            r#"[{"Untagged":"busybox:latest"},{"Deleted":"sha256:x"}]"#
        );
        assert_eq!(
            serde_json::to_string(&ImagePruneResponse::default()).unwrap(),
            r#"{"ImagesDeleted":null,"SpaceReclaimed":0}"#
        );
    }
}
