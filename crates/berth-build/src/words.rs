//! Word expansion as the Dockerfile reference describes it: `$VAR`, `${VAR}`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?msg}`, with
//! single quotes (literal), double quotes (expansion, no splitting) and the escape
//! character (`\` or the one set by `# escape=`).

use crate::error::BuildError;

/// Looks a variable up; `None` when it is not set.
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn lookup(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// A word processor for one Dockerfile (its escape character).
#[derive(Debug, Clone, Copy)]
pub struct Lexer {
    pub escape: char,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer { escape: '\\' }
    }
}

impl Lexer {
    pub fn new(escape: char) -> Lexer {
        Lexer { escape }
    }

    /// Expands `text` as one word: quotes removed, nothing split.
    pub fn expand(&self, text: &str, env: &dyn Lookup) -> Result<String, BuildError> {
        Ok(self.process(text, env, false)?.join(""))
    }

    /// Expands `text` and splits it on unquoted whitespace.
    pub fn expand_words(&self, text: &str, env: &dyn Lookup) -> Result<Vec<String>, BuildError> {
        self.process(text, env, true)
    }

    fn process(
        &self,
        text: &str,
        env: &dyn Lookup,
        split: bool,
    ) -> Result<Vec<String>, BuildError> {
        let chars: Vec<char> = text.chars().collect();
        let mut scan = Scan {
            chars: &chars,
            pos: 0,
            escape: self.escape,
            env,
        };
        let mut words = Vec::new();
        let mut current = String::new();
        // A word that is only `""` still counts.
        let mut started = false;
        while let Some(c) = scan.peek() {
            if split && c.is_whitespace() {
                scan.pos += 1;
                if started {
                    words.push(std::mem::take(&mut current));
                    started = false;
                }
                continue;
            }
            started = true;
            match c {
                '\'' => {
                    scan.pos += 1;
                    current.push_str(&scan.single_quoted()?);
                }
                '"' => {
                    scan.pos += 1;
                    current.push_str(&scan.double_quoted()?);
                }
                '$' => {
                    scan.pos += 1;
                    current.push_str(&scan.variable()?);
                }
                c if c == self.escape => {
                    scan.pos += 1;
                    match scan.next() {
                        Some(next) => current.push(next),
                        // A trailing escape stays as written.
                        None => current.push(c),
                    }
                }
                c => {
                    scan.pos += 1;
                    current.push(c);
                }
            }
        }
        if started || !split {
            words.push(current);
        }
        Ok(words)
    }
}

struct Scan<'a> {
    chars: &'a [char],
    pos: usize,
    escape: char,
    env: &'a dyn Lookup,
}

