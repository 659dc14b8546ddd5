//! Docker's JSON progress messages (`jsonmessage.JSONMessage`) for pull and push, sent
//! through a callback the engine turns into the response stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where progress messages go. Cheap to clone; callable from any thread.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(Value) + Send + Sync>);

impl Progress {
    pub fn new(sink: impl Fn(Value) + Send + Sync + 'static) -> Progress {
        Progress(Arc::new(sink))
    }

    /// A sink that drops everything.
    pub fn none() -> Progress {
        Progress::new(|_| {})
    }

    pub fn send(&self, message: Value) {
        (self.0)(message)
    }

    /// `{"status": "..."}`.
    pub fn line(&self, status: impl Into<String>) {
        self.send(json!({ "status": status.into() }));
    }

    /// `{"status": "...", "id": "..."}` (a header line such as `Pulling from x`).
    pub fn line_id(&self, id: &str, status: impl Into<String>) {
        self.send(json!({ "status": status.into(), "id": id }));
    }

    /// A layer's state change: `{"status": "Pull complete", "progressDetail": {}, "id": ...}`.
    pub fn layer(&self, id: &str, status: &str) {
        self.send(json!({ "status": status, "progressDetail": {}, "id": id }));
    }

    /// A layer's progress bar update.
    pub fn bar(&self, id: &str, status: &str, current: u64, total: u64) {
        self.send(json!({
            "status": status,
            "progressDetail": { "current": current, "total": total },
            "progress": bar_text(current, total),
            "id": id,
        }));
    }

    /// `{"progressDetail": {}, "aux": {...}}`.
    pub fn aux(&self, aux: Value) {
        self.send(json!({ "progressDetail": {}, "aux": aux }));
    }
}

/// Sends bar updates at most every 100 ms (plus the last one), as docker's progress
/// reader does, so a fast download does not flood the client.
pub struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle { last: None }
    }

    pub fn ready(&mut self) -> bool {
        let now = Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < Duration::from_millis(100) => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new()
    }
}

/// `[=====>      ]  1.234MB/5.678MB`, docker's 50-column bar.
pub fn bar_text(current: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    let mut out = String::new();
    if let Some(filled) = (current.min(total) * WIDTH).checked_div(total) {
        let filled = filled as usize;
        out.push('[');
        if filled > 0 {
            out.push_str(&"=".repeat(filled - 1));
            out.push('>');
        }
        out.push_str(&" ".repeat(WIDTH as usize - filled));
        out.push_str("] ");
        out.push_str(&format!("{:>8}/{}", human_size(current), human_size(total)));
    } else {
        out.push_str(&format!("{:>8}", human_size(current)));
    }
    out
}

/// go-units `HumanSize`: decimal units, 4 significant digits (`1.234MB`, `512B`).
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < units.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    // %.4g: four significant digits, trailing zeros trimmed.
    let digits = if size >= 100.0 {
        1
    } else if size >= 10.0 {
        2
    } else {
        3
    };
    let text = if unit == 0 {
        format!("{}", bytes)
    } else {
        let t = format!("{:.*}", digits, size);
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    format!("{text}{}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1_234_567), "1.235MB");
        assert_eq!(human_size(10_000_000), "10MB");
        let bar = bar_text(50, 100);
        assert!(bar.starts_with("[========================>"), "{bar}");
        assert_eq!(bar.find(']'), Some(51));
        assert_eq!(bar_text(0, 100).find(']'), Some(51));
        assert_eq!(bar_text(100, 100).find(']'), Some(51));
    }
}
