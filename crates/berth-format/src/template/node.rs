//! The parse tree of a template.
//!
//! `Display` renders nodes the way Go's `parse` package does, because Go's
//! execution errors quote the failing node (`at <.Names>`).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// Byte offset of a node in the template source.
pub(crate) type Pos = usize;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Break,
    Continue,
    Template {
        pos: Pos,
        name: String,
        pipe: Option<Pipe>,
    },
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Arc<Vec<Node>>,
    pub else_list: Option<Arc<Vec<Node>>>,
}

/// `$x := cmd | cmd ...`
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: Pos,
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline: an operand and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: Pos,
    pub args: Vec<Arg>,
}

/// A number literal as Go's parser sees it.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    /// The value used when the literal is printed or passed as `any`.
    pub value: Option<Value>,
    /// Set when the literal is integral (`3`, `1e3`): usable as an `int`.
    pub int: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// `.A.B`
    Field {
        pos: Pos,
        idents: Vec<String>,
    },
    /// `$x.A.B` (`$` alone has no idents).
    Variable {
        pos: Pos,
        name: String,
        idents: Vec<String>,
    },
    /// `(pipe).A.B` and other terms followed by fields.
    Chain {
        pos: Pos,
        node: Box<Arg>,
        idents: Vec<String>,
    },
    Dot(Pos),
    Nil(Pos),
    Bool(Pos, bool),
    Number(Pos, Number),
    Str {
        pos: Pos,
        quoted: String,
        value: String,
    },
    /// A function name.
    Ident {
        pos: Pos,
        name: String,
    },
    /// `( pipeline )`
    Pipe(Pipe),
}

impl Arg {
    pub(crate) fn pos(&self) -> Pos {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number(pos, _)
            | Arg::Str { pos, .. }
            | Arg::Ident { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }

    /// Literals that cannot start a later pipeline stage.
    pub(crate) fn is_literal(&self) -> bool {
        matches!(
            self,
            Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str { .. }
        )
    }
}

fn write_idents(f: &mut fmt::Formatter<'_>, idents: &[String]) -> fmt::Result {
    for ident in idents {
        write!(f, ".{ident}")?;
    }
    Ok(())
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => write_idents(f, idents),
            Arg::Variable { name, idents, .. } => {
                f.write_str(name)?;
                write_idents(f, idents)
            }
            Arg::Chain { node, idents, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                write_idents(f, idents)
            }
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::Str { quoted, .. } => f.write_str(quoted),
            Arg::Ident { name, .. } => f.write_str(name),
            Arg::Pipe(p) => write!(f, "({p})"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{arg}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{cmd}")?;
        }
        Ok(())
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, list: &[Node]) -> fmt::Result {
    list.iter().try_for_each(|n| write!(f, "{n}"))
}

fn write_branch(f: &mut fmt::Formatter<'_>, keyword: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{keyword} {}}}}}", b.pipe)?;
    write_list(f, &b.list)?;
    if let Some(else_list) = &b.else_list {
        f.write_str("{{else}}")?;
        write_list(f, else_list)?;
    }
    f.write_str("{{end}}")
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(t),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Break => f.write_str("{{break}}"),
            Node::Continue => f.write_str("{{continue}}"),
            Node::Template { name, pipe, .. } => {
                let name = crate::gofmt::quote::quote(name, false);
                match pipe {
                    Some(p) => write!(f, "{{{{template {name} {p}}}}}"),
                    None => write!(f, "{{{{template {name}}}}}"),
                }
            }
        }
    }
}
