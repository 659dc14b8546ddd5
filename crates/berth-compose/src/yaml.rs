//! Reads one Compose file: YAML (anchors and `<<` merge keys applied) turned into a JSON
//! tree, which the rest of the loader works on. Keys become strings; tags are dropped.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Parses `text` (the contents of `path`).
pub fn parse(path: &Path, text: &str) -> Result<Value> {
    let mut value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| syntax_error(path, &e))?;
    value.apply_merge().map_err(|e| syntax_error(path, &e))?;
    to_json(path, value)
}

fn syntax_error(path: &Path, e: &serde_yaml::Error) -> Error {
    let text = e.to_string();
    match e.location() {
        Some(at) => {
            // serde_yaml appends " at line L column C"; the position is given separately.
            let message = text.split(" at line ").next().unwrap_or(&text).to_string();
            Error::Syntax {
                path: path.to_path_buf(),
                line: at.line(),
                column: at.column(),
                message,
            }
        }
        None => Error::Yaml {
            path: path.to_path_buf(),
            message: text,
        },
    }
}

fn to_json(path: &Path, value: serde_yaml::Value) -> Result<Value> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|v| to_json(path, v))
                .collect::<Result<_>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut out = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => {
                        return Err(Error::Yaml {
                            path: path.to_path_buf(),
                            message: format!("unsupported mapping key {other:?}"),
                        })
                    }
                };
                out.insert(key, to_json(path, value)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => to_json(path, tagged.value)?,
    })
}

/// Renders a scalar the way Compose reads it as a string (`true`, `8080`, `1.5`).
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
