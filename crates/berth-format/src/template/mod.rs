//! Go `text/template` over JSON data: what docker users pass to `--format`.
//!
//! ```
//! use berth_format::template::Template;
//! use serde_json::json;
//!
//! let t = Template::parse("{{.Name}}: {{range $i, $p := .Ports}}{{if $i}},{{end}}{{$p}}{{end}}").unwrap();
//! let out = t.render(&json!({"Name": "web", "Ports": [80, 443]})).unwrap();
//! assert_eq!(out, "web: 80,443");
//! ```
//!
//! Values print as Go prints the corresponding Go values, with two choices
//! made for JSON data: integers stay integers (docker's structs hold
//! `int64`), and an explicit `null` prints `<nil>` (a nil pointer in
//! docker's structs) while a missing key prints `<no value>`.

mod builtins;
mod exec;
mod funcs;
mod lex;
mod node;
mod parse;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

pub use funcs::{FuncFn, Funcs, MethodFn, Methods};

use crate::gofmt::quote::quote;
use node::Node;

/// A template that failed to parse or to run. The text is Go's, so that
/// scripts grepping docker's messages keep working.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `template: :1: function "foo" not defined`
    #[error("template: :{line}: {message}")]
    Parse { line: usize, message: String },
    /// `template: :1:2: executing "" at <.Names>: error calling ...`;
    /// `column` is a 0-based byte offset, as in Go.
    #[error(
        "template: :{line}:{column}: executing {} at <{context}>: {message}",
        quote(.template, false)
    )]
    Exec {
        template: String,
        line: usize,
        column: usize,
        context: String,
        message: String,
    },
}

/// A parsed template, cheap to clone and reusable across renders.
#[derive(Debug, Clone)]
pub struct Template {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    source: String,
    root: Vec<Node>,
    defs: BTreeMap<String, Arc<Vec<Node>>>,
    funcs: Funcs,
    missing_key_error: bool,
}

impl Template {
    /// Parses with docker's function set ([`Funcs::docker`]).
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        Template::parse_with(source, Funcs::docker())
    }

    /// Parses with the given functions on top of Go's builtins. Calls to
    /// unknown functions fail here, as in Go.
    pub fn parse_with(source: &str, funcs: Funcs) -> Result<Template, TemplateError> {
        let has = |name: &str| funcs.lookup(name).is_some();
        let parsed = parse::parse(source, &has).map_err(|e| TemplateError::Parse {
            line: e.line,
            message: e.msg,
        })?;
        Ok(Template {
            inner: Arc::new(Inner {
                source: source.to_string(),
                root: parsed.root,
                defs: parsed.defs,
                funcs,
                missing_key_error: false,
            }),
        })
    }

    /// The same template with `overlay`'s functions replacing same-named
    /// ones, like Go's `tmpl.Funcs(...)` after parsing (docker swaps in its
    /// header functions this way).
    pub fn with_funcs(&self, overlay: &Funcs) -> Template {
        self.rebuild(|inner| inner.funcs = inner.funcs.merged(overlay))
    }

    /// Go's `Option("missingkey=error")`: a missing map key fails the render
    /// instead of printing `<no value>`.
    pub fn missing_key_error(&self, on: bool) -> Template {
        self.rebuild(|inner| inner.missing_key_error = on)
    }

    fn rebuild(&self, change: impl FnOnce(&mut Inner)) -> Template {
        let mut inner = Inner {
            source: self.inner.source.clone(),
            root: self.inner.root.clone(),
            defs: self.inner.defs.clone(),
            funcs: self.inner.funcs.clone(),
            missing_key_error: self.inner.missing_key_error,
        };
        change(&mut inner);
        Template {
            inner: Arc::new(inner),
        }
    }

    /// The source text the template was parsed from.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Renders against `data` (`.` and `$`).
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        self.render_with(data, &Methods::new())
    }

    /// Renders with methods available on the data (`{{.Label "k"}}`).
    pub fn render_with(&self, data: &Value, methods: &Methods) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.render_into(data, methods, &mut out)?;
        Ok(out)
    }

    /// Renders into `out`. On an execution error `out` keeps what was
    /// written before it, as Go's writer does (docker relies on this for
    /// table headers).
    pub fn render_into(
        &self,
        data: &Value,
        methods: &Methods,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let inner = &*self.inner;
        let mut exec = exec::Exec::new(
            &inner.funcs,
            methods,
            &inner.defs,
            inner.missing_key_error,
            out,
        );
        exec.run(&inner.root, data).map_err(|e| {
            let before = &inner.source[..e.pos.min(inner.source.len())];
            let line = 1 + before.matches('\n').count();
            let column = before.rfind('\n').map_or(e.pos, |nl| e.pos - nl - 1);
            TemplateError::Exec {
                template: e.template,
                line,
                column,
                context: e.context,
                message: e.msg,
            }
        })
    }
}
