//! `.dockerignore`: docker's pattern rules. One pattern a line, `#` comments, `!` marks an
//! exception; `*` and `?` do not cross `/`, `**` matches any number of folders; a pattern
//! that matches a folder excludes everything in it; the last matching pattern wins.

use regex::Regex;

use crate::error::BuildError;

#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    exclusion: bool,
}

/// The compiled patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
    /// Some pattern is an exception: a folder that matches may still hold files to keep.
    has_exceptions: bool,
}

impl IgnoreRules {
    /// Reads the file's text.
    pub fn parse(text: &str) -> Result<IgnoreRules, BuildError> {
        let lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        IgnoreRules::new(&lines)
    }

    pub fn new(lines: &[String]) -> Result<IgnoreRules, BuildError> {
        let mut patterns = Vec::new();
        for line in lines {
            let (exclusion, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line.as_str()),
            };
            let cleaned = clean(body);
            if cleaned.is_empty() {
                continue;
            }
            let regex = compile(&cleaned).map_err(|e| {
                BuildError::context(format!("invalid .dockerignore pattern {line:?}: {e}"))
            })?;
            patterns.push(Pattern { regex, exclusion });
        }
        let has_exceptions = patterns.iter().any(|p| p.exclusion);
        Ok(IgnoreRules {
            patterns,
            has_exceptions,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn has_exceptions(&self) -> bool {
        self.has_exceptions
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded.
    pub fn excludes(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        let parents: Vec<&str> = path.match_indices('/').map(|(at, _)| &path[..at]).collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only a pattern that would change the outcome needs checking.
            if pattern.exclusion != excluded {
                continue;
            }
            let hit = pattern.regex.is_match(path)
                || parents.iter().any(|parent| pattern.regex.is_match(parent));
            if hit {
                excluded = !pattern.exclusion;
            }
        }
        excluded
    }
}

/// Go's `filepath.Clean`, then without a leading `/`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    let mut out = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    // `**/` : zero or more folders.
                    i += 1;
                    out.push_str("(.*/)?");
                } else {
                    out.push_str(".*");
                }
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                let mut j = i + 1;
                let mut class = String::from("[");
                if chars.get(j) == Some(&'^') || chars.get(j) == Some(&'!') {
                    class.push('^');
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    if chars[j] == '\\' && j + 1 < chars.len() {
                        class.push_str(&regex::escape(&chars[j + 1].to_string()));
                        j += 2;
                        continue;
                    }
                    if chars[j] == '[' || chars[j] == '&' || chars[j] == '~' {
                        class.push('\\');
                    }
                    class.push(chars[j]);
                    j += 1;
                }
                class.push(']');
                out.push_str(&class);
                i = j;
            }
            '\\' if i + 1 < chars.len() => {
                i += 1;
                out.push_str(&regex::escape(&chars[i].to_string()));
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
    out.push('$');
    Regex::new(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).unwrap()
    }

    #[test]
    fn simple_patterns_and_folders() {
        let r = rules("# comment\n*.log\ntmp\n/build/\n");
        assert!(r.excludes("a.log"));
        assert!(!r.excludes("dir/a.log"), "* does not cross folders");
        assert!(
            r.excludes("tmp/x/y"),
            "a matched folder excludes its content"
        );
        assert!(r.excludes("build/out"));
        assert!(!r.excludes("src/main.rs"));
    }

    #[test]
    fn double_star() {
        let r = rules("**/*.o\nsrc/**/gen\n");
        assert!(r.excludes("a.o"));
        assert!(r.excludes("x/y/z.o"));
        assert!(r.excludes("src/gen"));
        assert!(r.excludes("src/a/b/gen/file"));
        assert!(!r.excludes("src/a/b/gen2"));
    }

    #[test]
    fn exceptions_last_match_wins() {
        let r = rules("*.md\n!README.md\n");
        assert!(r.excludes("CHANGES.md"));
        assert!(!r.excludes("README.md"));
        let r = rules("!README.md\n*.md\n");
        assert!(r.excludes("README.md"));
        let r = rules("docs\n!docs/keep.txt\n");
        assert!(r.excludes("docs/other"));
        assert!(!r.excludes("docs/keep.txt"));
        assert!(r.has_exceptions());
    }

    #[test]
    fn question_mark_classes_and_escapes() {
        let r = rules("file?.txt\n[ab].c\nlit\\*\n");
        assert!(r.excludes("file1.txt"));
        assert!(!r.excludes("file10.txt"));
        assert!(r.excludes("a.c"));
        assert!(!r.excludes("c.c"));
        assert!(r.excludes("lit*"));
        assert!(!r.excludes("litx"));
    }

    #[test]
    fn leading_dot_slash_and_cleaning() {
        let r = rules("./a/../b\n");
        assert!(r.excludes("b"));
        assert!(r.excludes("./b/c"));
    }
}
