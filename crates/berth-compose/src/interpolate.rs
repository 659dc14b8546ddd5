//! Variable substitution in string values: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$`
//! for a literal `$`. Defaults may themselves hold substitutions. Keys are never touched.

use serde_json::Value;

use crate::error::{Error, Result};

/// Where variables come from, and where warnings about unset ones go.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
    fn warn_unset(&self, name: &str);
}

/// Substitutes every string below `value`; `path` names the place in errors
/// (`services.web.image`).
pub fn tree(value: &mut Value, path: &str, env: &dyn Lookup) -> Result<()> {
    match value {
        Value::String(s) if s.contains('$') => {
            *s = string(s, path, env)?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                tree(item, &format!("{path}[{i}]"), env)?;
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                tree(item, &child, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Substitutes the variables of one string.
pub fn string(text: &str, path: &str, env: &dyn Lookup) -> Result<String> {
    let bad = || Error::BadInterpolation {
        path: path.to_string(),
        text: text.to_string(),
    };
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(offset) = text[i..].find('$') else {
            out.push_str(&text[i..]);
            break;
        };
        out.push_str(&text[i..i + offset]);
        i += offset + 1;
        match bytes.get(i) {
            Some(b'$') => {
                out.push('$');
                i += 1;
            }
            Some(b'{') => {
                let end = matching_brace(text, i).ok_or_else(bad)?;
                let inner = &text[i + 1..end];
                out.push_str(&braced(inner, path, env).map_err(|e| match e {
                    Error::BadInterpolation { .. } => bad(),
                    other => other,
                })?);
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let len = text[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(text.len() - i);
                out.push_str(&value_of(&text[i..i + len], env));
                i += len;
            }
            // A lone `$` (end of text, or before a character no name starts with).
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// The index of the `}` closing the `{` at `open`, counting nested `${...}`.
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn value_of(name: &str, env: &dyn Lookup) -> String {
    match env.get(name) {
        Some(v) => v,
        None => {
            env.warn_unset(name);
            String::new()
        }
    }
}

fn braced(inner: &str, path: &str, env: &dyn Lookup) -> Result<String> {
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let name = &inner[..name_len];
    let bad = || Error::BadInterpolation {
        path: path.to_string(),
        text: inner.to_string(),
    };
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err(bad());
    }
    let rest = &inner[name_len..];
    if rest.is_empty() {
        return Ok(value_of(name, env));
    }
    let value = env.get(name);
    let (colon, op, arg) = match rest.strip_prefix(':') {
        Some(r) => (true, r.chars().next(), r.get(1..).unwrap_or("")),
        None => (false, rest.chars().next(), rest.get(1..).unwrap_or("")),
    };
    // With `:`, an empty value counts as unset.
    let set = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match op {
        Some('-') => {
            if set {
                Ok(value.unwrap_or_default())
            } else {
                string(arg, path, env)
            }
        }
        Some('+') => {
            if set {
                string(arg, path, env)
            } else {
                Ok(String::new())
            }
        }
        Some('?') => {
            if set {
                Ok(value.unwrap_or_default())
            } else {
                Err(Error::RequiredVariable {
                    path: path.to_string(),
                    variable: name.to_string(),
                    message: string(arg, path, env)?,
                })
            }
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Env(BTreeMap<&'static str, &'static str>);
    impl Lookup for Env {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
        fn warn_unset(&self, _: &str) {}
    }

    fn env() -> Env {
        Env(BTreeMap::from([("A", "a"), ("EMPTY", "")]))
    }

    fn sub(text: &str) -> Result<String> {
        string(text, "x", &env())
    }

    #[test]
    fn forms() {
        assert_eq!(sub("$A ${A} $${A} $$").unwrap(), "a a ${A} $");
        assert_eq!(
            sub("${EMPTY:-d} ${EMPTY-d} ${NO-d} ${NO:-d}").unwrap(),
            "d  d d"
        );
        assert_eq!(sub("${A:+y}${EMPTY:+y}${EMPTY+z}").unwrap(), "yz");
        assert_eq!(sub("${NO:-${A}-x}").unwrap(), "a-x");
        assert_eq!(sub("pre$A.post").unwrap(), "prea.post");
        assert_eq!(sub("$NO").unwrap(), "");
    }

    #[test]
    fn required() {
        let e = sub("${NO:?set NO please}").unwrap_err().to_string();
        assert!(
            e.contains("required variable NO is missing a value: set NO please"),
            "{e}"
        );
        assert!(sub("${EMPTY?x}").is_ok());
        assert!(sub("${EMPTY:?x}").is_err());
    }

    #[test]
    fn malformed() {
        for text in ["${A", "$", "${}", "${1A}", "${A!x}", "a $ b"] {
            assert!(sub(text).is_err(), "{text}");
        }
    }
}
