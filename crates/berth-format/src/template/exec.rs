//! Runs a parsed template against JSON data, following Go's `text/template`
//! execution rules: pipelines pass their value as the last argument,
//! variables are scoped to the control structure that declared them,
//! missing map keys are "no value" rather than errors.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::builtins::{self, ArgVal};
use super::funcs::{Builtin, Func, Funcs, Kind, Methods};
use super::node::{Arg, Branch, Command, Node, Pipe, Pos};
use super::value::Val;
use crate::gofmt::quote::quote;

/// Nested `{{template}}` calls allowed before giving up. Go allows 100000;
/// this engine recurses on the native stack, so it stops much earlier.
const MAX_DEPTH: usize = 100;

/// An execution failure: where, in which template, and Go's message.
#[derive(Debug)]
pub(crate) struct ExecError {
    pub pos: Pos,
    pub template: String,
    pub context: String,
    pub msg: String,
}

type EResult<T> = Result<T, ExecError>;

/// What a list of nodes asks of the enclosing `range`.
#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node an error is reported at (Go's `state.at`).
#[derive(Clone, Copy)]
enum At<'a> {
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
    Node(&'a Node, Pos),
}

impl At<'_> {
    fn pos(&self) -> Pos {
        match self {
            At::Arg(a) => a.pos(),
            At::Cmd(c) => c.pos,
            At::Pipe(p) => p.pos,
            At::Node(_, pos) => *pos,
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Arg(a) => write!(f, "{a}"),
            At::Cmd(c) => write!(f, "{c}"),
            At::Pipe(p) => write!(f, "{p}"),
            At::Node(n, _) => write!(f, "{n}"),
        }
    }
}

/// Go reports errors found after a pipeline ran (a bad assignment, a value
/// `range` cannot visit) at the last node it evaluated.
fn last_node(pipe: &Pipe) -> At<'_> {
    match pipe.cmds.last().and_then(|c| c.args.last()) {
        Some(arg) => At::Arg(arg),
        None => At::Pipe(pipe),
    }
}

/// One field access in a chain: its name, the node for errors, and whether
/// the receiver has a concrete Go type (for error messages).
#[derive(Clone, Copy)]
struct Field<'t> {
    name: &'t str,
    node: &'t Arg,
    concrete: bool,
}

pub(crate) struct Exec<'t, 'd> {
    pub funcs: &'t Funcs,
    pub methods: &'t Methods,
    pub defs: &'t BTreeMap<String, Arc<Vec<Node>>>,
    pub missing_key_error: bool,
    pub out: &'t mut String,
    vars: Vec<(String, Val<'d>)>,
    name: String,
    depth: usize,
}

impl<'t, 'd> Exec<'t, 'd> {
    pub(crate) fn new(
        funcs: &'t Funcs,
        methods: &'t Methods,
        defs: &'t BTreeMap<String, Arc<Vec<Node>>>,
        missing_key_error: bool,
        out: &'t mut String,
    ) -> Self {
        Exec {
            funcs,
            methods,
            defs,
            missing_key_error,
            out,
            vars: Vec::new(),
            name: String::new(),
            depth: 0,
        }
    }

    pub(crate) fn run(&mut self, root: &'t [Node], data: &'d Value) -> EResult<()> {
        let dot = Val::Borrowed(data);
        self.vars = vec![("$".to_string(), dot.clone())];
        self.walk(&dot, root).map(|_| ())
    }

    fn error<T>(&self, at: At<'_>, msg: impl Into<String>) -> EResult<T> {
        Err(ExecError {
            pos: at.pos(),
            template: self.name.clone(),
            context: at.to_string(),
            msg: msg.into(),
        })
    }

