//! Sizes: decimal (`kB`, `MB`) for disk and network figures, binary
//! (`KiB`, `MiB`) for memory, and the parsers for `--memory 512m` style
//! flags.

use crate::gofmt::{float, quote::quote};

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// A size string go-units would reject, with go-units' message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    /// `invalid size: 'xyz'`
    #[error("invalid size: '{0}'")]
    InvalidSize(String),
    /// `invalid suffix: 'x'`
    #[error("invalid suffix: '{0}'")]
    InvalidSuffix(String),
    /// The number part did not parse: Go's `strconv.ParseFloat` error.
    #[error("strconv.ParseFloat: parsing {}: {reason}", quote(.input, false))]
    Number { input: String, reason: &'static str },
}

/// Divides by `base` until below it (or out of units).
fn scale(mut size: f64, base: f64, units: &[&'static str; 9]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// Decimal size with 3 significant digits, as docker prints image, container
/// and transfer sizes (`HumanSizeWithPrecision(size, 3)`): `0B`, `5B`,
/// `1kB`, `1.23MB`, and go-units' own `1e+03kB` for 999999.
pub fn human_size(size: f64) -> String {
    human_size_with_precision(size, 3)
}

/// Decimal size with `precision` significant digits (`%.*g`). go-units'
/// `HumanSize`, used by `docker system df` and prune totals, is precision 4.
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    let (size, unit) = scale(size, 1000.0, &DECIMAL_UNITS);
    format!("{}{unit}", float::format(size, 'g', Some(precision)))
}

/// Binary size with 4 significant digits (`units.BytesSize`), as docker
/// stats prints memory: `1.5GiB`, `976.6KiB`.
pub fn bytes_size(size: f64) -> String {
    let (size, unit) = scale(size, 1024.0, &BINARY_UNITS);
    format!("{}{unit}", float::format(size, 'g', Some(4)))
}

/// Decimal size string to bytes (`units.FromHumanSize`): `"32kB"` → 32000.
pub fn from_human_size(s: &str) -> Result<i64, UnitsError> {
    parse_size(s, 1000)
}

/// Memory size string to bytes (`units.RAMInBytes`), binary multiples,
/// case-insensitive, optional `b`/`ib`: `"512m"` → 536870912,
/// `"1.5g"` → 1610612736.
pub fn ram_in_bytes(s: &str) -> Result<i64, UnitsError> {
    parse_size(s, 1024)
}

fn parse_float(num: &str) -> Result<f64, UnitsError> {
    let err = |reason| UnitsError::Number {
        input: num.to_string(),
        reason,
    };
    // Rust also reads `inf`, `nan` and friends; Go's ParseFloat would too,
    // but never sees them here since the number ends in a digit or `.`.
    let letters = num
        .chars()
        .any(|c| c.is_alphabetic() && c != 'e' && c != 'E');
    if num.is_empty() || num.contains('_') || letters {
        return Err(err("invalid syntax"));
    }
    match num.parse::<f64>() {
        Ok(f) if f.is_infinite() => Err(err("value out of range")),
        Ok(f) => Ok(f),
        Err(_) => Err(err("invalid syntax")),
    }
}

fn parse_size(s: &str, base: i64) -> Result<i64, UnitsError> {
    let (num, sfx) = match s.split_once(' ') {
        Some(parts) => parts,
        None => {
            let Some(sep) = s.rfind(|c: char| c.is_ascii_digit() || c == '.') else {
                return Err(UnitsError::InvalidSize(s.to_string()));
            };
            (&s[..=sep], &s[sep + 1..])
        }
    };
    let mut size = parse_float(num)?;
    if size < 0.0 {
        return Err(UnitsError::InvalidSize(s.to_string()));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    if sfx.len() > 3 {
        return Err(UnitsError::InvalidSuffix(sfx.to_string()));
    }
    let lower = sfx.to_lowercase();
    let bad = || Err(UnitsError::InvalidSuffix(lower.clone()));
    let mut chars = lower.chars();
    let exp = match chars.next() {
        Some('b') if lower.len() == 1 => return Ok(size as i64),
        Some('b') => return bad(),
        Some('k') => 1,
        Some('m') => 2,
        Some('g') => 3,
        Some('t') => 4,
        Some('p') => 5,
        _ => return bad(),
    };
    size *= base.pow(exp) as f64;
    match chars.as_str() {
        "" | "b" | "ib" => Ok(size as i64),
        _ => bad(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values printed by go-units (`HumanSizeWithPrecision(s, 3)`,
    /// `HumanSize(s)`, `BytesSize(s)`).
    #[test]
    fn sizes_match_go_units() {
        let cases: &[(f64, &str, &str, &str)] = &[
            (0.0, "0B", "0B", "0B"),
            (5.0, "5B", "5B", "5B"),
            (999.0, "999B", "999B", "999B"),
            (1000.0, "1kB", "1kB", "1000B"),
            (1234.0, "1.23kB", "1.234kB", "1.205KiB"),
            (999999.0, "1e+03kB", "1000kB", "976.6KiB"),
            (1e6, "1MB", "1MB", "976.6KiB"),
            (1234567.0, "1.23MB", "1.235MB", "1.177MiB"),
            (12345678.0, "12.3MB", "12.35MB", "11.77MiB"),
            (123456789.0, "123MB", "123.5MB", "117.7MiB"),
            (1e9, "1GB", "1GB", "953.7MiB"),
            (1.5e12, "1.5TB", "1.5TB", "1.364TiB"),
            (2.5e15, "2.5PB", "2.5PB", "2.22PiB"),
            (1e18, "1EB", "1EB", "888.2PiB"),
            (1e24, "1YB", "1YB", "847ZiB"),
            (1e27, "1e+03YB", "1000YB", "827.2YiB"),
            (1e30, "1e+06YB", "1e+06YB", "8.272e+05YiB"),
            (-5.0, "-5B", "-5B", "-5B"),
            (0.5, "0.5B", "0.5B", "0.5B"),
            (999.5, "1e+03B", "999.5B", "999.5B"),
            (4096.0, "4.1kB", "4.096kB", "4KiB"),
        ];
        for &(size, p3, p4, binary) in cases {
            assert_eq!(human_size(size), p3, "{size}");
            assert_eq!(human_size_with_precision(size, 4), p4, "{size}");
            assert_eq!(bytes_size(size), binary, "{size}");
        }
    }

    /// Expected values and errors printed by go-units `RAMInBytes` and
    /// `FromHumanSize`.
    #[test]
    fn parsing_matches_go_units() {
        let ok: &[(&str, i64, i64)] = &[
            ("512m", 536870912, 512000000),
            ("1g", 1073741824, 1000000000),
            ("100k", 102400, 100000),
            ("1.5g", 1610612736, 1500000000),
            ("1.5G", 1610612736, 1500000000),
            ("32", 32, 32),
            ("32b", 32, 32),
            ("32B", 32, 32),
            ("32kb", 32768, 32000),
            ("32Kb", 32768, 32000),
            ("32KiB", 32768, 32000),
            ("32 kib", 32768, 32000),
            ("32 MB", 33554432, 32000000),
            ("1e3k", 1024000, 1000000),
            (".5k", 512, 500),
            ("5.", 5, 5),
            ("10 ", 10, 10),
            ("5TB", 5497558138880, 5000000000000),
            ("1PiB", 1125899906842624, 1000000000000000),
        ];
        for &(s, ram, human) in ok {
            assert_eq!(ram_in_bytes(s), Ok(ram), "{s}");
            assert_eq!(from_human_size(s), Ok(human), "{s}");
        }
        let bad: &[(&str, &str)] = &[
            ("1 2 3", "invalid suffix: '2 3'"),
            ("xyz", "invalid size: 'xyz'"),
            (
                "1.2.3m",
                "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax",
            ),
            ("-5m", "invalid size: '-5m'"),
            ("5mbb", "invalid suffix: 'mbb'"),
            ("5x", "invalid suffix: 'x'"),
            (
                "5kib ",
                "strconv.ParseFloat: parsing \"5kib\": invalid syntax",
            ),
            ("", "invalid size: ''"),
            (
                "1e400",
                "strconv.ParseFloat: parsing \"1e400\": value out of range",
            ),
            (" 10", "strconv.ParseFloat: parsing \"\": invalid syntax"),
            ("10iB", "invalid suffix: 'ib'"),
            (
                "0x10",
                "strconv.ParseFloat: parsing \"0x10\": invalid syntax",
            ),
        ];
        for &(s, msg) in bad {
            assert_eq!(ram_in_bytes(s).unwrap_err().to_string(), msg, "{s}");
            assert_eq!(from_human_size(s).unwrap_err().to_string(), msg, "{s}");
        }
    }
}
