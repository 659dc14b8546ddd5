//! Splits template source into tokens with Go's `text/template` rules.
//!
//! The token kinds, trim markers (`{{- ` and ` -}}`), comment handling and
//! error texts follow Go's lexer so that parse errors read the same. The
//! whole input is tokenised up front; a lexing error becomes the last token,
//! which the parser reports only when it reaches it, as Go's lazy lexer does.

use crate::gofmt::quote::{quote, quote_prefix, unicode_notation};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Ident,
    Field,
    Variable,
    Dot,
    Bool,
    Nil,
    Number,
    CharConst,
    Str,
    RawStr,
    /// Any other printable ASCII character inside an action (`,`, `}`...).
    Char,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    Eof,
    Error,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Tok,
    pub pos: usize,
    pub val: String,
}

impl Token {
    /// How Go's parse errors show a token (`EOF`, `<end>`, `"}"`).
    pub(crate) fn describe(&self) -> String {
        use Tok::*;
        match self.kind {
            Eof => "EOF".to_string(),
            Error => self.val.clone(),
            Block | Break | Continue | Dot | Define | Else | End | If | Nil | Range | Template
            | With => format!("<{}>", self.val),
            _ if self.val.chars().count() > 10 => quote_prefix(&self.val, 10),
            _ => quote(&self.val, false),
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

pub(crate) fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// `-` followed by a space right after `{{`.
fn has_left_trim(s: &str) -> bool {
    let mut it = s.chars();
    it.next() == Some('-') && it.next().is_some_and(is_space)
}

/// A space followed by `-` right before `}}`.
fn has_right_trim(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_some_and(is_space) && it.next() == Some('-')
}

pub(crate) fn lex(src: &str) -> Vec<Token> {
    let mut l = Lexer {
        src,
        pos: 0,
        start: 0,
        out: Vec::new(),
        paren: 0,
    };
    l.run();
    l.out
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    start: usize,
    out: Vec<Token>,
    paren: i32,
}

/// Whether lexing may continue after a step.
type Step = Result<(), ()>;

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn emit(&mut self, kind: Tok) {
        self.out.push(Token {
            kind,
            pos: self.start,
            val: self.src[self.start..self.pos].to_string(),
        });
        self.start = self.pos;
    }

    fn error(&mut self, msg: String) -> Step {
        self.out.push(Token {
            kind: Tok::Error,
            pos: self.start,
            val: msg,
        });
        Err(())
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches(is_space).len();
        self.start = self.pos;
    }

    fn run(&mut self) {
        loop {
            let Some(x) = self.rest().find(LEFT) else {
                self.pos = self.src.len();
                if self.pos > self.start {
                    self.emit(Tok::Text);
                }
                self.emit(Tok::Eof);
                return;
            };
            let delim = self.pos + x;
            let trim = has_left_trim(&self.src[delim + LEFT.len()..]);
            let text_end = if trim {
                self.start + self.src[self.start..delim].trim_end_matches(is_space).len()
            } else {
                delim
            };
            if text_end > self.start {
                self.pos = text_end;
                self.emit(Tok::Text);
            }
            self.start = delim;
            self.pos = delim + LEFT.len();
            let after = if trim { 2 } else { 0 };
            if self.src[self.pos + after..].starts_with("/*") {
                self.pos += after;
                self.start = self.pos;
                if self.comment().is_err() {
                    return;
                }
                continue;
            }
            self.emit(Tok::LeftDelim);
            self.pos += after;
            self.start = self.pos;
            self.paren = 0;
            if self.inside_action().is_err() {
                return;
            }
        }
    }

    /// At `/*`: skips the comment and its closing delimiter.
    fn comment(&mut self) -> Step {
        self.pos += 2;
        let Some(i) = self.rest().find("*/") else {
            return self.error("unclosed comment".into());
        };
        self.pos += i + 2;
        let Some(trim) = self.at_right_delim() else {
            return self.error("comment ends before closing delimiter".into());
        };
        self.pos += if trim { 2 } else { 0 } + RIGHT.len();
        self.start = self.pos;
        if trim {
            self.skip_spaces();
        }
        Ok(())
    }

    /// `Some(trim)` when at `}}` or ` -}}`.
    fn at_right_delim(&self) -> Option<bool> {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            Some(true)
        } else if rest.starts_with(RIGHT) {
            Some(false)
        } else {
            None
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) || ".,|:)(".contains(c) => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn inside_action(&mut self) -> Step {
        loop {
            self.start = self.pos;
            if let Some(trim) = self.at_right_delim() {
                if self.paren != 0 {
                    return self.error("unclosed left paren".into());
                }
                if trim {
                    self.pos += 2;
                    self.start = self.pos;
                }
                self.pos += RIGHT.len();
                self.emit(Tok::RightDelim);
                if trim {
                    self.skip_spaces();
                }
                return Ok(());
            }
            let Some(c) = self.next() else {
                return self.error("unclosed action".into());
            };
            match c {
                c if is_space(c) => {
                    self.backup(c);
                    self.space();
                }
                '=' => self.emit(Tok::Assign),
                ':' => {
                    if self.next() != Some('=') {
                        return self.error("expected :=".into());
                    }
                    self.emit(Tok::Declare);
                }
                '|' => self.emit(Tok::Pipe),
                '"' => self.quoted('"', Tok::Str, "unterminated quoted string")?,
                '\'' => self.quoted('\'', Tok::CharConst, "unterminated character constant")?,
                '`' => match self.rest().find('`') {
                    Some(i) => {
                        self.pos += i + 1;
                        self.emit(Tok::RawStr);
                    }
                    None => return self.error("unterminated raw quoted string".into()),
                },
                '$' => self.field_or_variable(Tok::Variable)?,
                '.' if self.peek().is_some_and(|n| !n.is_ascii_digit()) => {
                    self.field_or_variable(Tok::Field)?
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.backup(c);
                    self.number()?;
                }
                c if is_alnum(c) => {
                    self.backup(c);
                    self.identifier()?;
                }
                '(' => {
                    self.emit(Tok::LParen);
                    self.paren += 1;
                }
                ')' => {
                    self.emit(Tok::RParen);
                    self.paren -= 1;
                    if self.paren < 0 {
                        return self
                            .error(format!("unexpected right paren {}", unicode_notation(c)));
                    }
                }
                c if (' '..='~').contains(&c) => self.emit(Tok::Char),
                c => {
                    return self.error(format!(
                        "unrecognized character in action: {}",
                        unicode_notation(c)
                    ))
                }
            }
        }
    }

    /// A run of spaces, leaving the last one for a ` -}}` trim marker.
    fn space(&mut self) {
        let mut n = 0;
        while let Some(c) = self.peek().filter(|c| is_space(*c)) {
            self.pos += c.len_utf8();
            n += 1;
        }
        let last = self.src[..self.pos].chars().next_back().unwrap_or(' ');
        let at_trim = {
            let from = self.pos - last.len_utf8();
            has_right_trim(&self.src[from..]) && self.src[from + 2..].starts_with(RIGHT)
        };
        if at_trim {
            self.backup(last);
            if n == 1 {
                return;
            }
        }
        self.emit(Tok::Space);
    }

    fn quoted(&mut self, close: char, kind: Tok, unterminated: &str) -> Step {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error(unterminated.into()),
                },
                None | Some('\n') => return self.error(unterminated.into()),
                Some(c) if c == close => break,
                Some(_) => {}
            }
        }
        self.emit(kind);
        Ok(())
    }

    fn bad_character(&mut self) -> Step {
        let c = self.peek().unwrap_or('\u{FFFD}');
        self.error(format!("bad character {}", unicode_notation(c)))
    }

    /// After `.` or `$`: a field or variable name, or `.`/`$` alone.
    fn field_or_variable(&mut self, kind: Tok) -> Step {
        if self.at_terminator() {
            self.emit(if kind == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return Ok(());
        }
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            return self.bad_character();
        }
        self.emit(kind);
        Ok(())
    }

    fn identifier(&mut self) -> Step {
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            return self.bad_character();
        }
        let kind = match &self.src[self.start..self.pos] {
            "block" => Tok::Block,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "define" => Tok::Define,
            "else" => Tok::Else,
            "end" => Tok::End,
            "if" => Tok::If,
            "range" => Tok::Range,
            "nil" => Tok::Nil,
            "template" => Tok::Template,
            "with" => Tok::With,
            "true" | "false" => Tok::Bool,
            _ => Tok::Ident,
        };
        self.emit(kind);
        Ok(())
    }

    fn number(&mut self) -> Step {
        let bad = |l: &mut Self| {
            let text = quote(&l.src[l.start..l.pos], false);
            l.error(format!("bad number syntax: {text}"))
        };
        if !self.scan_number() {
            return bad(self);
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Go reads `1+2i` as a complex constant; Berth has none.
            self.scan_number();
            return bad(self);
        }
        self.emit(Tok::Number);
        Ok(())
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn trim_markers_eat_surrounding_space() {
        let toks = lex("a  {{- .S -}}  b");
        let texts: Vec<_> = toks
            .iter()
            .filter(|t| t.kind == Tok::Text)
            .map(|t| t.val.as_str())
            .collect();
        assert_eq!(texts, ["a", "b"]);
        assert_eq!(
            kinds("{{-3}}"),
            [Tok::LeftDelim, Tok::Number, Tok::RightDelim, Tok::Eof]
        );
    }

    #[test]
    fn fields_variables_and_keywords() {
        use Tok::*;
        assert_eq!(
            kinds("{{range $i, $e := .A.B}}"),
            [
                LeftDelim, Range, Space, Variable, Char, Space, Variable, Space, Declare, Space,
                Field, Field, RightDelim, Eof
            ]
        );
        assert_eq!(kinds("{{.}}"), [LeftDelim, Dot, RightDelim, Eof]);
        assert_eq!(kinds("{{/* x */}}t"), [Text, Eof]);
    }

    #[test]
    fn errors_read_like_go() {
        let last = |src: &str| lex(src).pop().unwrap().val;
        assert_eq!(last("{{.Foo}"), "bad character U+007D '}'");
        assert_eq!(last("{{.S"), "unclosed action");
        assert_eq!(last("{{(.S}}"), "unclosed left paren");
        assert_eq!(last("{{/* c"), "unclosed comment");
        assert_eq!(
            last("{{/* c */ }}"),
            "comment ends before closing delimiter"
        );
        assert_eq!(last("{{\"abc}}"), "unterminated quoted string");
        assert_eq!(last("{{1a}}"), "bad number syntax: \"1a\"");
        assert_eq!(last("{{-.N}}"), "bad number syntax: \"-.N\"");
        assert_eq!(
            last("{{§}}"),
            "unrecognized character in action: U+00A7 '§'"
        );
    }
}
