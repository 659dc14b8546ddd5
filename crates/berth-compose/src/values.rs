//! Readers for the value shapes Compose allows: strings or lists, lists of `K=V` or maps,
//! sizes, durations, booleans written as strings; each error names its place.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{invalid, Result};
use crate::yaml::scalar_string;

pub fn string(value: &Value, place: &str) -> Result<String> {
    scalar_string(value)
        .ok_or_else(|| invalid(place, format!("must be a string, not {}", kind(value))))
}

pub fn opt_string(value: Option<&Value>, place: &str) -> Result<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string(v, place).map(Some),
    }
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

pub fn object<'a>(value: &'a Value, place: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| invalid(place, format!("must be a mapping, not {}", kind(value))))
}

/// Refuses keys outside `known` (extension keys `x-*` are allowed anywhere).
pub fn check_keys(map: &Map<String, Value>, known: &[&str], place: &str) -> Result<()> {
    for key in map.keys() {
        if !known.contains(&key.as_str()) && !key.starts_with("x-") {
            return Err(crate::error::Error::UnknownKey {
                place: place.to_string(),
                key: key.clone(),
            });
        }
    }
    Ok(())
}

/// A string or a list of strings, as a list.
pub fn string_list(value: Option<&Value>, place: &str) -> Result<Vec<String>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| string(v, &format!("{place}[{i}]")))
            .collect(),
        Some(v) => Ok(vec![string(v, place)?]),
    }
}

/// A list of `KEY=VALUE` (or bare `KEY`) or a mapping; `None` for a key without value.
pub fn key_values(value: Option<&Value>, place: &str) -> Result<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let text = string(item, &format!("{place}[{i}]"))?;
                match text.split_once('=') {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(text, None),
                };
            }
        }
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let v = match v {
                    Value::Null => None,
                    other => Some(string(other, &format!("{place}.{k}"))?),
                };
                out.insert(k.clone(), v);
            }
        }
        Some(other) => {
            return Err(invalid(
                place,
                format!("must be a mapping or a list, not {}", kind(other)),
            ))
        }
    }
    Ok(out)
}

/// Like `key_values`, with missing values as empty strings (labels, sysctls, options).
pub fn string_map(value: Option<&Value>, place: &str) -> Result<BTreeMap<String, String>> {
    Ok(key_values(value, place)?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

pub fn bool_value(value: Option<&Value>, place: &str) -> Result<Option<bool>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" | "1" => Ok(Some(true)),
            "false" | "no" | "n" | "off" | "0" => Ok(Some(false)),
            _ => Err(invalid(place, format!("{s:?} is not a boolean"))),
        },
        Some(other) => Err(invalid(
            place,
            format!("must be a boolean, not {}", kind(other)),
        )),
    }
}

pub fn int_value(value: Option<&Value>, place: &str) -> Result<Option<i64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(place, format!("{n} is not an integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(place, format!("{s:?} is not an integer"))),
        Some(other) => Err(invalid(
            place,
            format!("must be an integer, not {}", kind(other)),
        )),
    }
}

pub fn float_value(value: Option<&Value>, place: &str) -> Result<Option<f64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(place, format!("{s:?} is not a number"))),
        Some(other) => Err(invalid(
            place,
            format!("must be a number, not {}", kind(other)),
        )),
    }
}

/// Bytes from an integer or a size string (`512m`, `1g`, `1024k`).
pub fn size(value: Option<&Value>, place: &str) -> Result<Option<i64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(place, format!("{n} is not a size"))),
        Some(Value::String(s)) => berth_format::units::ram_in_bytes(s)
            .map(Some)
            .map_err(|e| invalid(place, format!("{s:?} is not a size: {e}"))),
        Some(other) => Err(invalid(
            place,
            format!("must be a size, not {}", kind(other)),
        )),
    }
}

/// A Go duration (`10s`, `1m30s`), checked and kept as written.
pub fn duration(value: Option<&Value>, place: &str) -> Result<Option<String>> {
    let Some(text) = opt_string(value, place)? else {
        return Ok(None);
    };
    // A bare number is seconds in old files.
    if text.chars().all(|c| c.is_ascii_digit()) {
        return Ok(Some(format!("{text}s")));
    }
    berth_api::query::parse_go_duration(&text).ok_or_else(|| {
        invalid(
            place,
            format!("{text:?} is not a duration (like 10s or 1m30s)"),
        )
    })?;
    Ok(Some(text))
}

/// Nanoseconds of a checked duration.
pub fn nanos(text: &str) -> i64 {
    berth_api::query::parse_go_duration(text).unwrap_or(0)
}

/// A command: a list as is, a string split like a POSIX shell does.
pub fn command(value: Option<&Value>, place: &str) -> Result<Option<Vec<String>>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(_)) => string_list(value, place).map(Some),
        Some(v) => {
            let text = string(v, place)?;
            shell_split(&text)
                .map(Some)
                .ok_or_else(|| invalid(place, format!("unbalanced quotes in {text:?}")))
        }
    }
}

/// Splits words like `sh` does (quotes and backslashes), no expansion.
pub fn shell_split(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            '\n' => {}
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => word.push(c),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// `path` made absolute against `base`, with `.` and `..` folded and `~` expanded.
pub fn absolute(base: &Path, path: &str) -> PathBuf {
    let joined = if let Some(rest) = path.strip_prefix('~') {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
        PathBuf::from(format!("{home}{rest}"))
    } else {
        base.join(path)
    };
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert_eq!(
            shell_split(r#"sh -c 'echo "a b"' "x\"y" z\ w"#).unwrap(),
            vec!["sh", "-c", "echo \"a b\"", "x\"y", "z w"]
        );
        assert!(shell_split("'open").is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(
            absolute(Path::new("/a/b"), "./c/../d"),
            PathBuf::from("/a/b/d")
        );
        assert_eq!(absolute(Path::new("/a/b"), "/x"), PathBuf::from("/x"));
    }
}
