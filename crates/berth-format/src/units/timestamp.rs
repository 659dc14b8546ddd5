//! Absolute times as docker prints them in `CreatedAt` columns: Go's
//! `time.Unix(secs, 0).String()`, `2006-01-02 15:04:05 -0700 MST`, in the
//! local zone.
//!
//! chrono finds the local offset; the zone abbreviation (`CET`, `UTC`) is
//! read from the TZif file Go would load, since chrono does not expose it.

use std::path::PathBuf;

use chrono::{FixedOffset, Local, TimeZone};

/// `time.Unix(unix_secs, 0).String()` in the local zone.
pub fn go_time_string(unix_secs: i64) -> String {
    let offset = Local
        .timestamp_opt(unix_secs, 0)
        .single()
        .map_or(0, |t| t.offset().local_minus_utc());
    let zone = local_zone_file()
        .and_then(|data| abbreviation(&data, offset))
        .unwrap_or_else(|| numeric_zone(offset, offset == 0));
    go_time_string_at(unix_secs, offset, &zone)
}

/// `time.Unix(unix_secs, 0).String()` at a fixed offset (seconds east of
/// UTC) with the given zone abbreviation.
pub fn go_time_string_at(unix_secs: i64, offset_secs: i32, zone: &str) -> String {
    let offset = FixedOffset::east_opt(offset_secs).unwrap_or(FixedOffset::east_opt(0).unwrap());
    match offset.timestamp_opt(unix_secs, 0).single() {
        Some(t) => format!("{} {zone}", t.format("%Y-%m-%d %H:%M:%S %z")),
        None => format!("{unix_secs} {zone}"),
    }
}

/// Go's name for a zone without an abbreviation: `UTC` for UTC, else
/// the offset as in tzdata (`+03`, `-0330`).
fn numeric_zone(offset: i32, utc: bool) -> String {
    if utc {
        return "UTC".to_string();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (
        offset.unsigned_abs() / 3600,
        offset.unsigned_abs() / 60 % 60,
    );
    if m == 0 {
        format!("{sign}{h:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// The TZif data Go's `time.Local` is loaded from: `$TZ` when set (empty
/// meaning UTC), else `/etc/localtime`.
fn local_zone_file() -> Option<Vec<u8>> {
    let path = match std::env::var("TZ") {
        Err(_) => PathBuf::from("/etc/localtime"),
        Ok(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(&tz).to_string();
            if tz.is_empty() || tz == "UTC" {
                return None;
            }
            if tz.starts_with('/') {
                PathBuf::from(tz)
            } else {
                [
                    "/usr/share/zoneinfo",
                    "/usr/share/lib/zoneinfo",
                    "/etc/zoneinfo",
                ]
                .iter()
                .map(|dir| PathBuf::from(dir).join(&tz))
                .find(|p| p.is_file())?
            }
        }
    };
    std::fs::read(path).ok()
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The abbreviation of the zone type with this UTC offset, preferring the
/// most recently used one (the version-1 block of a TZif file lists all
/// types and transitions).
fn abbreviation(data: &[u8], offset: i32) -> Option<String> {
    if data.get(..4)? != b"TZif" {
        return None;
    }
    let count = |i: usize| be32(data, 20 + 4 * i).map(|n| n as usize);
    let (timecnt, typecnt, charcnt) = (count(3)?, count(4)?, count(5)?);
    let indexes = 44 + timecnt * 4;
    let types = indexes + timecnt;
    let chars = types + typecnt * 6;
    let names = data.get(chars..chars + charcnt)?;
    let type_at = |t: usize| -> Option<(i32, String)> {
        let base = types + t * 6;
        let utoff = be32(data, base)? as i32;
        let idx = *data.get(base + 5)? as usize;
        let name = names.get(idx..)?.split(|b| *b == 0).next()?;
        Some((utoff, String::from_utf8_lossy(name).into_owned()))
    };
    let recent = data
        .get(indexes..types)?
        .iter()
        .rev()
        .filter_map(|t| type_at(*t as usize));
    let all = (0..typecnt).rev().filter_map(type_at);
    recent
        .chain(all)
        .find(|(utoff, _)| *utoff == offset)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go: `time.Unix(1700000000, 0).In(loc).String()`.
    #[test]
    fn formats_like_go_time_string() {
        assert_eq!(
            go_time_string_at(1_700_000_000, 0, "UTC"),
            "2023-11-14 22:13:20 +0000 UTC"
        );
        assert_eq!(
            go_time_string_at(1_700_000_000, 3600, "CET"),
            "2023-11-14 23:13:20 +0100 CET"
        );
        assert_eq!(
            go_time_string_at(1_700_000_000, -3 * 3600 - 1800, "-0330"),
            "2023-11-14 18:43:20 -0330 -0330"
        );
        assert_eq!(numeric_zone(10800, false), "+03");
        assert_eq!(numeric_zone(-12600, false), "-0330");
    }

    /// A minimal TZif v1 file: types CET (+1h) and CEST (+2h), transitions
    /// using CEST then CET.
    #[test]
    fn reads_abbreviations_from_tzif() {
        let mut f = b"TZif2".to_vec();
        f.resize(20, 0);
        for n in [0u32, 0, 0, 2, 2, 10] {
            f.extend(n.to_be_bytes());
        }
        f.extend(0u32.to_be_bytes());
        f.extend(100u32.to_be_bytes());
        f.extend([1, 0]);
        f.extend(3600i32.to_be_bytes());
        f.extend([0, 0]);
        f.extend(7200i32.to_be_bytes());
        f.extend([1, 4]);
        f.extend(b"CET\0CEST\0\0");
        assert_eq!(abbreviation(&f, 3600).as_deref(), Some("CET"));
        assert_eq!(abbreviation(&f, 7200).as_deref(), Some("CEST"));
        assert_eq!(abbreviation(&f, 0), None);
        if let Ok(utc) = std::fs::read("/usr/share/zoneinfo/Etc/UTC") {
            assert_eq!(abbreviation(&utc, 0).as_deref(), Some("UTC"));
        }
    }
}
