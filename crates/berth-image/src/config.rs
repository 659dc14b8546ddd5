//! The image config JSON (OCI image config with Docker's extra fields).
//!
//! An image's ID is the sha256 of its config bytes exactly as stored, so a config read
//! from a tar or registry is kept as raw bytes in the content store and only parsed here
//! for reading; unknown fields are kept (`extra`) so that a config Berth writes back out
//! (import, commit) loses nothing it was given.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use berth_store::Digest;

/// The whole config blob.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Fields Berth does not interpret, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `config` object: defaults for containers made from the image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
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
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(
        rename = "Cmd",
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Volumes", default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_signal: Option<String>,
    #[serde(
        rename = "ArgsEscaped",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub args_escaped: Option<bool>,
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
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Docker accepts `"Cmd": "sh"` as well as `["sh"]`.
fn string_or_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Either>::deserialize(deserializer)? {
        None => None,
        Some(Either::One(s)) => Some(vec![s]),
        Some(Either::Many(v)) => Some(v),
    })
}

impl ImageConfig {
    /// Parses config bytes; the error says what is wrong with them.
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("invalid image config JSON: {e}"))
    }

    /// `created` as a time, if present and valid.
    pub fn created_time(&self) -> Option<DateTime<FixedOffset>> {
        self.created
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    }

    /// Unix seconds of `created` (0 when absent), as the image list reports.
    pub fn created_unix(&self) -> i64 {
        self.created_time().map_or(0, |t| t.timestamp())
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.config.as_ref().and_then(|c| c.labels.as_ref())
    }

    pub fn os(&self) -> &str {
        self.os.as_deref().unwrap_or("")
    }

    pub fn architecture(&self) -> &str {
        self.architecture.as_deref().unwrap_or("")
    }
}

/// Go's `time.RFC3339Nano`: fractional seconds without trailing zeros, `Z` for UTC.
pub fn format_rfc3339_nano(time: &DateTime<FixedOffset>) -> String {
    let mut out = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = time.timestamp_subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    let offset = time.offset().local_minus_utc();
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.abs();
        out.push_str(&format!(
            "{sign}{:02}:{:02}",
            offset / 3600,
            (offset % 3600) / 60
        ));
    }
    out
}

/// [`format_rfc3339_nano`] for a UTC time.
pub fn format_utc(time: &DateTime<Utc>) -> String {
    format_rfc3339_nano(&time.fixed_offset())
}

/// The platform of this machine in OCI terms (`linux`, `amd64`/`arm64`/...).
pub fn host_platform() -> (&'static str, &'static str, Option<&'static str>) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    };
    let variant = match arch {
        "arm64" => Some("v8"),
        "arm" => Some("v7"),
        _ => None,
    };
    ("linux", arch, variant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_round_trip() {
        let raw = br#"{"architecture":"amd64","config":{"Cmd":"sh","X-Custom":1},"created":"2024-01-02T03:04:05.5Z","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"moby.buildkit.buildinfo.v1":"abc"}"#;
        let config = ImageConfig::parse(raw).unwrap();
        assert_eq!(
            config.config.as_ref().unwrap().cmd,
            Some(vec!["sh".to_string()])
        );
        assert_eq!(config.extra["moby.buildkit.buildinfo.v1"], "abc");
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["config"]["X-Custom"], 1);
        assert_eq!(back["moby.buildkit.buildinfo.v1"], "abc");
        assert_eq!(config.created_unix(), 1704164645);
        assert_eq!(
            format_rfc3339_nano(&config.created_time().unwrap()),
            "2024-01-02T03:04:05.5Z"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(ImageConfig::parse(b"not json").is_err());
        assert!(
            ImageConfig::parse(br#"{"rootfs":{"type":"layers","diff_ids":["md5:x"]}}"#).is_err()
        );
    }
}
