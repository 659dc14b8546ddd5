//! Stages of a Dockerfile and which of them a build needs: the target stage and the
//! stages it names in `FROM` or `COPY --from` (transitively). Others are skipped.

use crate::error::BuildError;
use crate::parser::{Dockerfile, Node};

/// Every instruction the builder knows.
pub const KEYWORDS: &[&str] = &[
    "from",
    "run",
    "cmd",
    "entrypoint",
    "env",
    "arg",
    "label",
    "maintainer",
    "user",
    "workdir",
    "volume",
    "expose",
    "stopsignal",
    "healthcheck",
    "shell",
    "onbuild",
    "copy",
    "add",
];

#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    /// `AS name`, lower case.
    pub name: Option<String>,
    /// The `FROM` line.
    pub from: Node,
    /// The base as written (may hold `$ARG`s from before the first FROM).
    pub base: String,
    /// The instructions after FROM.
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// `ARG`s before the first `FROM`.
    pub meta_args: Vec<Node>,
    pub stages: Vec<Stage>,
}

impl Plan {
    pub fn new(file: &Dockerfile) -> Result<Plan, BuildError> {
        if file.nodes.is_empty() {
            return Err(BuildError::syntax(
                "the Dockerfile (Dockerfile) cannot be empty",
            ));
        }
        let mut meta_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for node in &file.nodes {
            if !KEYWORDS.contains(&node.keyword.as_str()) {
                let word = node.original.split_whitespace().next().unwrap_or_default();
                return Err(BuildError::Parse {
                    line: node.line,
                    message: format!("unknown instruction: {}", word.to_uppercase()),
                });
            }
            check_arguments(node)?;
            if node.keyword == "from" {
                node.check_flags(&["platform"])?;
                let words: Vec<&str> = node.args.split_whitespace().collect();
                let name = match words.as_slice() {
                    [_] => None,
                    [_, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
                        let name = name.to_ascii_lowercase();
                        if !valid_stage_name(&name) {
                            return Err(BuildError::Parse {
                                line: node.line,
                                message: format!("invalid name for build stage: \"{name}\", name can't start with a number or contain symbols"),
                            });
                        }
                        if stages
                            .iter()
                            .any(|s| s.name.as_deref() == Some(name.as_str()))
                        {
                            return Err(BuildError::Parse {
                                line: node.line,
                                message: format!("duplicate name {name}"),
                            });
                        }
                        Some(name)
                    }
                    _ => {
                        return Err(BuildError::Parse {
                            line: node.line,
                            message: "FROM requires either one or three arguments".into(),
                        })
                    }
                };
                stages.push(Stage {
                    index: stages.len(),
                    name,
                    from: node.clone(),
                    base: words[0].to_string(),
                    nodes: Vec::new(),
                });
                continue;
            }
            match stages.last_mut() {
                Some(stage) => stage.nodes.push(node.clone()),
                None if node.keyword == "arg" => meta_args.push(node.clone()),
                None => {
                    return Err(BuildError::Parse {
                        line: node.line,
                        message: "no build stage in current context".into(),
                    })
                }
            }
        }
        Ok(Plan { meta_args, stages })
    }

    /// The index of a stage by name or number, among stages before `before`.
    pub fn stage_ref(&self, name: &str, before: usize) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(stage) = self.stages[..before]
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(stage.index);
        }
        match name.parse::<usize>() {
            Ok(n) if n < before => Some(n),
            _ => None,
        }
    }

    /// The stages a build of `target` (default: the last) runs, in order.
    pub fn needed(&self, target: Option<&str>) -> Result<Vec<usize>, BuildError> {
        let last = match target.filter(|t| !t.is_empty()) {
            None => self.stages.len() - 1,
            Some(t) => {
                let lower = t.to_ascii_lowercase();
                self.stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(lower.as_str()))
                    .ok_or_else(|| {
                        BuildError::syntax(format!(
                            "failed to reach build target {t} in Dockerfile"
                        ))
                    })?
            }
        };
        let mut needed = vec![false; last + 1];
        needed[last] = true;
        for index in (0..=last).rev() {
            if !needed[index] {
                continue;
            }
            let stage = &self.stages[index];
            if let Some(dep) = self.stage_ref(&stage.base, index) {
                needed[dep] = true;
            }
            for node in &stage.nodes {
                if let Some(from) = node
                    .flag("from")
                    .filter(|_| node.keyword == "copy" || node.keyword == "add")
                {
                    if let Some(dep) = self.stage_ref(from, index) {
                        needed[dep] = true;
                    }
                }
            }
        }
        Ok((0..=last).filter(|i| needed[*i]).collect())
    }
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// Argument counts docker checks while parsing, with its messages.
fn check_arguments(node: &Node) -> Result<(), BuildError> {
    let name = node.keyword.to_uppercase();
    let empty = node.args.trim().is_empty() && node.heredocs.is_empty();
    let fail = |message: String| {
        Err(BuildError::Parse {
            line: node.line,
            message,
        })
    };
    match node.keyword.as_str() {
        "copy" | "add" => {
            let count = node
                .json_args()
                .map(|a| a.len())
                .unwrap_or_else(|| node.args.split_whitespace().count());
            if count < 2 {
                return fail(format!("{name} requires at least two arguments"));
            }
        }
        "cmd" | "entrypoint" | "shell" => {
            if node.keyword == "shell" && node.json_args().is_none() {
                return fail("SHELL requires the arguments to be in JSON form".into());
            }
        }
        "run" => {
            if empty {
                return fail("RUN requires at least one argument".into());
            }
        }
        "stopsignal" | "user" | "workdir" | "maintainer" => {
            if node.args.split_whitespace().count() != 1 && node.keyword != "maintainer" {
                return fail(format!("{name} requires exactly one argument"));
            }
            if empty {
                return fail(format!("{name} requires exactly one argument"));
            }
        }
        "healthcheck" => {
            if empty {
                return fail("HEALTHCHECK requires at least one argument".into());
            }
        }
        _ => {
            if empty {
                return fail(format!("{name} requires at least one argument"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn plan(text: &str) -> Result<Plan, BuildError> {
        Plan::new(&parse(text).unwrap())
    }

    #[test]
    fn stages_and_needed() {
        let p = plan("ARG V=1\nFROM busybox AS a\nRUN x\nFROM busybox AS b\nRUN y\nFROM a\nCOPY --from=b /x /x\nFROM busybox AS unused\n").unwrap();
        assert_eq!(p.meta_args.len(), 1);
        assert_eq!(p.stages.len(), 4);
        assert_eq!(p.needed(None).unwrap(), vec![3]);
        assert_eq!(p.needed(Some("b")).unwrap(), vec![1]);
        let p2 =
            plan("FROM busybox AS a\nFROM busybox AS b\nFROM a\nCOPY --from=b /x /x\n").unwrap();
        assert_eq!(p2.needed(None).unwrap(), vec![0, 1, 2]);
        assert!(p2.needed(Some("nope")).is_err());
    }

    #[test]
    fn errors_name_the_line() {
        let err = plan("FROM busybox\nFOO bar\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dockerfile parse error line 2: unknown instruction: FOO"
        );
        let err = plan("FROM busybox\n\nENV\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dockerfile parse error line 3: ENV requires at least one argument"
        );
        let err = plan("RUN x\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = plan("FROM a b\n").unwrap_err();
        assert!(err.to_string().contains("one or three"), "{err}");
        assert!(plan("FROM busybox\nCOPY x\n").is_err());
    }
}
