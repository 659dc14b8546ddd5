//! `GET /containers/json`: summaries with docker's filters and status strings.

use std::time::Duration;

use berth_api::{ApiError, Filters};
use serde_json::{json, Value};

use super::record::{Record, Status};
use crate::Engine;

pub const LIST_FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

pub struct ListOptions {
    pub all: bool,
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: Filters,
}

impl Engine {
    pub fn container_list(&self, options: &ListOptions) -> Result<Vec<Value>, ApiError> {
        let filters = &options.filters;
        filters.validate(LIST_FILTERS)?;
        for health in filters.get("health") {
            if !super::health::FILTER_VALUES.contains(&health.as_str()) {
                return Err(ApiError::invalid(format!(
                    "Unrecognised filter value for health: {health}"
                )));
            }
        }
        for status in filters.get("status") {
            if !STATUSES.contains(&status.as_str()) {
                return Err(ApiError::invalid(format!(
                    "invalid filter 'status={status}'"
                )));
            }
        }
        let mut records: Vec<Record> = self.containers.all().iter().map(|c| c.snapshot()).collect();
        records.sort_by(|a, b| b.created.cmp(&a.created));
        let created_of = |reference: &str| -> Result<String, ApiError> {
            Ok(self.containers.get(reference)?.snapshot().created)
        };
        let before = filters
            .get("before")
            .first()
            .map(|r| created_of(r))
            .transpose()?;
        let since = filters
            .get("since")
            .first()
            .map(|r| created_of(r))
            .transpose()?;
        // Without -a only running containers show, unless a filter asks for others.
        let link_names = super::links::link_names(&records);
        let implicit_all = options.all || filters.contains("status") || filters.contains("exited");
        let mut out = Vec::new();
        for record in records {
            if !implicit_all
                && !record.state.status.is_live()
                && record.state.status != Status::Restarting
            {
                continue;
            }
            if before.as_ref().is_some_and(|b| record.created >= *b)
                || since.as_ref().is_some_and(|s| record.created <= *s)
            {
                continue;
            }
            if !matches_filters(&record, filters, self) {
                continue;
            }
            let rw_size = if options.size {
                self.containers_dir_size(&record)
            } else {
                None
            };
            let mut value = summary(&record, options.size, &rw_size);
            let mut names = vec![record.name.clone()];
            if let Some(links) = link_names.get(&record.id) {
                names.extend(links.iter().cloned());
            }
            value["Names"] = json!(names);
            value["Ports"] = crate::networks::view::summary_ports(&record);
            value["NetworkSettings"] = json!({
                "Networks": crate::networks::view::networks_by_name(&record, &self.networks)
            });
            out.push(value);
            if options.limit.is_some_and(|n| out.len() >= n) {
                break;
            }
        }
        Ok(out)
    }

    fn containers_dir_size(&self, record: &Record) -> Option<u64> {
        let container = self.containers.get(&record.id).ok()?;
        Some(super::remove::dir_size(&container.dir.join("upper")))
    }
}

fn matches_filters(record: &Record, filters: &Filters, engine: &Engine) -> bool {
    let labels = record.config.labels.clone().unwrap_or_default();
    let id_ok = filters.get("id").is_empty()
        || filters
            .get("id")
            .iter()
            .any(|p| record.id.starts_with(p.as_str()));
    let name_ok = filters.get("name").is_empty()
        || filters
            .get("name")
            .iter()
            .any(|n| record.bare_name().contains(n.trim_start_matches('/')));
    let status_ok = filters.matches("status", record.state.status.as_str());
    let health_ok = filters.matches("health", health_status(record));
    let exited_ok = filters.get("exited").is_empty()
        || (record.state.status == Status::Exited
            && filters
                .get("exited")
                .iter()
                .any(|c| c.parse::<i64>().ok() == Some(record.state.exit_code)));
    let ancestor_ok = filters.get("ancestor").is_empty()
        || filters
            .get("ancestor")
            .iter()
            .any(|a| ancestor_matches(engine, record, a));
    // `volume=` names a volume, a bind source, or a destination (moby's rule).
    let volume_ok = filters.get("volume").is_empty()
        || filters.get("volume").iter().any(|v| {
            record.mount_points.iter().any(|m| {
                m.destination == *v
                    || (if m.name.is_empty() {
                        &m.source
                    } else {
                        &m.name
                    }) == v
            })
        });
    id_ok
        && name_ok
        && volume_ok
        && status_ok
        && health_ok
        && exited_ok
        && ancestor_ok
        && filters.matches_labels("label", &labels)
}

