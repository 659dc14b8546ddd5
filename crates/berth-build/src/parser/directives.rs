//! Parser directives (`# escape=`, `# syntax=`, `# check=`): only at the very top of the
//! file, before any comment, blank line or instruction.

use crate::error::BuildError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub escape: char,
    /// `# syntax=`: a BuildKit frontend image. The classic builder ignores it.
    pub syntax: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
        }
    }
}

/// Reads the directives; returns them and the index of the first line after them.
pub(super) fn read(lines: &[&str]) -> Result<(Directives, usize), BuildError> {
    let mut directives = Directives::default();
    let mut seen: Vec<String> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some((name, value)) = directive(lines[index]) else {
            break;
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return Err(BuildError::Parse {
                line: index + 1,
                message: format!("only one {name} parser directive can be used"),
            });
        }
        match name.as_str() {
            "escape" => {
                directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(BuildError::Parse {
                            line: index + 1,
                            message: format!(
                                "invalid escape token '{other}' does not match ` or \\"
                            ),
                        })
                    }
                }
            }
            "syntax" => directives.syntax = Some(value.to_string()),
            // `check` and unknown directives: recognised as directives, no effect.
            _ => {}
        }
        seen.push(name);
        index += 1;
    }
    Ok((directives, index))
}

/// `# name=value`.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let (name, value) = rest.split_once('=')?;
    let name = name.trim_end();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((name, value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_only_at_the_top() {
        let (d, next) = read(&["# syntax=docker/dockerfile:1", "# escape=`", "FROM x"]).unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(next, 2);
        let (d, next) = read(&["# hello", "# escape=`"]).unwrap();
        assert_eq!(d.escape, '\\');
        assert_eq!(next, 0);
        assert!(read(&["# escape=x"]).is_err());
        assert!(read(&["# escape=`", "# escape=\\"]).is_err());
    }
}
