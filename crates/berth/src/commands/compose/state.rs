//! What the daemon has of a project: its containers (found by label), parsed once.

use serde_json::Value;

use super::labels;
use crate::client::{self, encode, Client};

#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub service: String,
    pub number: u32,
    pub oneoff: bool,
    pub hash: String,
    pub image_label: String,
    /// `created`, `running`, `paused`, `exited`, ...
    pub state: String,
    pub summary: Value,
}

impl Container {
    fn from_summary(v: Value) -> Container {
        let label = |k: &str| {
            v.pointer(&format!("/Labels/{}", k.replace('/', "~1")))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let name = v
            .get("Names")
            .and_then(|n| n.get(0))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_start_matches('/')
            .to_string();
        Container {
            id: v
                .get("Id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            name,
            service: label(labels::SERVICE),
            number: label(labels::NUMBER).parse().unwrap_or(0),
            oneoff: label(labels::ONEOFF) == "True",
            hash: label(labels::HASH),
            image_label: label(labels::IMAGE),
            state: v
                .get("State")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            summary: v,
        }
    }

    pub fn running(&self) -> bool {
        self.state == "running" || self.state == "restarting"
    }
}

/// The project's containers (`all`: also stopped ones), by service then number.
pub async fn containers(
    client: &mut Client,
    project: &str,
    all: bool,
) -> client::Result<Vec<Container>> {
    let filters = serde_json::json!({"label": [format!("{}={project}", labels::PROJECT)]});
    let path = format!(
        "/containers/json?all={}&filters={}",
        u8::from(all),
        encode(&filters.to_string())
    );
    let list = client.get_json(&path).await?;
    let mut out: Vec<Container> = list
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(Container::from_summary)
        .collect();
    out.sort_by(|a, b| {
        (a.oneoff, &a.service, a.number, &a.name).cmp(&(b.oneoff, &b.service, b.number, &b.name))
    });
    Ok(out)
}

/// Only the containers of `services` (all when empty), without one-off containers
/// unless `oneoff`.
pub fn of_services(list: Vec<Container>, services: &[String], oneoff: bool) -> Vec<Container> {
    list.into_iter()
        .filter(|c| oneoff || !c.oneoff)
        .filter(|c| services.is_empty() || services.contains(&c.service))
        .collect()
}