fn ancestor_matches(engine: &Engine, record: &Record, wanted: &str) -> bool {
    if record.image_name == wanted
        || record
            .image_id
            .trim_start_matches("sha256:")
            .starts_with(wanted.trim_start_matches("sha256:"))
    {
        return true;
    }
    engine
        .image_store()
        .resolve(wanted)
        .map(|image| image.id.as_str() == record.image_id)
        .unwrap_or(false)
}

/// Parses an `until`/`since` time filter as moby's `GetTimestamp` (unix seconds, a Go
/// duration before now, RFC 3339, a date and time without zone), in unix seconds.
pub(crate) fn parse_time_filter(text: &str) -> Result<i64, ApiError> {
    berth_image::filters::parse_until(text, chrono::Utc::now())
        .map(|t| t.timestamp())
        .map_err(ApiError::invalid)
}

/// docker's `Status` column: `Up 2 minutes`, `Exited (0) 3 seconds ago`, `Created`.
pub fn status_text(record: &Record) -> String {
    let since = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| {
                (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                    .to_std()
                    .unwrap_or(Duration::ZERO)
            })
            .unwrap_or(Duration::ZERO)
    };
    let human = berth_format::units::human_duration;
    match record.state.status {
        Status::Created => "Created".into(),
        Status::Running => match &record.state.health {
            Some(health) => format!(
                "Up {} ({})",
                human(since(&record.state.started_at)),
                health.status.ps_text()
            ),
            None => format!("Up {}", human(since(&record.state.started_at))),
        },
        Status::Paused => format!("Up {} (Paused)", human(since(&record.state.started_at))),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            record.state.exit_code,
            human(since(&record.state.finished_at))
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            record.state.exit_code,
            human(since(&record.state.finished_at))
        ),
        Status::Dead => "Dead".into(),
    }
}

/// The health a container has for `--filter health=`: `none` without a check.
fn health_status(record: &Record) -> &'static str {
    match &record.state.health {
        Some(health) if super::health::Probe::of(&record.config).is_some() => {
            health.status.as_str()
        }
        _ => "none",
    }
}

fn summary(record: &Record, size: bool, rw_size: &Option<u64>) -> Value {
    let mut command = vec![record.path.clone()];
    command.extend(record.args.iter().cloned());
    let created = chrono::DateTime::parse_from_rfc3339(&record.created)
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let network_mode = if record.host_config.network_mode.is_empty() {
        "bridge".to_string()
    } else {
        record.host_config.network_mode.clone()
    };
    let mut value = json!({
        "Id": record.id,
        "Names": [record.name],
        "Image": record.image_name,
        "ImageID": record.image_id,
        "Command": command.join(" "),
        "Created": created,
        "Ports": [],
        "Labels": record.config.labels.clone().unwrap_or_default(),
        "State": record.state.status.as_str(),
        "Status": status_text(record),
        "HostConfig": { "NetworkMode": network_mode },
        "NetworkSettings": { "Networks": {} },
        "Mounts": super::inspect::mount_points(record),
        "Health": {
            "Status": if record.state.status.is_live() { health_status(record) } else { "none" },
            "FailingStreak": record.state.health.as_ref().map_or(0, |h| h.failing_streak),
        },
    });
    if size {
        value["SizeRw"] = json!(rw_size.unwrap_or(0));
        value["SizeRootFs"] = json!(rw_size.unwrap_or(0));
    }
    value
}
