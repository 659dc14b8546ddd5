//! Go's builtin template functions and docker's additions.
//!
//! Arguments arrive already checked against [`Builtin::sig`], so a `Str`
//! parameter holds a string; error texts are the ones Go's functions return
//! (the caller wraps them as `error calling NAME: ...`).

use std::cmp::Ordering;

use serde_json::Value;

use super::funcs::Builtin;
use super::value::Val;
use crate::gofmt::{printf, quote};

/// One evaluated argument, converted to the parameter's kind.
pub(crate) enum ArgVal<'d> {
    Any(Val<'d>),
    Str(String),
    Int(i64),
}

impl<'d> ArgVal<'d> {
    fn val(self) -> Val<'d> {
        match self {
            ArgVal::Any(v) => v,
            ArgVal::Str(s) => Val::owned(Value::String(s)),
            ArgVal::Int(i) => Val::owned(Value::from(i)),
        }
    }

    fn str(&self) -> &str {
        match self {
            ArgVal::Str(s) => s,
            _ => "",
        }
    }

    fn int(&self) -> i64 {
        match self {
            ArgVal::Int(i) => *i,
            _ => 0,
        }
    }
}

fn values(args: Vec<ArgVal<'_>>) -> Vec<Value> {
    args.into_iter().map(|a| a.val().to_value()).collect()
}

fn string<'d>(s: impl Into<String>) -> Result<Val<'d>, String> {
    Ok(Val::owned(Value::String(s.into())))
}

pub(crate) fn call<'d>(b: Builtin, mut args: Vec<ArgVal<'d>>) -> Result<Val<'d>, String> {
    use Builtin::*;
    match b {
        // Short-circuiting happens in the executor; this is the eager form.
        And | Or => {
            let want = b == Or;
            let last = args.len().saturating_sub(1);
            for (i, a) in args.into_iter().enumerate() {
                let v = a.val();
                if v.is_true() == want || i == last {
                    return Ok(v);
                }
            }
            Ok(Val::Missing)
        }
        Not => Ok(Val::owned(Value::Bool(!args.remove(0).val().is_true()))),
        Len => len(&args.remove(0).val()),
        Index => {
            let item = args.remove(0).val();
            index(item, args.into_iter().map(ArgVal::val).collect())
        }
        Slice => {
            let item = args.remove(0).val();
            slice(&item, args.into_iter().map(ArgVal::val).collect())
        }
        Eq => {
            let a = args.remove(0).val();
            let rest: Vec<Val> = args.into_iter().map(ArgVal::val).collect();
            eq(&a, &rest).map(bool_val)
        }
        Ne | Lt | Le | Gt | Ge => {
            let a = args.remove(0).val();
            let c = args.remove(0).val();
            let r = match b {
                Ne => eq(&a, std::slice::from_ref(&c)).map(|t| !t),
                Lt => lt(&a, &c),
                Le => le(&a, &c),
                Gt => le(&a, &c).map(|t| !t),
                _ => lt(&a, &c).map(|t| !t),
            };
            r.map(bool_val)
        }
        Print => string(printf::sprint(&values(args))),
        Println => string(printf::sprintln(&values(args))),
        Printf => {
            let format = args.remove(0).str().to_string();
            string(printf::sprintf(&format, &values(args)))
        }
        Html => string(html_escape(&eval_args(args))),
        Js => string(js_escape(&eval_args(args))),
        UrlQuery => string(query_escape(&eval_args(args))),
        Call => {
            let f = args.remove(0).val();
            if f.is_nil() {
                return Err("call of nil".into());
            }
            Err(format!("non-function of type {}", f.go_type()))
        }
        Json => string(crate::json::to_string(&args.remove(0).val().to_value())),
        Split => {
            let (s, sep) = (args[0].str(), args[1].str());
            Ok(Val::owned(Value::Array(
                go_split(s, sep).into_iter().map(Value::String).collect(),
            )))
        }
        Join => {
            let sep = args.remove(1).str().to_string();
            join(&args.remove(0).val(), &sep).and_then(string)
        }
        Title => string(title(args[0].str())),
        Lower => string(args[0].str().to_lowercase()),
        Upper => string(args[0].str().to_uppercase()),
        Pad => {
            let (s, pre, suf) = (args[0].str(), args[1].int(), args[2].int());
            if s.is_empty() {
                return string("");
            }
            if pre < 0 || suf < 0 {
                return Err("strings: negative Repeat count".into());
            }
            string(format!(
                "{}{s}{}",
                " ".repeat(pre as usize),
                " ".repeat(suf as usize)
            ))
        }
        Truncate => {
            let (s, n) = (args[0].str(), args[1].int());
            if n < 0 {
                return Err(format!("runtime error: slice bounds out of range [:{n}]"));
            }
            let n = n as usize;
            if s.len() < n {
                return string(s);
            }
            // docker cuts bytes; stop at the character boundary below.
            let mut cut = n;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            string(&s[..cut])
        }
        HeaderSame1 | HeaderSame2 | HeaderTruncate => string(args[0].str()),
    }
}

