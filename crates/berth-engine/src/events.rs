//! The event bus: every service publishes here, `GET /events` subscribes.
//!
//! Recent events are kept in a bounded ring so that `since` can replay them (dockerd keeps
//! the last 256 as well); live subscribers get a broadcast channel.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use berth_api::types::events::{EventActor, EventMessage};
use berth_api::Filters;
use tokio::sync::broadcast;

/// How many past events `since` can reach.
const HISTORY: usize = 256;
/// Live subscribers further behind than this lose events rather than stall publishers.
const CHANNEL_CAPACITY: usize = 1024;

/// Filter keys `GET /events` accepts, as moby.
pub const FILTER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

pub struct EventBus {
    history: Mutex<VecDeque<EventMessage>>,
    live: broadcast::Sender<EventMessage>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (live, _) = broadcast::channel(CHANNEL_CAPACITY);
        EventBus {
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            live,
        }
    }

    /// Publishes an event of `kind` (container, image, network, volume, daemon, ...).
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        actor_id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let now = chrono::Utc::now();
        let time_nano = now.timestamp_nanos_opt().unwrap_or_default() as i128;
        // Old clients read `status`/`id`/`from`; moby fills them for container and image
        // events only.
        let legacy = matches!(kind, "container" | "image");
        let message = EventMessage {
            status: legacy.then(|| action.to_string()),
            id: legacy.then(|| actor_id.to_string()),
            from: (kind == "container")
                .then(|| attributes.get("image").cloned())
                .flatten(),
            kind: kind.to_string(),
            action: action.to_string(),
            actor: EventActor {
                id: actor_id.to_string(),
                attributes,
            },
            scope: "local".to_string(),
            time: now.timestamp(),
            time_nano,
        };
        // Hold the history lock while broadcasting so a subscriber that snapshots the
        // history and then subscribes sees every event exactly once.
        let mut history = self.history.lock().expect("event history poisoned");
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(message.clone());
        let _ = self.live.send(message);
    }

    pub fn publish_daemon(
        &self,
        action: &str,
        daemon_id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        self.publish("daemon", action, daemon_id, attributes);
    }

    /// Past events newer than `since_nanos` (inclusive) and a receiver for the live ones.
    pub fn subscribe(
        &self,
        since_nanos: Option<i128>,
    ) -> (Vec<EventMessage>, broadcast::Receiver<EventMessage>) {
        let history = self.history.lock().expect("event history poisoned");
        let past = match since_nanos {
            Some(since) => history
                .iter()
                .filter(|e| e.time_nano >= since)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let receiver = self.live.subscribe();
        (past, receiver)
    }

    /// Number of live `/events` listeners (`/info` `NEventsListener`).
    pub fn listener_count(&self) -> usize {
        self.live.receiver_count()
    }
}

/// Whether an event passes the `filters` of a subscriber, with moby's matching rules.
pub fn event_matches(filters: &Filters, event: &EventMessage) -> bool {
    let attrs = &event.actor.attributes;
    let name = attrs.get("name").map(String::as_str).unwrap_or("");
    // `exec_start: sh -c ...` is matched by its base action `exec_start`.
    let base_action = event.action.split(':').next().unwrap_or("").trim();
    let by_id_or_name = |key: &str| {
        let wanted = filters.get(key);
        wanted.is_empty()
            || wanted
                .iter()
                .any(|w| w == name || (!w.is_empty() && event.actor.id.starts_with(w.as_str())))
    };
    let scoped = |key: &str, kind: &str| event.kind != kind || by_id_or_name(key);
    filters.matches("type", &event.kind)
        && (filters.matches("event", &event.action) || filters.matches("event", base_action))
        && filters.matches("scope", &event.scope)
        && filters.matches_labels("label", attrs)
        && scoped("container", "container")
        && scoped("network", "network")
        && scoped("volume", "volume")
        && scoped("daemon", "daemon")
        && (event.kind != "image" && event.kind != "container" || image_matches(filters, event))
        && key_requires_kind(filters, event)
}

/// An `image` filter matches image events by ID or name and container events by the
/// image they run, comparing with and without the tag as moby does.
fn image_matches(filters: &Filters, event: &EventMessage) -> bool {
    let wanted = filters.get("image");
    if wanted.is_empty() {
        return true;
    }
    let attrs = &event.actor.attributes;
    let candidates: Vec<&str> = match event.kind.as_str() {
        "image" => [
            Some(event.actor.id.as_str()),
            attrs.get("name").map(String::as_str),
        ]
        .into_iter()
        .flatten()
        .collect(),
        _ => attrs.get("image").map(String::as_str).into_iter().collect(),
    };
    let strip_tag = |s: &str| -> String {
        match s.rfind(':') {
            Some(i) if !s[i..].contains('/') => s[..i].to_string(),
            _ => s.to_string(),
        }
    };
    wanted.iter().any(|w| {
        candidates
            .iter()
            .any(|c| c == w || strip_tag(c) == *w || c.starts_with(w.as_str()))
    })
}

/// A filter on `container`, `network`, `volume` or `daemon` also restricts the event
/// type: `--filter container=x` must not let image events through.
fn key_requires_kind(filters: &Filters, event: &EventMessage) -> bool {
    let restricting = ["container", "network", "volume", "daemon"];
    let kinds: Vec<&str> = restricting
        .into_iter()
        .filter(|k| filters.contains(k))
        .collect();
    kinds.is_empty() || kinds.contains(&event.kind.as_str()) || filters.contains("type")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn history_replays_since_and_live_continues() {
        let bus = EventBus::new();
        bus.publish("container", "create", "abc", attrs(&[("name", "web")]));
        let (past, mut live) = bus.subscribe(Some(0));
        assert_eq!(past.len(), 1);
        bus.publish("container", "start", "abc", attrs(&[("name", "web")]));
        let next = live.try_recv().unwrap();
        assert_eq!(next.action, "start");
        assert_eq!(next.status.as_deref(), Some("start"));
    }

    #[test]
    fn filters_like_moby() {
        let bus = EventBus::new();
        bus.publish(
            "container",
            "exec_start: sh -c true",
            "abcdef",
            attrs(&[
                ("name", "web"),
                ("image", "busybox:latest"),
                ("tier", "front"),
            ]),
        );
        let (past, _) = bus.subscribe(Some(0));
        let e = &past[0];
        let f = |raw: &str| event_matches(&Filters::parse(raw).unwrap(), e);
        assert!(f(r#"{"event":["exec_start"]}"#));
        assert!(f(r#"{"container":["web"]}"#));
        assert!(f(r#"{"container":["abc"]}"#));
        assert!(!f(r#"{"container":["db"]}"#));
        assert!(f(r#"{"image":["busybox"]}"#));
        assert!(f(r#"{"label":["tier=front"]}"#));
        assert!(!f(r#"{"type":["image"]}"#));
        assert!(!f(r#"{"network":["n1"]}"#));
    }
}
