//! Filter value helpers shared by image list and prune: booleans, `until`/`before`
//! timestamps, and Go's `path.Match` globs for `reference=`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// `strconv.ParseBool`.
pub fn truthy(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A timestamp as docker's `until` filter accepts it: a Go duration before `now`
/// (`24h`, `1h30m`), RFC 3339, `YYYY-MM-DDTHH:MM:SS`, `YYYY-MM-DD`, or Unix seconds
/// with optional fraction.
pub fn parse_until(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if value != "0" {
        if let Some(nanos) = berth_api::query::parse_go_duration(value) {
            return Ok(now - chrono::Duration::nanoseconds(nanos));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    for layout in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, layout) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists")));
    }
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    if let Ok(secs) = secs.parse::<i64>() {
        if frac.bytes().all(|b| b.is_ascii_digit()) && frac.len() <= 9 {
            let nanos = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<9}").parse::<u32>().unwrap_or(0)
            };
            if let Some(t) = Utc.timestamp_opt(secs, nanos).single() {
                return Ok(t);
            }
        }
    }
    Err(format!(
        "failed to parse value as time or duration: {value:?}"
    ))
}

/// Go's `path.Match`: `*` and `?` do not cross `/`; `[...]` classes with ranges and `^`;
/// `\` escapes. A malformed pattern matches nothing.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, chars consumed including ']')
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            let lo = *p.get(i)?;
            if lo == ']' && !first {
                i += 1;
                break;
            }
            first = false;
            let lo = if lo == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                lo
            };
            i += 1;
            let mut hi = lo;
            if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&c| c != ']') {
                i += 1;
                hi = *p.get(i)?;
                if hi == '\\' {
                    i += 1;
                    hi = *p.get(i)?;
                }
                i += 1;
            }
            if lo <= c && c <= hi {
                matched = true;
            }
        }
        Some((matched != negate, i))
    }
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => {
                let rest = &p[1..];
                for i in 0..=s.len() {
                    if go(rest, &s[i..]) {
                        return true;
                    }
                    if i < s.len() && s[i] == '/' {
                        break;
                    }
                }
                false
            }
            Some('?') => !s.is_empty() && s[0] != '/' && go(&p[1..], &s[1..]),
            Some('[') => {
                let Some(&c) = s.first() else { return false };
                if c == '/' {
                    return false;
                }
                match class(&p[1..], c) {
                    Some((true, used)) => go(&p[1 + used..], &s[1..]),
                    _ => false,
                }
            }
            Some('\\') => match p.get(1) {
                Some(&lit) => s.first() == Some(&lit) && go(&p[2..], &s[1..]),
                None => false,
            },
            Some(&lit) => s.first() == Some(&lit) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    go(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_forms() {
        let now = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
        assert_eq!(
            parse_until("1h30m", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 6, 1, 10, 30, 0).unwrap()
        );
        assert_eq!(
            parse_until("2024-01-01", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_until("2024-01-01T10:00:00Z", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 1, 1, 10, 0, 0).unwrap()
        );
        assert_eq!(
            parse_until("1700000000", now).unwrap().timestamp(),
            1_700_000_000
        );
        assert!(parse_until("yesterday", now).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("busy*", "busybox"));
        assert!(glob_match("busybox:*", "busybox:latest"));
        assert!(!glob_match("*", "library/busybox"));
        assert!(glob_match("*/*", "user/app"));
        assert!(glob_match("b?sy[a-z]ox", "busybox"));
        assert!(!glob_match("b[^u]sybox", "busybox"));
    }

    #[test]
    fn bools() {
        assert_eq!(truthy("true"), Some(true));
        assert_eq!(truthy("0"), Some(false));
        assert_eq!(truthy("yes"), None);
    }
}