impl Scan<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn single_quoted(&mut self) -> Result<String, BuildError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => {
                    return Err(BuildError::syntax(
                        "unexpected end of statement while looking for matching single-quote",
                    ))
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, BuildError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(out),
                Some('$') => out.push_str(&self.variable()?),
                Some(c) if c == self.escape => match self.peek() {
                    Some(next) if next == '"' || next == '$' || next == self.escape => {
                        self.pos += 1;
                        out.push(next);
                    }
                    _ => out.push(c),
                },
                Some(c) => out.push(c),
                None => {
                    return Err(BuildError::syntax(
                        "unexpected end of statement while looking for matching double-quote",
                    ))
                }
            }
        }
    }

    /// After a `$`: a name, `{...}`, or a literal `$`.
    fn variable(&mut self) -> Result<String, BuildError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.braced()
            }
            Some(c) if is_name_char(c) => {
                let name = self.name();
                Ok(self.env.lookup(&name).unwrap_or_default())
            }
            _ => Ok("$".to_string()),
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|c| is_name_char(*c)) {
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn braced(&mut self) -> Result<String, BuildError> {
        let name = self.name();
        if name.is_empty() {
            return Err(BuildError::syntax(
                "bad substitution: missing variable name in ${}",
            ));
        }
        let value = self.env.lookup(&name);
        match self.next() {
            Some('}') => Ok(value.unwrap_or_default()),
            Some(op @ (':' | '-' | '+' | '?')) => {
                let colon = op == ':';
                let op = if colon {
                    self.next().ok_or_else(|| {
                        BuildError::syntax(format!("bad substitution: ${{{name}:"))
                    })?
                } else {
                    op
                };
                let word = self.word_until_brace()?;
                // With `:`, an empty value counts as unset.
                let set = match &value {
                    Some(v) => !(colon && v.is_empty()),
                    None => false,
                };
                match op {
                    '-' => Ok(if set { value.unwrap_or_default() } else { word }),
                    '+' => Ok(if set { word } else { String::new() }),
                    '?' => {
                        if set {
                            Ok(value.unwrap_or_default())
                        } else {
                            let message = if word.is_empty() {
                                "is not allowed to be unset".to_string()
                            } else {
                                word
                            };
                            Err(BuildError::syntax(format!("{name}: {message}")))
                        }
                    }
                    other => Err(BuildError::syntax(format!(
                        "unsupported modifier ({other}) in substitution"
                    ))),
                }
            }
            Some(other) => Err(BuildError::syntax(format!(
                "unsupported modifier ({other}) in substitution"
            ))),
            None => Err(BuildError::syntax(format!(
                "missing '}}' in substitution of {name}"
            ))),
        }
    }

    /// The word after a modifier, up to the closing brace, itself expanded.
    fn word_until_brace(&mut self) -> Result<String, BuildError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('}') => return Ok(out),
                Some('$') => out.push_str(&self.variable()?),
                Some('\'') => out.push_str(&self.single_quoted()?),
                Some('"') => out.push_str(&self.double_quoted()?),
                Some(c) if c == self.escape => {
                    if let Some(next) = self.next() {
                        out.push(next);
                    }
                }
                Some(c) => out.push(c),
                None => return Err(BuildError::syntax("missing '}' in substitution")),
            }
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("apple".into()),
            "EMPTY" => Some(String::new()),
            "SP" => Some("a b".into()),
            _ => None,
        }
    }

    fn ex(text: &str) -> String {
        Lexer::default().expand(text, &env).unwrap()
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(ex("$A"), "apple");
        assert_eq!(ex("${A}s"), "apples");
        assert_eq!(ex("x$NOPE-y"), "x-y");
        assert_eq!(ex("cost: $"), "cost: $");
        assert_eq!(ex("$A$A"), "appleapple");
    }

    #[test]
    fn modifiers() {
        assert_eq!(ex("${NOPE:-dflt}"), "dflt");
        assert_eq!(ex("${EMPTY:-dflt}"), "dflt");
        assert_eq!(ex("${EMPTY-dflt}"), "");
        assert_eq!(ex("${A:-dflt}"), "apple");
        assert_eq!(ex("${A:+alt}"), "alt");
        assert_eq!(ex("${NOPE:+alt}"), "");
        assert_eq!(ex("${EMPTY:+alt}"), "");
        assert_eq!(ex("${EMPTY+alt}"), "alt");
        assert_eq!(ex("${NOPE:-$A}"), "apple");
        assert!(Lexer::default()
            .expand("${NOPE:?must be set}", &env)
            .is_err());
        assert!(Lexer::default().expand("${A", &env).is_err());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(ex("'$A'"), "$A");
        assert_eq!(ex("\"$A b\""), "apple b");
        assert_eq!(ex("\\$A"), "$A");
        assert_eq!(ex("\"\\$A\""), "$A");
        assert_eq!(ex("\"a\\nb\""), "a\\nb");
        assert_eq!(ex("a\\ b"), "a b");
        assert_eq!(Lexer::new('`').expand("`$A", &env).unwrap(), "$A");
        assert!(Lexer::default().expand("'open", &env).is_err());
    }

    #[test]
    fn words_split_on_unquoted_space() {
        let lexer = Lexer::default();
        assert_eq!(
            lexer
                .expand_words("a \"b c\" 'd e' f\\ g $A", &env)
                .unwrap(),
            vec!["a", "b c", "d e", "f g", "apple"]
        );
        assert_eq!(
            lexer.expand_words("  ", &env).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(lexer.expand_words("\"\"", &env).unwrap(), vec![""]);
    }
}
