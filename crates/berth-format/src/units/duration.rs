//! Durations for docker's CREATED and STATUS columns (`2 hours ago`,
//! `Up About a minute`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// go-units `HumanDuration`: `Less than a second`, `1 second`,
/// `N seconds`, `About a minute`, `N minutes`, `About an hour`, `N hours`
/// (hours rounded, below 48), `N days` (below two weeks), `N weeks`
/// (below two months of 30 days), `N months` (below two years), `N years`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let seconds = secs as i64;
    if seconds < 1 {
        return "Less than a second".to_string();
    }
    if seconds == 1 {
        return "1 second".to_string();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = (secs / 60.0) as i64;
    if minutes == 1 {
        return "About a minute".to_string();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (secs / 3600.0 + 0.5) as i64;
    if hours == 1 {
        return "About an hour".to_string();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (secs / 3600.0) as i64 / 24 / 365)
}

/// docker's relative time column for a unix timestamp: `2 hours ago`
/// (`HumanDuration(time.Now().UTC().Sub(created)) + " ago"`).
pub fn time_ago(unix_secs: i64) -> String {
    time_ago_at(unix_secs, SystemTime::now())
}

/// [`time_ago`] against a given "now"; a timestamp in the future (clock
/// skew) reads `Less than a second ago`, as in docker.
pub fn time_ago_at(unix_secs: i64, now: SystemTime) -> String {
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    let elapsed = now - unix_secs as f64;
    let d = Duration::try_from_secs_f64(elapsed).unwrap_or(Duration::ZERO);
    format!("{} ago", human_duration(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings printed by go-units `HumanDuration`.
    #[test]
    fn matches_go_units() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "Less than a second"),
            (ms(999), "Less than a second"),
            (s(1), "1 second"),
            (ms(1500), "1 second"),
            (s(59), "59 seconds"),
            (s(60), "About a minute"),
            (s(119), "About a minute"),
            (s(120), "2 minutes"),
            (s(3599), "59 minutes"),
            (s(3600), "About an hour"),
            (s(89 * 60), "About an hour"),
            (s(90 * 60), "2 hours"),
            (s(47 * 3600), "47 hours"),
            (s(47 * 3600 + 31 * 60), "2 days"),
            (s(48 * 3600), "2 days"),
            (s(13 * 86400), "13 days"),
            (s(14 * 86400), "2 weeks"),
            (s(59 * 86400), "8 weeks"),
            (s(60 * 86400), "2 months"),
            (s(729 * 86400), "24 months"),
            (s(730 * 86400), "2 years"),
            (s(3 * 365 * 86400), "3 years"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(*d), *want, "{d:?}");
        }
    }

    #[test]
    fn ago_from_timestamps() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(time_ago_at(1_700_000_000 - 7200, now), "2 hours ago");
        assert_eq!(
            time_ago_at(1_700_000_000 + 50, now),
            "Less than a second ago"
        );
        assert_eq!(time_ago_at(1_700_000_000 - 90, now), "About a minute ago");
    }
}