fn bool_val<'d>(b: bool) -> Val<'d> {
    Val::owned(Value::Bool(b))
}

/// Go's `evalArgs` for html/js/urlquery: a lone string as is, else Sprint,
/// with nil operands first turned into the string `<no value>`.
fn eval_args(args: Vec<ArgVal<'_>>) -> String {
    let vals: Vec<Value> = values(args)
        .into_iter()
        .map(|v| match v {
            Value::Null => Value::String("<no value>".into()),
            v => v,
        })
        .collect();
    match vals.as_slice() {
        [Value::String(s)] => s.clone(),
        _ => printf::sprint(&vals),
    }
}

fn len<'d>(v: &Val<'d>) -> Result<Val<'d>, String> {
    let n = match v.get() {
        None | Some(Value::Null) => return Err("len of nil pointer".into()),
        Some(Value::String(s)) => s.len(),
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(o)) => o.len(),
        Some(other) => return Err(format!("len of type {}", printf::type_name(other))),
    };
    Ok(Val::owned(Value::from(n)))
}

/// An integer index argument, with Go's messages for other types.
fn int_index(v: &Val<'_>, what: &str) -> Result<i64, String> {
    match v.get() {
        None | Some(Value::Null) => Err(format!("cannot index {what} with nil")),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or(0)),
        Some(other) => Err(format!(
            "cannot index {what} with type {}",
            printf::type_name(other)
        )),
    }
}

fn index<'d>(item: Val<'d>, indexes: Vec<Val<'d>>) -> Result<Val<'d>, String> {
    let mut cur = item;
    for idx in indexes {
        cur = match cur.get() {
            None => return Err("index of untyped nil".into()),
            // A null map in the JSON was a nil map in docker's structs;
            // indexing one gives the zero value, "" for labels.
            Some(Value::Null) if matches!(idx.get(), Some(Value::String(_))) => {
                Val::owned(Value::String(String::new()))
            }
            Some(Value::Null) => return Err("index of untyped nil".into()),
            Some(Value::Array(items)) => {
                let i = int_index(&idx, "slice/array")?;
                if i < 0 || i as usize >= items.len() {
                    return Err(format!("index out of range: {i}"));
                }
                match &cur {
                    Val::Borrowed(v) => Val::Borrowed(&v[i as usize]),
                    _ => Val::owned(items[i as usize].clone()),
                }
            }
            Some(Value::String(s)) => {
                let i = int_index(&idx, "slice/array")?;
                match s.as_bytes().get(i.max(0) as usize).filter(|_| i >= 0) {
                    Some(byte) => Val::owned(Value::from(*byte)),
                    None => return Err(format!("index out of range: {i}")),
                }
            }
            Some(Value::Object(map)) => {
                let key = match idx.get() {
                    Some(Value::String(k)) => k.clone(),
                    Some(other) => {
                        return Err(format!(
                            "value has type {}; should be string",
                            printf::type_name(other)
                        ))
                    }
                    None => return Err("value is nil; should be of type string".into()),
                };
                match cur.key(&key) {
                    Some(v) => v,
                    // Missing key: the map's zero value. String maps (labels,
                    // options) give ""; for others Go prints <no value>.
                    None if map.values().all(Value::is_string) => {
                        Val::owned(Value::String(String::new()))
                    }
                    None => Val::Missing,
                }
            }
            Some(other) => {
                return Err(format!(
                    "can't index item of type {}",
                    printf::type_name(other)
                ))
            }
        };
    }
    Ok(cur)
}

