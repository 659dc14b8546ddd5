//! The functions a template may call, and the methods its data may have.
//!
//! Go checks function names when parsing, so the set is fixed per template:
//! Go's builtins are always there, docker's extras (`json`, `pad`, ...) come
//! with [`Funcs::docker`], callers may add their own. Methods belong to the
//! data instead (docker's `.Label "key"` on a `ps` row), so they are passed
//! when rendering, as [`Methods`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// A caller-supplied template function: arguments in, value or error text out.
pub type FuncFn = dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync;

/// A caller-supplied method: receiver (the value left of `.Name`), arguments.
pub type MethodFn = dyn Fn(&Value, &[Value]) -> Result<Value, String> + Send + Sync;

/// Parameter types, as far as Go's type checks on calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Any,
    Str,
    Int,
}

/// A function's parameters: fixed ones, then optionally a variadic tail.
pub(crate) struct Sig {
    pub fixed: &'static [Kind],
    pub variadic: Option<Kind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Print,
    Printf,
    Println,
    Html,
    Js,
    UrlQuery,
    Call,
    Json,
    Split,
    Join,
    Title,
    Lower,
    Upper,
    Pad,
    Truncate,
    /// docker's header stand-ins: return the first (string) argument.
    HeaderSame1,
    HeaderSame2,
    HeaderTruncate,
}

impl Builtin {
    pub(crate) fn sig(self) -> Sig {
        use Builtin::*;
        use Kind::*;
        let (fixed, variadic): (&'static [Kind], _) = match self {
            And | Or => (&[Any], Some(Any)),
            Not | Len | Json => (&[Any], None),
            Index | Slice | Call => (&[Any], Some(Any)),
            Eq => (&[Any], Some(Any)),
            Ne | Lt | Le | Gt | Ge => (&[Any, Any], None),
            Print | Println | Html | Js | UrlQuery => (&[], Some(Any)),
            Printf => (&[Str], Some(Any)),
            Split => (&[Str, Str], None),
            Join => (&[Any, Str], None),
            Title | Lower | Upper | HeaderSame1 => (&[Str], None),
            Pad => (&[Str, Int, Int], None),
            Truncate | HeaderTruncate => (&[Str, Int], None),
            HeaderSame2 => (&[Str, Str], None),
        };
        Sig { fixed, variadic }
    }
}

const GO_BUILTINS: &[(&str, Builtin)] = &[
    ("and", Builtin::And),
    ("call", Builtin::Call),
    ("eq", Builtin::Eq),
    ("ge", Builtin::Ge),
    ("gt", Builtin::Gt),
    ("html", Builtin::Html),
    ("index", Builtin::Index),
    ("js", Builtin::Js),
    ("le", Builtin::Le),
    ("len", Builtin::Len),
    ("lt", Builtin::Lt),
    ("ne", Builtin::Ne),
    ("not", Builtin::Not),
    ("or", Builtin::Or),
    ("print", Builtin::Print),
    ("printf", Builtin::Printf),
    ("println", Builtin::Println),
    ("slice", Builtin::Slice),
    ("urlquery", Builtin::UrlQuery),
];

#[derive(Clone)]
pub(crate) enum Func {
    Builtin(Builtin),
    Custom(Arc<FuncFn>),
}

/// Functions available to a template on top of Go's builtins.
#[derive(Clone, Default)]
pub struct Funcs {
    map: BTreeMap<String, Func>,
}

impl fmt::Debug for Funcs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Funcs {
    /// Go's builtins only (`and`, `len`, `printf`, ...).
    pub fn new() -> Funcs {
        Funcs::default()
    }

    /// docker's template functions (`json split join title lower upper pad
    /// truncate`), as every docker `--format` has them.
    pub fn docker() -> Funcs {
        let mut f = Funcs::new();
        for (name, b) in [
            ("json", Builtin::Json),
            ("split", Builtin::Split),
            ("join", Builtin::Join),
            ("title", Builtin::Title),
            ("lower", Builtin::Lower),
            ("upper", Builtin::Upper),
            ("pad", Builtin::Pad),
            ("truncate", Builtin::Truncate),
        ] {
            f.map.insert(name.to_string(), Func::Builtin(b));
        }
        f
    }

    /// docker's `HeaderFunctions`: while a table header is rendered, the
    /// string functions return their input unchanged so that
    /// `{{upper .Name}}` still prints the `NAME` label; `pad` stays real to
    /// keep columns aligned.
    pub fn docker_header() -> Funcs {
        let mut f = Funcs::docker();
        for (name, b) in [
            ("json", Builtin::HeaderSame1),
            ("split", Builtin::HeaderSame2),
            ("join", Builtin::HeaderSame2),
            ("title", Builtin::HeaderSame1),
            ("lower", Builtin::HeaderSame1),
            ("upper", Builtin::HeaderSame1),
            ("truncate", Builtin::HeaderTruncate),
        ] {
            f.map.insert(name.to_string(), Func::Builtin(b));
        }
        f
    }

    /// Adds (or replaces) a function. Missing values reach it as null.
    pub fn add<F>(mut self, name: impl Into<String>, f: F) -> Funcs
    where
        F: Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.map.insert(name.into(), Func::Custom(Arc::new(f)));
        self
    }

    /// This set with `overlay`'s functions added on top.
    pub(crate) fn merged(&self, overlay: &Funcs) -> Funcs {
        let mut map = self.map.clone();
        map.extend(overlay.map.iter().map(|(k, v)| (k.clone(), v.clone())));
        Funcs { map }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<Func> {
        self.map.get(name).cloned().or_else(|| {
            GO_BUILTINS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| Func::Builtin(*b))
        })
    }
}

/// Methods of template data: `{{.Label "com.example"}}` calls the method
/// `Label` with the value left of it as receiver. A method takes precedence
/// over a key of the same name, as Go methods do over fields.
#[derive(Clone, Default)]
pub struct Methods {
    map: BTreeMap<String, Arc<MethodFn>>,
}

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Methods {
    pub fn new() -> Methods {
        Methods::default()
    }

    /// Adds (or replaces) a method.
    pub fn add<F>(mut self, name: impl Into<String>, f: F) -> Methods
    where
        F: Fn(&Value, &[Value]) -> Result<Value, String> + Send + Sync + 'static,
    {
        self.map.insert(name.into(), Arc::new(f));
        self
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<MethodFn>> {
        self.map.get(name)
    }
}
