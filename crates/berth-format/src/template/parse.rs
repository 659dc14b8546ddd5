//! Builds the parse tree from tokens, following the grammar and the error
//! messages of Go's `text/template/parse`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::lex::{lex, Tok, Token};
use super::node::{Arg, Branch, Command, Node, Number, Pipe};
use crate::gofmt::quote::quote;

/// A parse failure: the line it was found on and Go's message.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub line: usize,
    pub msg: String,
}

type PResult<T> = Result<T, ParseError>;

/// The main template body and the templates it defines.
pub(crate) struct Parsed {
    pub root: Vec<Node>,
    pub defs: BTreeMap<String, Arc<Vec<Node>>>,
}

/// What `text_or_action` found: a node, or the end of a list.
enum Item {
    Node(Node),
    End,
    Else,
}

pub(crate) fn line_of(src: &str, pos: usize) -> usize {
    1 + src[..pos.min(src.len())].matches('\n').count()
}

pub(crate) fn parse(src: &str, has_func: &dyn Fn(&str) -> bool) -> PResult<Parsed> {
    let mut p = Parser {
        src,
        toks: lex(src),
        i: 0,
        furthest: 0,
        has_func,
        vars: vec!["$".to_string()],
        range_depth: 0,
        action_line: 0,
        defs: BTreeMap::new(),
    };
    let root = p.parse_top()?;
    Ok(Parsed { root, defs: p.defs })
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    furthest: usize,
    has_func: &'a dyn Fn(&str) -> bool,
    /// Variables in scope, for Go's `undefined variable` check.
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    defs: BTreeMap<String, Arc<Vec<Node>>>,
}