fn slice<'d>(item: &Val<'d>, indexes: Vec<Val<'d>>) -> Result<Val<'d>, String> {
    let v = match item.get() {
        None | Some(Value::Null) => return Err("slice of untyped nil".into()),
        Some(v) => v,
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match v {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::Array(a) => a.len(),
        other => {
            return Err(format!(
                "can't slice item of type {}",
                printf::type_name(other)
            ))
        }
    };
    let mut idx = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        let x = int_index(index, "slice/array")?;
        if x < 0 || x as usize > len {
            return Err(format!("index out of range: {x}"));
        }
        idx[i] = x as usize;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(Val::owned(match v {
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::Array(a) => Value::Array(a[idx[0]..idx[1]].to_vec()),
        _ => Value::Null,
    }))
}

/// Comparable kinds, as Go's `basicKind` sorts them.
#[derive(PartialEq)]
enum Basic<'a> {
    Nil,
    Bool(bool),
    Num(&'a serde_json::Number),
    Str(&'a str),
    Other,
}

fn basic<'a>(v: &'a Val<'_>) -> Basic<'a> {
    match v.get() {
        None | Some(Value::Null) => Basic::Nil,
        Some(Value::Bool(b)) => Basic::Bool(*b),
        Some(Value::Number(n)) => Basic::Num(n),
        Some(Value::String(s)) => Basic::Str(s),
        Some(_) => Basic::Other,
    }
}

/// Numbers compare by value whatever their JSON form; Go would refuse to
/// compare an int with a float, which JSON data cannot tell apart reliably.
fn num_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => match (a.as_u64(), b.as_u64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
        },
    }
}

fn eq(a: &Val<'_>, others: &[Val<'_>]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic(a);
    for o in others {
        let k2 = basic(o);
        let truth = match (&k1, &k2) {
            (Basic::Nil, Basic::Nil) => true,
            (Basic::Nil, _) | (_, Basic::Nil) => false,
            (Basic::Bool(x), Basic::Bool(y)) => x == y,
            (Basic::Num(x), Basic::Num(y)) => num_cmp(x, y) == Some(Ordering::Equal),
            (Basic::Str(x), Basic::Str(y)) => x == y,
            (Basic::Other, Basic::Other) => {
                let v = o.to_value();
                return Err(format!(
                    "non-comparable type {}: {}",
                    printf::sprintf("%s", std::slice::from_ref(&v)),
                    printf::type_name(&v)
                ));
            }
            _ => return Err("incompatible types for comparison".into()),
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go checks that both operands are basic values, then that their kinds
/// match, then that the kind is ordered.
fn lt(a: &Val<'_>, b: &Val<'_>) -> Result<bool, String> {
    let bad_type = || Err("invalid type for comparison".to_string());
    match (basic(a), basic(b)) {
        (Basic::Nil | Basic::Other, _) | (_, Basic::Nil | Basic::Other) => bad_type(),
        (Basic::Num(x), Basic::Num(y)) => Ok(num_cmp(x, y) == Some(Ordering::Less)),
        (Basic::Str(x), Basic::Str(y)) => Ok(x < y),
        (Basic::Bool(_), Basic::Bool(_)) => bad_type(),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn le(a: &Val<'_>, b: &Val<'_>) -> Result<bool, String> {
    Ok(lt(a, b)? || eq(a, std::slice::from_ref(b))?)
}

/// docker's `join`: strings joined as they are, other elements through
/// `fmt.Sprint`; a map's values are joined in sorted order.
fn join(v: &Val<'_>, sep: &str) -> Result<String, String> {
    let print = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => printf::sprint_value(other),
    };
    match v.get() {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Array(items)) => Ok(items.iter().map(print).collect::<Vec<_>>().join(sep)),
        Some(Value::Object(map)) => {
            let mut out: Vec<String> = map.values().map(print).collect();
            out.sort();
            Ok(out.join(sep))
        }
        Some(other) => Err(format!("expected slice, got {}", printf::type_name(other))),
    }
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn go_split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(String::from).collect();
    }
    s.split(sep).map(String::from).collect()
}

/// Go's `strings.Title`: upper-cases the first letter of each word, where
/// words are separated by anything but letters, digits and `_`.
fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || !quote::is_print(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `strings.Title` keeps the rest of each word and does not split on `_`.
    #[test]
    fn title_like_go() {
        assert_eq!(
            title("hello wORLD foo-bar_baz x.y"),
            "Hello WORLD Foo-Bar_baz X.Y"
        );
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(html_escape("<a&b>'\""), "&lt;a&amp;b&gt;&#39;&#34;");
        assert_eq!(js_escape("a'b<"), "a\\'b\\u003C");
        assert_eq!(query_escape("a b&c"), "a+b%26c");
        assert_eq!(go_split("a,b,", ","), ["a", "b", ""]);
        assert_eq!(go_split("ab", ""), ["a", "b"]);
        assert_eq!(go_split("", ","), [""]);
    }
}
