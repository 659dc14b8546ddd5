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
    fn timestamps() {
        assert_eq!(parse_timestamp("since", "12").unwrap(), 12_000_000_000);
        assert_eq!(parse_timestamp("since", "1.5").unwrap(), 1_500_000_000);
        assert!(parse_timestamp("since", "abc").is_err());
    }
}