impl Parser<'_> {
    fn next(&mut self) -> Token {
        let idx = self.i.min(self.toks.len() - 1);
        self.i = idx + 1;
        self.furthest = self.furthest.max(idx);
        self.toks[idx].clone()
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&mut self) -> Token {
        let t = self.next();
        self.backup();
        t
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn error<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            line: line_of(self.src, self.toks[self.furthest].pos),
            msg: msg.into(),
        })
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> PResult<T> {
        if t.kind == Tok::Error {
            let line = line_of(self.src, t.pos);
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != line {
                extra = if t.val.ends_with(" action") {
                    format!(" started at :{}", self.action_line)
                } else {
                    format!(" in action started at :{}", self.action_line)
                };
            }
            return self.error(format!("{}{}", t.val, extra));
        }
        self.error(format!("unexpected {} in {}", t.describe(), context))
    }

    fn expect(&mut self, kind: Tok, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.kind != kind {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != Tok::Eof {
            if self.peek().kind == Tok::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().kind == Tok::Define {
                    self.definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::End => return self.error("unexpected {{end}}"),
                Item::Else => return self.error("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    /// Parses a nested template body with its own variable scope (Go gives
    /// `define` and `block` bodies a fresh tree).
    fn nested_body(&mut self, context: &str) -> PResult<Vec<Node>> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        if !matches!(end, Item::End) {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.vars = vars;
        self.range_depth = depth;
        Ok(list)
    }

    fn add_def(&mut self, name: String, list: Vec<Node>) {
        let empty = list
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()));
        if empty && self.defs.contains_key(&name) {
            return;
        }
        self.defs.insert(name, Arc::new(list));
    }

    fn template_name(&mut self, t: &Token, context: &str) -> PResult<String> {
        match t.kind {
            Tok::Str | Tok::RawStr => match unquote(&t.val) {
                Some(s) => Ok(s),
                None => self.error("invalid syntax"),
            },
            _ => self.unexpected(t, context),
        }
    }

    fn definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let t = self.next_non_space();
        if !matches!(t.kind, Tok::Str | Tok::RawStr) {
            return self.unexpected(&t, CONTEXT);
        }
        let name = self.template_name(&t, CONTEXT)?;
        self.expect(Tok::RightDelim, CONTEXT)?;
        let list = self.nested_body(CONTEXT)?;
        self.add_def(name, list);
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Item)> {
        let mut list = Vec::new();
        loop {
            if self.peek_non_space().kind == Tok::Eof {
                return self.error("unexpected EOF");
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Tok::Text => Ok(Item::Node(Node::Text(t.val))),
            Tok::LeftDelim => {
                self.action_line = line_of(self.src, t.pos);
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        let node = match t.kind {
            Tok::Block => self.block()?,
            Tok::Break | Tok::Continue => {
                let word = t.val.as_str();
                let context = format!("{{{{{word}}}}}");
                let end = self.next_non_space();
                if end.kind != Tok::RightDelim {
                    return self.unexpected(&end, &context);
                }
                if self.range_depth == 0 {
                    return self.error(format!("{context} outside {{{{range}}}}"));
                }
                if t.kind == Tok::Break {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            Tok::Else => {
                // `{{else if ...}}` / `{{else with ...}}`: leave the keyword
                // for the enclosing control to pick up.
                if !matches!(self.peek_non_space().kind, Tok::If | Tok::With) {
                    self.expect(Tok::RightDelim, "else")?;
                }
                return Ok(Item::Else);
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Tok::If => Node::If(self.control("if")?),
            Tok::Range => Node::Range(self.control("range")?),
            Tok::With => Node::With(self.control("with")?),
            Tok::Template => self.template_call()?,
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", Tok::RightDelim)?)
            }
        };
        Ok(Item::Node(node))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Item::Else = next {
            let chained = match (context, self.peek().kind) {
                ("if", Tok::If) => Some(Node::If as fn(Branch) -> Node),
                ("with", Tok::With) => Some(Node::With as fn(Branch) -> Node),
                _ => None,
            };
            if let Some(make) = chained {
                // `{{else if b}}` is `{{else}}{{if b}}...{{end}}` sharing one end.
                self.next();
                else_list = Some(Arc::new(vec![make(self.control(context)?)]));
            } else {
                let (list, end) = self.item_list()?;
                if !matches!(end, Item::End) {
                    return self.error("expected end; found {{else}}");
                }
                else_list = Some(Arc::new(list));
            }
        }
        self.vars.truncate(mark);
        Ok(Branch {
            pipe,
            list: Arc::new(list),
            else_list,
        })
    }

    fn block(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Tok::RightDelim)?;
        let list = self.nested_body(CONTEXT)?;
        self.add_def(name.clone(), list);
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_call(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().kind != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Tok::RightDelim)?);
        }
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.kind != Tok::Variable {
                break;
            }
            let save = self.i;
            self.next();
            let next = self.peek_non_space();
            match next.kind {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.kind == Tok::Assign;
                    self.next_non_space();
                    self.vars.push(v.val.clone());
                    pipe.decl.push(v.val);
                    break;
                }
                Tok::Char if next.val == "," => {
                    self.next_non_space();
                    self.vars.push(v.val.clone());
                    pipe.decl.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Tok::Variable | Tok::RightDelim | Tok::RParen => continue,
                            _ => return self.error("range can only initialize variables"),
                        }
                    }
                    return self.error(format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            use Tok::*;
            match t.kind {
                Bool | CharConst | Dot | Field | Ident | Number | Nil | RawStr | Str | Variable
                | LParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.error(format!("missing value for {context}"));
        }
        for (i, cmd) in pipe.cmds.iter().enumerate().skip(1) {
            if cmd.args[0].is_literal() {
                return self.error(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let t = self.next();
            match t.kind {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.error("empty command");
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Tok::Field {
            return Ok(Some(node));
        }
        // Go positions the merged node at the first trailing field.
        let pos = self.peek().pos;
        let mut idents = Vec::new();
        while self.peek().kind == Tok::Field {
            idents.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field {
                idents: mut base, ..
            } => {
                base.extend(idents);
                Arg::Field { pos, idents: base }
            }
            Arg::Variable {
                name,
                idents: mut base,
                ..
            } => {
                base.extend(idents);
                Arg::Variable {
                    pos,
                    name,
                    idents: base,
                }
            }
            n if n.is_literal() => {
                return self.error(format!(
                    "unexpected . after term {}",
                    quote(&n.to_string(), false)
                ))
            }
            n => Arg::Chain {
                pos,
                node: Box::new(n),
                idents,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.kind {
            Tok::Ident => {
                if !(self.has_func)(&t.val) {
                    return self.error(format!("function {} not defined", quote(&t.val, false)));
                }
                Arg::Ident { pos, name: t.val }
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Variable => {
                if !self.vars.contains(&t.val) {
                    return self.error(format!("undefined variable {}", quote(&t.val, false)));
                }
                Arg::Variable {
                    pos,
                    name: t.val,
                    idents: Vec::new(),
                }
            }
            Tok::Field => Arg::Field {
                pos,
                idents: vec![t.val[1..].to_string()],
            },
            Tok::Bool => Arg::Bool(pos, t.val == "true"),
            Tok::CharConst | Tok::Number => match number(&t) {
                Ok(n) => Arg::Number(pos, n),
                Err(msg) => return self.error(msg),
            },
            Tok::LParen => Arg::Pipe(self.pipeline("parenthesized pipeline", Tok::RParen)?),
            Tok::Str | Tok::RawStr => match unquote(&t.val) {
                Some(value) => Arg::Str {
                    pos,
                    quoted: t.val,
                    value,
                },
                None => return self.error("invalid syntax"),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Go's `strconv.Unquote` for `"..."`, `` `...` `` and `'c'` literals.
pub(crate) fn unquote(s: &str) -> Option<String> {
    let quote = s.chars().next()?;
    let body = s.get(1..s.len().checked_sub(1)?)?;
    if !s.ends_with(quote) || s.len() < 2 {
        return None;
    }
    if quote == '`' {
        return Some(body.replace('\r', ""));
    }
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote || (c == '\n') {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |n: usize, chars: &mut std::iter::Peekable<std::str::Chars>| {
            let digits: String = (0..n).filter_map(|_| chars.next()).collect();
            if digits.len() != n {
                return None;
            }
            u32::from_str_radix(&digits, 16).ok()
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' | '"' if e == quote => out.push(e),
            'x' => out.push(byte_char(hex(2, &mut chars)?)),
            'u' => out.push(char::from_u32(hex(4, &mut chars)?)?),
            'U' => out.push(char::from_u32(hex(8, &mut chars)?)?),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + chars.next()?.to_digit(8)?;
                }
                if v > 255 {
                    return None;
                }
                out.push(byte_char(v));
            }
            _ => return None,
        }
    }
    if quote == '\'' && out.chars().count() != 1 {
        return None;
    }
    Some(out)
}

/// A `\x`/octal escape: Go inserts the raw byte; a Rust string can only
/// hold it when it is ASCII, so higher bytes become U+FFFD.
fn byte_char(v: u32) -> char {
    if v < 0x80 {
        char::from_u32(v).unwrap_or('\u{FFFD}')
    } else {
        '\u{FFFD}'
    }
}

/// Go's number literal rules: which literals are integers, which floats,
/// and the errors for the rest.
fn number(t: &Token) -> Result<Number, String> {
    let text = t.val.clone();
    if t.kind == Tok::CharConst {
        // Go: a bad escape or an empty constant is a syntax error, extra
        // characters a malformed constant.
        let c = match unquote(&text) {
            Some(s) => s.chars().next(),
            None => None,
        };
        let body = &text[1..text.len() - 1];
        let c = match c {
            Some(c) => c,
            None if body.chars().count() > 1 && !body.starts_with('\\') => {
                return Err(format!("malformed character constant: {text}"))
            }
            None => return Err("invalid syntax".into()),
        };
        return Ok(Number {
            value: Some(Value::from(c as i64)),
            int: Some(c as i64),
            text,
        });
    }
    let (int, uint) = parse_go_int(&text);
    let is_hex_int = {
        let s = text.trim_start_matches(['+', '-']);
        s.len() > 2 && (s.starts_with("0x") || s.starts_with("0X")) && !s.contains(['p', 'P'])
    };
    let floaty = text.contains(['.', 'e', 'E', 'p', 'P']) && !is_hex_int;
    let float = match (int, uint) {
        (Some(i), _) => Some(i as f64),
        (None, Some(u)) => Some(u as f64),
        _ => {
            let f = text
                .replace('_', "")
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite());
            if f.is_some() && !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {}", quote(&text, false)));
            }
            f
        }
    };
    let Some(float) = float else {
        return Err(format!("illegal number syntax: {}", quote(&text, false)));
    };
    let int =
        int.or_else(|| (float.fract() == 0.0 && float.abs() < 9.2e18).then_some(float as i64));
    // Integers that only fit a uint64 have no value: Go reports
    // "overflows int" when such a literal is used.
    let value = if floaty {
        serde_json::Number::from_f64(float).map(Value::Number)
    } else {
        parse_go_int(&text).0.map(Value::from)
    };
    Ok(Number { text, value, int })
}

/// `strconv.ParseInt(s, 0, 64)` and `ParseUint(s, 0, 64)`.
fn parse_go_int(text: &str) -> (Option<i64>, Option<u64>) {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return (None, None);
    }
    let Ok(mag) = u128::from_str_radix(&digits, radix) else {
        return (None, None);
    };
    let int = if neg {
        (mag <= 1u128 << 63).then(|| (mag as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(mag).ok()
    };
    let uint = if neg && mag != 0 {
        None
    } else {
        u64::try_from(mag).ok()
    };
    (int, uint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        match parse(src, &|name| name == "upper") {
            Ok(_) => "ok".into(),
            Err(e) => format!("{}: {}", e.line, e.msg),
        }
    }

    /// Messages are those of Go's parser for the same input.
    #[test]
    fn parse_errors_match_go() {
        assert_eq!(err("{{foo}}"), "1: function \"foo\" not defined");
        assert_eq!(err("{{.Foo }"), "1: unexpected \"}\" in operand");
        assert_eq!(err("{{$x}}"), "1: undefined variable \"$x\"");
        assert_eq!(err("{{end}}"), "1: unexpected {{end}}");
        assert_eq!(err("{{else}}"), "1: unexpected {{else}}");
        assert_eq!(err("{{if .S}}"), "1: unexpected EOF");
        assert_eq!(err("{{if}}{{end}}"), "1: missing value for if");
        assert_eq!(
            err("{{\"abc\".x}}"),
            "1: unexpected . after term \"\\\"abc\\\"\""
        );
        assert_eq!(err("{{.S.}}"), "1: unexpected <.> in operand");
        assert_eq!(err("{{break}}"), "1: {{break}} outside {{range}}");
        assert_eq!(
            err("{{range $i, $e, $f := .L}}{{end}}"),
            "1: too many declarations in range"
        );
        assert_eq!(
            err("{{if $x := 1, 2}}{{end}}"),
            "1: unexpected \",\" in operand"
        );
        assert_eq!(err("{{.S)}}"), "1: unexpected \")\" in command");
        assert_eq!(
            err("{{.S | 3}}"),
            "1: non executable command in pipeline stage 2"
        );
        assert_eq!(err("{{\"\\z\"}}"), "1: invalid syntax");
        assert_eq!(err("{{0x}}"), "1: illegal number syntax: \"0x\"");
        assert_eq!(
            err("{{100000000000000000000}}"),
            "1: integer overflow: \"100000000000000000000\""
        );
        assert_eq!(
            err("a\nb\n{{.A}}{{foo}}"),
            "3: function \"foo\" not defined"
        );
        assert_eq!(err("{{.A\n.B"), "2: unclosed action started at :1");
        assert_eq!(err("{{.S}}{{else}}"), "1: unexpected {{else}}");
        assert_eq!(
            err("{{define \"x\"}}{{else}}{{end}}"),
            "1: unexpected {{else}} in define clause"
        );
    }

    #[test]
    fn accepts_go_syntax() {
        for src in [
            "{{range $i, $e := .L}}{{$i}}{{$e}}{{end}}",
            "{{if .A}}a{{else if .B}}b{{else}}c{{end}}",
            "{{with $x := .S}}{{$x}}{{else with .T}}{{.}}{{end}}",
            "{{(.M).a}} {{$.S}} {{upper .S | upper}}",
            "{{define \"x\"}}X{{end}}{{template \"x\" .}}{{block \"b\" .}}B{{end}}",
            "{{range .L}}{{if .}}{{break}}{{end}}{{continue}}{{end}}",
            "{{$x := 1}}{{$x = 2}}{{- /* comment */ -}}",
            "{{1e3}} {{0x1F}} {{-5}} {{'a'}} {{`raw`}} {{nil | upper}}",
        ] {
            assert_eq!(err(src), "ok", "{src}");
        }
    }

    #[test]
    fn numbers_follow_go() {
        let num = |s: &str| {
            let t = Token {
                kind: Tok::Number,
                pos: 0,
                val: s.into(),
            };
            let n = number(&t).unwrap();
            (n.value.map(|v| v.to_string()), n.int)
        };
        assert_eq!(num("42"), (Some("42".into()), Some(42)));
        assert_eq!(num("1e3"), (Some("1000.0".into()), Some(1000)));
        assert_eq!(num("1.5"), (Some("1.5".into()), None));
        assert_eq!(num("0x1F"), (Some("31".into()), Some(31)));
        assert_eq!(num("017"), (Some("15".into()), Some(15)));
        assert_eq!(num("1_000"), (Some("1000".into()), Some(1000)));
        assert_eq!(num("18446744073709551615").0, None);
    }
}
