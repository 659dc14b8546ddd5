//! The Dockerfile parser: parser directives, comments, line continuations, heredocs and
//! leading `--flags`, into one [`Node`] per instruction with the line it starts on.
//! Arguments are kept as written; expansion happens when the step runs, with the
//! environment of that moment.

mod directives;
mod heredoc;

pub use directives::Directives;
pub use heredoc::Heredoc;

use crate::error::BuildError;

/// One instruction as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// First line of the instruction (1-based).
    pub line: usize,
    /// The instruction name, lower case (`run`).
    pub keyword: String,
    /// Leading `--name[=value]` flags, as written.
    pub flags: Vec<String>,
    /// The rest of the instruction, continuations joined.
    pub args: String,
    /// The instruction as docker prints it in `Step n/m : ...`.
    pub original: String,
    /// Heredocs opened on this line, in order.
    pub heredocs: Vec<Heredoc>,
}

impl Node {
    /// The value of flag `--name` (`Some("")` for a bare `--name`).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().rev().find_map(|flag| {
            let body = flag.strip_prefix("--")?;
            match body.split_once('=') {
                Some((n, v)) if n == name => Some(v),
                None if body == name => Some(""),
                _ => None,
            }
        })
    }

    /// Fails on a flag outside `allowed`, with docker's message.
    pub fn check_flags(&self, allowed: &[&str]) -> Result<(), BuildError> {
        for flag in &self.flags {
            let name = flag
                .trim_start_matches('-')
                .split('=')
                .next()
                .unwrap_or_default();
            if !allowed.contains(&name) {
                return Err(BuildError::syntax(format!("Unknown flag: {name}")).at_line(self.line));
            }
        }
        Ok(())
    }

    /// `["a", "b"]` exec form when the arguments are a JSON array of strings.
    pub fn json_args(&self) -> Option<Vec<String>> {
        json_array(&self.args)
    }
}

/// Parses a JSON array of strings (the exec form).
pub fn json_array(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    if !text.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(text).ok()
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Dockerfile {
    pub directives: Directives,
    pub nodes: Vec<Node>,
}

/// Instructions that may carry heredocs.
const HEREDOC_KEYWORDS: &[&str] = &["run", "copy", "add"];

pub fn parse(text: &str) -> Result<Dockerfile, BuildError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let (directives, mut index) = directives::read(&lines)?;
    let escape = directives.escape;
    let mut nodes = Vec::new();
    while index < lines.len() {
        let line = lines[index];
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            index += 1;
            continue;
        }
        let start = index;
        let mut logical = String::new();
        let mut current = trimmed.to_string();
        index += 1;
        loop {
            match strip_continuation(&current, escape) {
                Some(head) => {
                    logical.push_str(head);
                    // Comments and empty lines inside a continuation are dropped.
                    while index < lines.len() {
                        let next = lines[index].trim_start();
                        if next.is_empty() || next.starts_with('#') {
                            index += 1;
                        } else {
                            break;
                        }
                    }
                    if index >= lines.len() {
                        break;
                    }
                    current = lines[index].to_string();
                    index += 1;
                }
                None => {
                    logical.push_str(&current);
                    break;
                }
            }
        }
        let logical = logical.trim().to_string();
        let (word, rest) = match logical.find(char::is_whitespace) {
            Some(at) => (&logical[..at], logical[at..].trim_start()),
            None => (logical.as_str(), ""),
        };
        let keyword = word.to_ascii_lowercase();
        let (flags, args) = split_flags(&keyword, rest);
        let mut node = Node {
            line: start + 1,
            keyword: keyword.clone(),
            flags,
            args: args.to_string(),
            original: logical.clone(),
            heredocs: Vec::new(),
        };
        if HEREDOC_KEYWORDS.contains(&keyword.as_str()) {
            let markers = heredoc::markers(&node.args);
            for marker in markers {
                let (doc, next) =
                    heredoc::read_body(&lines, index, marker).map_err(|e| e.at_line(start + 1))?;
                node.heredocs.push(doc);
                index = next;
            }
        }
        nodes.push(node);
    }
    Ok(Dockerfile { directives, nodes })
}

