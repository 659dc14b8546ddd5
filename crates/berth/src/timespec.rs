//! `--since`/`--until` values as docker accepts them: a Go duration relative to now
//! (`10m`, `1h30m`), a unix timestamp (`1700000000.5`), or an RFC 3339 date or prefix of
//! one (`2026-11-25`, `2026-11-25T10:00:00`, `...Z`, `...+01:00`). The daemon receives
//! `seconds.nanoseconds`.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

pub fn to_api_timestamp(value: &str, now: DateTime<Utc>) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    // "0" is the epoch, not a zero duration, as docker's GetTimestamp decides.
    if let Some(nanos) = berth_api::query::parse_go_duration(value).filter(|_| value != "0") {
        let at = now - chrono::Duration::nanoseconds(nanos);
        return Ok(format_timestamp(at));
    }
    if is_unix_timestamp(value) {
        return Ok(value.to_string());
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(format_timestamp(at.with_timezone(&Utc)));
    }
    let local = |naive: NaiveDateTime| {
        Local
            .from_local_datetime(&naive)
            .single()
            .map(|t| format_timestamp(t.with_timezone(&Utc)))
    };
    for layout in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(value, layout) {
            if let Some(ts) = local(naive) {
                return Ok(ts);
            }
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        if let Some(ts) = date.and_hms_opt(0, 0, 0).and_then(local) {
            return Ok(ts);
        }
    }
    Err(format!(
        "failed to parse value as time or duration: \"{value}\""
    ))
}

fn format_timestamp(at: DateTime<Utc>) -> String {
    format!("{}.{:09}", at.timestamp(), at.timestamp_subsec_nanos())
}

fn is_unix_timestamp(value: &str) -> bool {
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    !secs.is_empty()
        && secs.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let now = Utc.timestamp_opt(1_000_000, 0).unwrap();
        assert_eq!(to_api_timestamp("10s", now).unwrap(), "999990.000000000");
        assert_eq!(to_api_timestamp("1700000000", now).unwrap(), "1700000000");
        assert_eq!(to_api_timestamp("0", now).unwrap(), "0");
        assert_eq!(
            to_api_timestamp("2020-01-01T00:00:00Z", now).unwrap(),
            "1577836800.000000000"
        );
        assert!(to_api_timestamp("yesterday", now).is_err());
    }
}
