//! Health checks (`HEALTHCHECK`, `--health-cmd`): one tokio task per running container
//! that has a check, which runs the probe as an exec through the container's shim at the
//! configured interval and keeps `State.Health` as dockerd does (moby's `daemon/health.go`
//! is the reference for the rules: start period, start interval, retries, log of 5,
//! 4096 bytes of output). Containers without a check cost nothing.

mod monitor;
mod probe;

pub(crate) use monitor::reset;

use std::time::Duration;

use berth_api::types::container::{ContainerConfig, HealthConfig};
use serde::{Deserialize, Serialize};

/// Defaults when a field is 0 (moby's).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Results kept in `Health.Log`.
const MAX_LOG_ENTRIES: usize = 5;
/// Probe output kept per result; more is cut and marked with `...`.
const MAX_OUTPUT: usize = 4096;

/// `State.Health`, persisted with the container record in the API's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    #[serde(rename = "Status")]
    pub status: HealthStatus,
    #[serde(rename = "FailingStreak")]
    pub failing_streak: i64,
    #[serde(rename = "Log")]
    pub log: Vec<HealthResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }

    /// The words in `ps`'s STATUS column: `Up 5 seconds (health: starting)`.
    pub fn ps_text(self) -> &'static str {
        match self {
            HealthStatus::Starting => "health: starting",
            other => other.as_str(),
        }
    }
}

/// One probe run (`HealthcheckResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResult {
    #[serde(rename = "Start")]
    pub start: String,
    #[serde(rename = "End")]
    pub end: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: i64,
    #[serde(rename = "Output")]
    pub output: String,
}

/// The `health` values `ps --filter` accepts.
pub const FILTER_VALUES: &[&str] = &["starting", "healthy", "unhealthy", "none"];

/// What the monitor runs and when, from the container's `Config.Healthcheck`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    pub argv: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: i64,
}

impl Probe {
    /// The probe of a container, or `None` without a check (no `Healthcheck`, an empty
    /// or unknown test, or `NONE`).
    pub fn of(config: &ContainerConfig) -> Option<Probe> {
        let check = config.healthcheck.as_ref()?;
        let test = check.test.as_ref()?;
        let argv = match test.first().map(String::as_str) {
            Some("CMD") => test[1..].to_vec(),
            Some("CMD-SHELL") => {
                let mut argv = config
                    .shell
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                argv.extend(test[1..].iter().cloned());
                argv
            }
            _ => return None,
        };
        if argv.is_empty() {
            return None;
        }
        let or = |nanos: i64, default: Duration| {
            if nanos > 0 {
                Duration::from_nanos(nanos as u64)
            } else {
                default
            }
        };
        Some(Probe {
            argv,
            interval: or(check.interval, DEFAULT_INTERVAL),
            timeout: or(check.timeout, DEFAULT_TIMEOUT),
            start_period: or(check.start_period, Duration::ZERO),
            start_interval: or(check.start_interval, DEFAULT_START_INTERVAL),
            retries: if check.retries > 0 {
                check.retries
            } else {
                DEFAULT_RETRIES
            },
        })
    }
}

/// Merges the image's check under the container's as moby does at create: no check of
/// its own takes the image's; a partial one takes the image's value for each field left
/// empty (`--health-interval` alone keeps the image's test).
pub(crate) fn merge(container: &mut Option<HealthConfig>, image: Option<HealthConfig>) {
    let Some(image) = image else {
        return;
    };
    let Some(own) = container else {
        *container = Some(image);
        return;
    };
    if own.test.as_ref().is_none_or(Vec::is_empty) {
        own.test = image.test;
    }
    for (field, from_image) in [
        (&mut own.interval, image.interval),
        (&mut own.timeout, image.timeout),
        (&mut own.start_period, image.start_period),
        (&mut own.start_interval, image.start_interval),
        (&mut own.retries, image.retries),
    ] {
        if *field == 0 {
            *field = from_image;
        }
    }
}

/// Keeps at most [`MAX_OUTPUT`] bytes and says whether more came (moby appends `...`).
#[derive(Default)]
struct LimitedOutput {
    bytes: Vec<u8>,
    truncated: bool,
}

impl LimitedOutput {
    fn push(&mut self, data: &[u8]) {
        let room = MAX_OUTPUT.saturating_sub(self.bytes.len());
        let keep = room.min(data.len());
        self.bytes.extend_from_slice(&data[..keep]);
        if keep < data.len() {
            self.truncated = true;
        }
    }

    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.truncated {
            text.push_str("...");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(check: serde_json::Value) -> ContainerConfig {
        serde_json::from_value(serde_json::json!({ "Healthcheck": check })).unwrap()
    }

    #[test]
    fn probe_forms_and_defaults() {
        let p = Probe::of(&config(serde_json::json!({"Test": ["CMD-SHELL", "true"]}))).unwrap();
        assert_eq!(p.argv, ["/bin/sh", "-c", "true"]);
        assert_eq!(p.interval, DEFAULT_INTERVAL);
        assert_eq!(p.retries, 3);
        let p = Probe::of(&config(
            serde_json::json!({"Test": ["CMD", "cat", "/x"], "Interval": 1_000_000_000i64, "Retries": 2}),
        ))
        .unwrap();
        assert_eq!(p.argv, ["cat", "/x"]);
        assert_eq!(p.interval, Duration::from_secs(1));
        assert_eq!(p.retries, 2);
        assert!(Probe::of(&config(serde_json::json!({"Test": ["NONE"]}))).is_none());
        assert!(Probe::of(&config(serde_json::json!({"Test": []}))).is_none());
        assert!(Probe::of(&ContainerConfig::default()).is_none());
    }

    #[test]
    fn merge_takes_the_image_fields_left_empty() {
        let image = HealthConfig {
            test: Some(vec!["CMD".into(), "true".into()]),
            interval: 5,
            retries: 7,
            ..Default::default()
        };
        let mut own = Some(HealthConfig {
            interval: 9,
            ..Default::default()
        });
        merge(&mut own, Some(image.clone()));
        let own = own.unwrap();
        assert_eq!(own.test, image.test);
        assert_eq!((own.interval, own.retries), (9, 7));
        let mut none = Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
        merge(&mut none, Some(image));
        assert_eq!(none.unwrap().test.unwrap(), ["NONE"]);
    }

    #[test]
    fn output_is_cut_like_docker() {
        let mut out = LimitedOutput::default();
        out.push(&[b'a'; 4000]);
        out.push(&[b'b'; 200]);
        let text = out.text();
        assert_eq!(text.len(), MAX_OUTPUT + 3);
        assert!(text.ends_with("bbb..."));
    }
}