/// The line without its trailing escape character (and the blanks after it), when the
/// line continues on the next one.
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let head = trimmed.strip_suffix(escape)?;
    Some(head)
}

/// Instructions whose leading `--x` words are flags (others keep them as arguments:
/// `RUN --foo` is refused later as an unknown flag by docker, so RUN is in the list).
const FLAG_KEYWORDS: &[&str] = &["from", "run", "copy", "add", "healthcheck"];

fn split_flags<'a>(keyword: &str, mut rest: &'a str) -> (Vec<String>, &'a str) {
    let mut flags = Vec::new();
    if !FLAG_KEYWORDS.contains(&keyword) {
        return (flags, rest);
    }
    while rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if end == 2 {
            break; // a bare `--` ends the flags
        }
        flags.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    (flags, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_with_lines_comments_and_continuations() {
        let text = "# a comment\nFROM busybox AS base\n\n# another\nRUN echo a \\\n  # inside\n  b\nenv A=1\n";
        let file = parse(text).unwrap();
        assert_eq!(file.nodes.len(), 3);
        assert_eq!(file.nodes[0].line, 2);
        assert_eq!(file.nodes[0].keyword, "from");
        assert_eq!(file.nodes[0].args, "busybox AS base");
        assert_eq!(file.nodes[1].line, 5);
        assert_eq!(file.nodes[1].args, "echo a   b");
        assert_eq!(file.nodes[2].keyword, "env");
        assert_eq!(file.nodes[2].line, 8);
    }

    #[test]
    fn escape_directive_changes_the_continuation() {
        let text = "# escape=`\nFROM busybox\nRUN dir c:\\ `\n  && echo x\n";
        let file = parse(text).unwrap();
        assert_eq!(file.directives.escape, '`');
        assert_eq!(file.nodes[1].args, "dir c:\\   && echo x");
    }

    #[test]
    fn flags_are_split_off() {
        let file = parse("COPY --from=build --chown=1:2 /a /b\nCMD --not-a-flag\n").unwrap();
        assert_eq!(file.nodes[0].flags, vec!["--from=build", "--chown=1:2"]);
        assert_eq!(file.nodes[0].flag("from"), Some("build"));
        assert_eq!(file.nodes[0].args, "/a /b");
        assert!(file.nodes[1].flags.is_empty());
        assert!(file.nodes[0].check_flags(&["from"]).is_err());
    }

    #[test]
    fn heredocs() {
        let text = "FROM busybox\nRUN <<EOF\necho hi\necho $HOME\nEOF\nCOPY <<-\"A\" <<B /dst/\n\tone\n\tA\ntwo\nB\nCMD x\n";
        let file = parse(text).unwrap();
        assert_eq!(file.nodes.len(), 4);
        let run = &file.nodes[1];
        assert_eq!(run.heredocs.len(), 1);
        assert_eq!(run.heredocs[0].content, "echo hi\necho $HOME\n");
        assert!(run.heredocs[0].expand);
        let copy = &file.nodes[2];
        assert_eq!(copy.heredocs[0].name, "A");
        assert_eq!(copy.heredocs[0].content, "one\n");
        assert!(!copy.heredocs[0].expand);
        assert_eq!(copy.heredocs[1].content, "two\n");
        assert_eq!(file.nodes[3].line, 11);
    }

    #[test]
    fn unterminated_heredoc_names_its_line() {
        let err = parse("FROM busybox\nRUN <<EOF\necho\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn json_form() {
        let file = parse("CMD [\"a\", \"b c\"]\nCMD [bad\n").unwrap();
        assert_eq!(
            file.nodes[0].json_args(),
            Some(vec!["a".into(), "b c".into()])
        );
        assert_eq!(file.nodes[1].json_args(), None);
    }
}
