//! Heredocs in `RUN`, `COPY` and `ADD`: `<<EOF`, `<<-EOF` (leading tabs stripped),
//! `<<"EOF"`/`<<'EOF'` (no expansion of the body).

use crate::error::BuildError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// Variables in the body are expanded (the delimiter was not quoted).
    pub expand: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Marker {
    name: String,
    strip_tabs: bool,
    quoted: bool,
}

/// The heredoc markers in an instruction's arguments, in order.
pub(super) fn markers(args: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    let bytes = args.as_bytes();
    let mut i = 0;
    while i + 2 < bytes.len() + 1 {
        if bytes.get(i) == Some(&b'<') && bytes.get(i + 1) == Some(&b'<') {
            let mut j = i + 2;
            if bytes.get(j) == Some(&b'<') {
                // `<<<` is a here-string for the shell, not a heredoc.
                i += 3;
                continue;
            }
            let strip_tabs = bytes.get(j) == Some(&b'-');
            if strip_tabs {
                j += 1;
            }
            let quote = match bytes.get(j) {
                Some(q @ (b'"' | b'\'')) => {
                    j += 1;
                    Some(*q)
                }
                _ => None,
            };
            let start = j;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
            if j > start {
                let name = args[start..j].to_string();
                if let Some(q) = quote {
                    if bytes.get(j) == Some(&q) {
                        j += 1;
                    }
                }
                out.push(Marker {
                    name,
                    strip_tabs,
                    quoted: quote.is_some(),
                });
            }
            i = j.max(i + 2);
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a heredoc body starting at `lines[index]`; returns it and the index after its
/// terminator.
pub(super) fn read_body(
    lines: &[&str],
    mut index: usize,
    marker: Marker,
) -> Result<(Heredoc, usize), BuildError> {
    let mut content = String::new();
    while index < lines.len() {
        let line = lines[index];
        index += 1;
        let line = if marker.strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if line == marker.name {
            return Ok((
                Heredoc {
                    name: marker.name,
                    content,
                    expand: !marker.quoted,
                },
                index,
            ));
        }
        content.push_str(line);
        content.push('\n');
    }
    Err(BuildError::syntax(format!(
        "unterminated heredoc {}: no line \"{}\" ends it",
        marker.name, marker.name
    )))
}
