//! JSON text exactly as Go's `encoding/json` writes it.
//!
//! `serde_json` and Go agree on most output but not all: Go always escapes
//! U+2028 and U+2029, escapes `<`, `>` and `&` unless HTML escaping is turned
//! off, and writes large or tiny floats as `1e+21` rather than `1e21`.
//! docker's `{{json .}}` turns HTML escaping off; `docker inspect` output
//! comes from a Go daemon, which leaves it on.

use serde_json::{Number, Value};

use crate::gofmt::float;

/// Compact JSON as docker's `{{json}}` template function prints it: no HTML
/// escaping and no trailing newline. Object keys keep the value's order.
pub fn to_string(value: &Value) -> String {
    encode(value, None, false)
}

/// JSON as Go's `json.Marshal` (`indent: None`) or
/// `json.MarshalIndent(v, "", indent)` writes it; `escape_html` selects Go's
/// default escaping of `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`
/// (on in a Go daemon's responses, off in docker's `{{json}}`).
pub fn encode(value: &Value, indent: Option<&str>, escape_html: bool) -> String {
    let mut out = String::new();
    let style = Style {
        indent: indent.map(str::to_string),
        escape_html,
    };
    write_value(&mut out, value, &style, 0);
    out
}

struct Style {
    indent: Option<String>,
    escape_html: bool,
}

fn newline(out: &mut String, style: &Style, depth: usize) {
    if let Some(indent) = &style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

fn write_value(out: &mut String, value: &Value, style: &Style, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::Array(items) => {
            out.push('[');
            if !items.is_empty() {
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    newline(out, style, depth + 1);
                    write_value(out, item, style, depth + 1);
                }
                newline(out, style, depth);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            if !map.is_empty() {
                for (k, (key, item)) in map.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    newline(out, style, depth + 1);
                    write_string(out, key, style.escape_html);
                    out.push(':');
                    if style.indent.is_some() {
                        out.push(' ');
                    }
                    write_value(out, item, style, depth + 1);
                }
                newline(out, style, depth);
            }
            out.push('}');
        }
    }
}

/// Integers verbatim; floats in Go's `'f'` form unless their magnitude is
/// below 1e-6 or at least 1e21, then `'e'` with a short exponent (`1e-7`).
fn write_number(out: &mut String, n: &Number) {
    if n.is_i64() || n.is_u64() {
        out.push_str(&n.to_string());
        return;
    }
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = float::format(f, 'e', None);
        // Go rewrites e-07 as e-7 (but keeps e+21).
        match s.split_once("e-0") {
            Some((mant, exp)) => {
                out.push_str(mant);
                out.push_str("e-");
                out.push_str(exp);
            }
            None => out.push_str(&s),
        }
    } else {
        out.push_str(&float::format(f, 'f', None));
    }
}

fn write_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xF] as char);
            }
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xF] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// docker's `json` template func: SetEscapeHTML(false), newline trimmed.
    #[test]
    fn compact_like_docker_json_func() {
        assert_eq!(to_string(&json!("<a>&")), r#""<a>&""#);
        assert_eq!(
            to_string(&json!({"b": [1, 2.5, null], "a": {"x": true}})),
            r#"{"b":[1,2.5,null],"a":{"x":true}}"#
        );
        assert_eq!(
            to_string(&json!("a\u{2028}\u{1}\u{8}\"\\")),
            r#""a\u2028\u0001\b\"\\""#
        );
        assert_eq!(to_string(&json!(1e21)), "1e+21");
        assert_eq!(to_string(&json!(1e-7)), "1e-7");
        assert_eq!(to_string(&json!(1e20)), "100000000000000000000");
        assert_eq!(to_string(&json!(0.000001)), "0.000001");
        assert_eq!(to_string(&json!(u64::MAX)), "18446744073709551615");
    }

    /// `json.MarshalIndent(v, "", "    ")` as docker inspect prints it.
    #[test]
    fn indent_like_go_marshal_indent() {
        let v = json!([{"Id": "abc", "Args": [], "Config": {}, "Env": ["A=<b>"]}]);
        assert_eq!(
            encode(&v, Some("    "), true),
            "[\n    {\n        \"Id\": \"abc\",\n        \"Args\": [],\n        \"Config\": {},\n        \"Env\": [\n            \"A=\\u003cb\\u003e\"\n        ]\n    }\n]"
        );
    }
}
