//! `GET /volumes`: all volumes, with docker's `dangling`, `name`, `driver` and `label`
//! filters.

use berth_api::{ApiError, Filters};
use serde_json::{json, Value};

use super::Volume;
use crate::Engine;

pub const LIST_FILTERS: &[&str] = &["dangling", "name", "driver", "label"];

impl Engine {
    pub fn volume_list(&self, filters: &Filters) -> Result<Value, ApiError> {
        filters.validate(LIST_FILTERS)?;
        let dangling = bool_filter(filters, "dangling")?;
        let volumes: Vec<Value> = self
            .volumes
            .all()
            .iter()
            .filter(|v| matches(v, filters, dangling))
            .map(|v| v.to_json())
            .collect();
        Ok(json!({ "Volumes": volumes, "Warnings": [] }))
    }

    /// `/system/df` `Volumes`: every local volume without mount options (those hold
    /// nothing on this disk, moby leaves them out), with its size and the number of
    /// containers referencing it.
    pub async fn volumes_disk_usage(&self) -> Vec<Value> {
        let volumes: Vec<_> = self
            .volumes
            .all()
            .into_iter()
            .filter(|v| !super::local::needs_mount(&v.meta))
            .collect();
        tokio::task::spawn_blocking(move || {
            volumes
                .iter()
                .map(|v| {
                    let mut value = v.to_json();
                    value["UsageData"] = json!({
                        "Size": super::data_size(&v.data_path()),
                        "RefCount": v.references().len(),
                    });
                    value
                })
                .collect()
        })
        .await
        .unwrap_or_default()
    }
}

/// A boolean filter's value (`true`/`1`, `false`/`0`); several must agree.
pub(crate) fn bool_filter(filters: &Filters, key: &str) -> Result<Option<bool>, ApiError> {
    let mut result = None;
    for value in filters.get(key) {
        let parsed = match value.to_ascii_lowercase().as_str() {
            "1" | "true" => true,
            "0" | "false" => false,
            _ => return Err(ApiError::invalid(format!("invalid filter '{key}={value}'"))),
        };
        if result.is_some_and(|r| r != parsed) {
            return Err(ApiError::invalid(format!(
                "invalid filter '{key}': conflicting values"
            )));
        }
        result = Some(parsed);
    }
    Ok(result)
}

fn matches(volume: &Volume, filters: &Filters, dangling: Option<bool>) -> bool {
    let name_ok = filters.get("name").is_empty()
        || filters
            .get("name")
            .iter()
            .any(|n| name_matches(&volume.name, n));
    let driver_ok = filters.matches("driver", &volume.meta.driver);
    let dangling_ok = dangling.is_none_or(|d| d != volume.in_use());
    name_ok && driver_ok && dangling_ok && filters.matches_labels("label", &volume.meta.labels)
}

/// moby matches `name` as a regular expression; Berth supports its common forms:
/// a substring, optionally anchored with `^` and/or `$`.
fn name_matches(name: &str, pattern: &str) -> bool {
    let (anchored_start, rest) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let (anchored_end, needle) = match rest.strip_suffix('$') {
        Some(needle) => (true, needle),
        None => (false, rest),
    };
    match (anchored_start, anchored_end) {
        (true, true) => name == needle,
        (true, false) => name.starts_with(needle),
        (false, true) => name.ends_with(needle),
        (false, false) => name.contains(needle),
    }
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn name_filter_forms() {
        assert!(name_matches("mydata", "data"));
        assert!(name_matches("mydata", "^my"));
        assert!(!name_matches("mydata", "^data"));
        assert!(name_matches("mydata", "data$"));
        assert!(name_matches("mydata", "^mydata$"));
        assert!(!name_matches("mydata2", "^mydata$"));
    }
}
