//! `.env` and `env_file` files: `KEY=VALUE` lines, `#` comments, optional `export `,
//! single quotes (literal), double quotes (with `\n` escapes), and bare `KEY` which takes
//! the value from the environment when it is set there.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

pub type Env = BTreeMap<String, String>;

/// `KEY=VALUE` entries in file order; `None` for a bare key with no value anywhere.
pub type Entries = Vec<(String, Option<String>)>;

/// Reads `path`; `lookup` resolves bare keys (`KEY` alone on a line).
pub fn read(path: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Entries> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, lookup).map_err(|(line, message)| {
        Error::EnvFile(format!("{}: line {line}: {message}", path.display()))
    })
}

/// Parses env-file text; a bare key missing from `lookup` gives `(key, None)`.
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<Entries, (usize, String)> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            if line.contains(char::is_whitespace) {
                return Err((n + 1, format!("variable {line:?} contains whitespace")));
            }
            out.push((line.to_string(), lookup(line)));
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err((n + 1, format!("invalid variable name {key:?}")));
        }
        out.push((key.to_string(), Some(unquote(value.trim_start()))));
    }
    Ok(out)
}

fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'') {
        if let Some(end) = inner.find('\'') {
            return inner[..end].to_string();
        }
    }
    if let Some(inner) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return out,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                },
                c => out.push(c),
            }
        }
        return format!("\"{out}");
    }
    // An unquoted value ends at ` #` (an inline comment).
    let value = match value.find(" #") {
        Some(at) => &value[..at],
        None => value,
    };
    value.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let text = "# c\nA=1\nexport B = two \nC='x # y'\nD=\"a\\nb\"\nE=v # note\nF\nG\n";
        let lookup = |k: &str| (k == "F").then(|| "from-env".to_string());
        let got = parse(text, &lookup).unwrap();
        assert_eq!(
            got,
            vec![
                ("A".into(), Some("1".into())),
                ("B".into(), Some("two".into())),
                ("C".into(), Some("x # y".into())),
                ("D".into(), Some("a\nb".into())),
                ("E".into(), Some("v".into())),
                ("F".into(), Some("from-env".into())),
                ("G".into(), None),
            ]
        );
    }
}
