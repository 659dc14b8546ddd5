//! Query-string values as moby reads them.

use crate::error::ApiError;

/// moby's `httputils.BoolValue`: empty, `0`, `no`, `false` and `none` are false (any case),
/// everything else is true.
pub fn parse_bool(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "no" | "false" | "none"
    )
}

/// A strict integer parameter: `name` appears in the error so the client knows which one.
pub fn parse_i64(name: &str, value: &str) -> Result<i64, ApiError> {
    value.trim().parse::<i64>().map_err(|_| {
        ApiError::invalid(format!(
            "invalid value for {name}: {value:?}: strconv.ParseInt: parsing {value:?}: invalid syntax"
        ))
    })
}

/// Parses a `since`/`until` timestamp: unix seconds with optional fraction, as the CLI
/// sends them. Returns nanoseconds since the epoch.
pub fn parse_timestamp(name: &str, value: &str) -> Result<i128, ApiError> {
    let bad = || ApiError::invalid(format!("invalid value for {name}: {value:?}"));
    let (secs, frac) = match value.split_once('.') {
        Some((s, f)) => (s, f),
        None => (value, ""),
    };
    let secs: i128 = secs.parse().map_err(|_| bad())?;
    let mut nanos: i128 = 0;
    if !frac.is_empty() {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        nanos = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    }
    Ok(secs * 1_000_000_000 + nanos)
}

/// Go's `time.ParseDuration`: a sequence of number+unit (`ns us µs ms s m h`), optional
/// sign. Returns nanoseconds; `None` when the text is not a duration. Docker accepts
/// these wherever it takes a relative time (`--since 10m`, `until=24h`).
pub fn parse_go_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return None;
        }
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * scale;
    }
    Some(if negative {
        -total as i64
    } else {
        total as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_like_moby() {
        for t in ["1", "true", "True", "yes", "x"] {
            assert!(parse_bool(t), "{t}");
        }
        for f in ["", "0", "no", "FALSE", "none"] {
            assert!(!parse_bool(f), "{f}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10m"), Some(600_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("-2s"), Some(-2_000_000_000));
        assert_eq!(parse_go_duration("12"), None);
        assert_eq!(parse_go_duration("abc"), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("since", "12").unwrap(), 12_000_000_000);
        assert_eq!(parse_timestamp("since", "1.5").unwrap(), 1_500_000_000);
        assert!(parse_timestamp("since", "abc").is_err());
    }
}