    fn walk(&mut self, dot: &Val<'d>, nodes: &'t [Node]) -> EResult<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(t) => {
                    self.out.push_str(t);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.out.push_str(&v.print());
                    }
                    Flow::Normal
                }
                Node::If(b) => self.walk_if_or_with(dot, b, false)?,
                Node::With(b) => self.walk_if_or_with(dot, b, true)?,
                Node::Range(b) => self.walk_range(dot, b)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
                Node::Template { pos, name, pipe } => {
                    self.walk_template(dot, node, *pos, name, pipe.as_ref())?;
                    Flow::Normal
                }
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(&mut self, dot: &Val<'d>, b: &'t Branch, with: bool) -> EResult<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if v.is_true() {
            let dot = if with { &v } else { dot };
            self.walk(dot, &b.list)?
        } else if let Some(else_list) = &b.else_list {
            self.walk(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Val<'d>, b: &'t Branch) -> EResult<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let Some(items) = v.elements() else {
            let at = last_node(&b.pipe);
            return self.error(at, format!("range can't iterate over {}", v.print()));
        };
        if items.is_empty() {
            let flow = match &b.else_list {
                Some(else_list) => self.walk(dot, else_list)?,
                None => Flow::Normal,
            };
            self.vars.truncate(mark);
            return Ok(flow);
        }
        let decl = &b.pipe.decl;
        for (key, elem) in items {
            // Go binds a lone variable to the element and a pair to
            // (key, element).
            if let Some(first) = decl.first() {
                let v = if decl.len() > 1 {
                    key.clone()
                } else {
                    elem.clone()
                };
                self.set_var(At::Pipe(&b.pipe), first, v)?;
            }
            if let Some(second) = decl.get(1) {
                self.set_var(At::Pipe(&b.pipe), second, elem.clone())?;
            }
            let inner = self.vars.len();
            let flow = self.walk(&elem, &b.list)?;
            self.vars.truncate(inner);
            if flow == Flow::Break {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn walk_template(
        &mut self,
        dot: &Val<'d>,
        node: &'t Node,
        pos: Pos,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> EResult<()> {
        let at = At::Node(node, pos);
        let Some(body) = self.defs.get(name) else {
            return self.error(at, format!("template {} not defined", quote(name, false)));
        };
        if self.depth >= MAX_DEPTH {
            return self.error(at, format!("exceeded maximum template depth ({MAX_DEPTH})"));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Val::Missing,
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
        let name = std::mem::replace(&mut self.name, name.to_string());
        self.depth += 1;
        let r = self.walk(&new_dot, body);
        self.depth -= 1;
        self.name = name;
        self.vars = vars;
        r.map(|_| ())
    }

    fn var(&self, at: At<'_>, name: &str) -> EResult<Val<'d>> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.error(at, format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, at: At<'_>, name: &str, v: Val<'d>) -> EResult<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => self.error(at, format!("undefined variable: {name}")),
        }
    }

    fn eval_pipeline(&mut self, dot: &Val<'d>, pipe: &'t Pipe) -> EResult<Val<'d>> {
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Val::Missing);
        let at = last_node(pipe);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(at, name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &'t Command, fin: &Option<Val<'d>>) -> EResult<()> {
        if cmd.args.len() > 1 || fin.is_some() {
            let first = &cmd.args[0];
            return self.error(
                At::Arg(first),
                format!("can't give argument to non-function {first}"),
            );
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Val<'d>,
        cmd: &'t Command,
        fin: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        let first = &cmd.args[0];
        let args = &cmd.args[1..];
        match first {
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), first, idents, args, fin)
            }
            Arg::Chain { node, idents, .. } => {
                if let Arg::Nil(_) = node.as_ref() {
                    return self.error(
                        At::Arg(first),
                        format!("indirection through explicit nil in {first}"),
                    );
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, recv, first, idents, args, fin)
            }
            Arg::Variable { name, idents, .. } => {
                let v = self.var(At::Arg(first), name)?;
                if idents.is_empty() {
                    self.not_a_function(cmd, &fin)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, first, idents, args, fin)
            }
            Arg::Ident { name, .. } => {
                self.eval_function(dot, name, first, At::Cmd(cmd), args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &fin)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Nil(_) => self.error(At::Arg(first), "nil is not a command"),
            _ => {
                self.not_a_function(cmd, &fin)?;
                self.eval_arg(dot, first)
            }
        }
    }

    /// `recv.A.B.C args...`: all but the last field take no arguments.
    fn eval_field_chain(
        &mut self,
        dot: &Val<'d>,
        recv: Val<'d>,
        node: &'t Arg,
        idents: &'t [String],
        args: &'t [Arg],
        fin: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        let (last, init) = idents.split_last().expect("a field chain has fields");
        // Only the chain's first receiver has a concrete Go type; later
        // ones come out of `interface{}` map slots.
        let mut recv = recv;
        let mut concrete = true;
        for ident in init {
            let field = Field {
                name: ident,
                node,
                concrete,
            };
            recv = self.eval_field(dot, field, &[], None, recv)?;
            concrete = false;
        }
        let field = Field {
            name: last,
            node,
            concrete,
        };
        self.eval_field(dot, field, args, fin, recv)
    }

    fn eval_field(
        &mut self,
        dot: &Val<'d>,
        field: Field<'t>,
        args: &'t [Arg],
        fin: Option<Val<'d>>,
        recv: Val<'d>,
    ) -> EResult<Val<'d>> {
        let Field {
            name,
            node,
            concrete,
        } = field;
        let at = At::Arg(node);
        let Some(value) = recv.get() else {
            if self.missing_key_error {
                return self.error(
                    at,
                    format!("nil data; no entry for key {}", quote(name, false)),
                );
            }
            return Ok(Val::Missing);
        };
        if value.is_null() {
            return self.error(at, format!("nil pointer evaluating interface {{}}.{name}"));
        }
        if let Some(method) = self.methods.get(name).cloned() {
            let mut argv = Vec::with_capacity(args.len() + 1);
            for a in args {
                argv.push(self.eval_arg(dot, a)?.to_value());
            }
            if let Some(f) = fin {
                argv.push(f.to_value());
            }
            let receiver = recv.to_value();
            return match method(&receiver, &argv) {
                Ok(v) => Ok(Val::owned(v)),
                Err(e) => self.error(at, format!("error calling {name}: {e}")),
            };
        }
        if value.is_object() {
            if !args.is_empty() || fin.is_some() {
                return self.error(at, format!("{name} is not a method but has arguments"));
            }
            return match recv.key(name) {
                Some(v) => Ok(v),
                None if self.missing_key_error => self.error(
                    at,
                    format!("map has no entry for key {}", quote(name, false)),
                ),
                None => Ok(Val::Missing),
            };
        }
        let ty = if concrete {
            crate::gofmt::printf::type_name(value)
        } else {
            "interface {}"
        };
        self.error(at, format!("can't evaluate field {name} in type {ty}"))
    }

    fn eval_function(
        &mut self,
        dot: &Val<'d>,
        name: &str,
        ident: &'t Arg,
        cmd_at: At<'t>,
        args: &'t [Arg],
        fin: Option<Val<'d>>,
    ) -> EResult<Val<'d>> {
        let at = At::Arg(ident);
        let Some(func) = self.funcs.lookup(name) else {
            return self.error(
                at,
                format!("{} is not a defined function", quote(name, false)),
            );
        };
        let sig = match &func {
            Func::Builtin(b) => b.sig(),
            Func::Custom(_) => super::funcs::Sig {
                fixed: &[],
                variadic: Some(Kind::Any),
            },
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let fixed = sig.fixed.len();
        if sig.variadic.is_some() && num_in < fixed {
            return self.error(
                at,
                format!("wrong number of args for {name}: want at least {fixed} got {num_in}"),
            );
        }
        if sig.variadic.is_none() && num_in != fixed {
            return self.error(
                at,
                format!("wrong number of args for {name}: want {fixed} got {num_in}"),
            );
        }
        if let Func::Builtin(b @ (Builtin::And | Builtin::Or)) = func {
            // Go evaluates and/or lazily and returns the deciding operand.
            let want = b == Builtin::Or;
            let mut v = Val::Missing;
            for a in args {
                // A literal nil reaches and/or as an invalid value.
                v = match a {
                    Arg::Nil(_) => Val::Missing,
                    a => self.eval_arg(dot, a)?,
                };
                if v.is_true() == want {
                    return Ok(v);
                }
            }
            return Ok(fin.unwrap_or(v));
        }
        let kind_of = |i: usize| {
            sig.fixed
                .get(i)
                .copied()
                .or(sig.variadic)
                .unwrap_or(Kind::Any)
        };
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_typed_arg(dot, kind_of(i), a)?);
        }
        if let Some(f) = fin {
            // Go checks the piped value at the last node it evaluated.
            let at = args.last().map_or(at, At::Arg);
            argv.push(self.convert(at, kind_of(args.len()), f)?);
        }
        let result = match func {
            Func::Builtin(b) => builtins::call(b, argv),
            Func::Custom(f) => {
                let vals: Vec<Value> = argv
                    .into_iter()
                    .map(|a| match a {
                        ArgVal::Any(v) => v.to_value(),
                        ArgVal::Str(s) => Value::String(s),
                        ArgVal::Int(i) => Value::from(i),
                    })
                    .collect();
                f(&vals).map(Val::owned)
            }
        };
        result.or_else(|e| self.error(cmd_at, format!("error calling {name}: {e}")))
    }

    /// An argument for a parameter of `kind`, with Go's checks on literals.
    fn eval_typed_arg(&mut self, dot: &Val<'d>, kind: Kind, arg: &'t Arg) -> EResult<ArgVal<'d>> {
        let at = At::Arg(arg);
        match (kind, arg) {
            (Kind::Any, _) => Ok(ArgVal::Any(self.eval_arg(dot, arg)?)),
            (Kind::Str, Arg::Str { value, .. }) => Ok(ArgVal::Str(value.clone())),
            (Kind::Int, Arg::Number(_, n)) => match n.int {
                Some(i) => Ok(ArgVal::Int(i)),
                None => self.error(at, format!("expected integer; found {arg}")),
            },
            (_, Arg::Nil(_)) => {
                let ty = if kind == Kind::Str { "string" } else { "int" };
                self.error(at, format!("cannot assign nil to {ty}"))
            }
            (Kind::Str, Arg::Number(..) | Arg::Bool(..)) => {
                self.error(at, format!("expected string; found {arg}"))
            }
            (Kind::Int, Arg::Str { .. } | Arg::Bool(..)) => {
                self.error(at, format!("expected integer; found {arg}"))
            }
            _ => {
                let v = self.eval_arg(dot, arg)?;
                self.convert(at, kind, v)
            }
        }
    }

    /// Go's `validateType` for an evaluated value.
    fn convert(&self, at: At<'_>, kind: Kind, v: Val<'d>) -> EResult<ArgVal<'d>> {
        let want = match kind {
            Kind::Any => return Ok(ArgVal::Any(v)),
            Kind::Str => "string",
            Kind::Int => "int",
        };
        match (kind, v.get()) {
            (_, None) => self.error(at, format!("invalid value; expected {want}")),
            (Kind::Str, Some(Value::String(s))) => Ok(ArgVal::Str(s.clone())),
            (Kind::Int, Some(Value::Number(n))) if n.is_i64() => {
                Ok(ArgVal::Int(n.as_i64().unwrap_or(0)))
            }
            _ => self.error(
                at,
                format!("wrong type for value; expected {want}; got {}", v.go_type()),
            ),
        }
    }

    /// An argument whose parameter accepts anything.
    fn eval_arg(&mut self, dot: &Val<'d>, arg: &'t Arg) -> EResult<Val<'d>> {
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Val::owned(Value::Null)),
            Arg::Bool(_, b) => Ok(Val::owned(Value::Bool(*b))),
            Arg::Str { value, .. } => Ok(Val::owned(Value::String(value.clone()))),
            Arg::Number(_, n) => match &n.value {
                Some(v) => Ok(Val::owned(v.clone())),
                None => self.error(At::Arg(arg), format!("{} overflows int", n.text)),
            },
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), arg, idents, &[], None)
            }
            Arg::Variable { name, idents, .. } => {
                let v = self.var(At::Arg(arg), name)?;
                if idents.is_empty() {
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, arg, idents, &[], None)
            }
            Arg::Chain { node, idents, .. } => {
                if let Arg::Nil(_) = node.as_ref() {
                    return self.error(
                        At::Arg(arg),
                        format!("indirection through explicit nil in {arg}"),
                    );
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, recv, arg, idents, &[], None)
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Ident { name, .. } => self.eval_function(dot, name, arg, At::Arg(arg), &[], None),
        }
    }
}
