//! Go's `fmt.Sprint`, `fmt.Sprintln` and `fmt.Sprintf` over JSON values.
//!
//! Template data is JSON, so each value is printed as the Go value
//! `encoding/json` would have produced for it, except that integers stay
//! integers (docker's typed structs hold `int64`, not `float64`): strings
//! are `string`, integers `int` (`uint64` past `i64::MAX`), other numbers
//! `float64`, arrays `[]interface {}`, objects `map[string]interface {}`
//! and null a nil interface.

use serde_json::{Number, Value};

use super::{float, quote};

/// A JSON number as the Go type it stands for.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Uint(u64),
    Float(f64),
}

fn classify(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i)
    } else if let Some(u) = n.as_u64() {
        Num::Uint(u)
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// The Go type name of a value, as `%T` and error messages print it.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) => match classify(n) {
            Num::Int(_) => "int",
            Num::Uint(_) => "uint64",
            Num::Float(_) => "float64",
        },
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// `fmt.Sprint(v)` for one value (the `%v` form).
pub(crate) fn sprint_value(v: &Value) -> String {
    let mut p = Printer::default();
    p.print_arg(v, 'v', 0);
    p.buf
}

/// `fmt.Sprint(args...)`: a space between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (k, arg) in args.iter().enumerate() {
        let is_string = arg.is_string();
        if k > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.spec = Spec::default();
        p.print_arg(arg, 'v', 0);
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintln(args...)`: spaces between all operands, newline at the end.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (k, arg) in args.iter().enumerate() {
        if k > 0 {
            p.buf.push(' ');
        }
        p.spec = Spec::default();
        p.print_arg(arg, 'v', 0);
    }
    p.buf.push('\n');
    p.buf
}

/// `fmt.Sprintf(format, args...)`, including Go's in-band error notes
/// (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA int=2)`).
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

/// Flags, width and precision of one verb.
#[derive(Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    spec: Spec,
    reordered: bool,
    good_arg_num: bool,
}

/// Go refuses widths and precisions above this (`tooLarge`).
const MAX_NUM: usize = 1_000_000;

/// Parses decimal digits in `s[start..end]` (Go's `parsenum`).
fn parse_num(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num = 0usize;
    let mut isnum = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if num > MAX_NUM {
            return (0, false, end);
        }
        num = num * 10 + (s[i] - b'0') as usize;
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

impl Printer {
    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let b = format.as_bytes();
        let end = b.len();
        let mut arg_num = 0usize;
        let mut i = 0usize;
        self.reordered = false;
        while i < end {
            self.good_arg_num = true;
            let lasti = i;
            while i < end && b[i] != b'%' {
                i += 1;
            }
            self.buf.push_str(&format[lasti..i]);
            if i >= end {
                break;
            }
            i += 1;
            self.spec = Spec::default();
            while i < end {
                match b[i] {
                    b'#' => self.spec.sharp = true,
                    b'0' => self.spec.zero = !self.spec.minus,
                    b'+' => self.spec.plus = true,
                    b'-' => {
                        self.spec.minus = true;
                        self.spec.zero = false;
                    }
                    b' ' => self.spec.space = true,
                    _ => break,
                }
                i += 1;
            }
            let mut after_index;
            (arg_num, i, after_index) = self.arg_number(arg_num, b, i, args.len());
            if i < end && b[i] == b'*' {
                i += 1;
                let (w, ok, next) = int_from_arg(args, arg_num);
                arg_num = next;
                match w {
                    _ if !ok => self.buf.push_str("%!(BADWIDTH)"),
                    w if w < 0 => {
                        self.spec.minus = true;
                        self.spec.zero = false;
                        self.spec.width = Some(w.unsigned_abs() as usize);
                    }
                    w => self.spec.width = Some(w as usize),
                }
                after_index = false;
            } else {
                let (w, ok, next) = parse_num(b, i, end);
                i = next;
                if ok {
                    self.spec.width = Some(w);
                    if after_index {
                        self.good_arg_num = false;
                    }
                }
            }
            if i < end && b[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, b, i, args.len());
                if i < end && b[i] == b'*' {
                    i += 1;
                    let (p, ok, next) = int_from_arg(args, arg_num);
                    arg_num = next;
                    if !ok || p < 0 {
                        self.spec.prec = None;
                        self.buf.push_str("%!(BADPREC)");
                    } else {
                        self.spec.prec = Some(p as usize);
                    }
                    after_index = false;
                } else {
                    let (p, ok, next) = parse_num(b, i, end);
                    i = next;
                    self.spec.prec = Some(if ok { p } else { 0 });
                }
            }
            if !after_index {
                (arg_num, i, _) = self.arg_number(arg_num, b, i, args.len());
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('?');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !self.good_arg_num {
                self.buf.push_str(&format!("%!{verb}(BADINDEX)"));
            } else if arg_num >= args.len() {
                self.buf.push_str(&format!("%!{verb}(MISSING)"));
            } else {
                if verb == 'v' {
                    self.spec.sharp_v = self.spec.sharp;
                    self.spec.sharp = false;
                    self.spec.plus_v = self.spec.plus;
                    self.spec.plus = false;
                }
                self.print_arg(&args[arg_num], verb, 0);
                arg_num += 1;
            }
        }
        if !self.reordered && arg_num < args.len() {
            self.spec = Spec::default();
            self.buf.push_str("%!(EXTRA ");
            for (k, arg) in args[arg_num..].iter().enumerate() {
                if k > 0 {
                    self.buf.push_str(", ");
                }
                if arg.is_null() {
                    self.buf.push_str("<nil>");
                } else {
                    self.buf.push_str(type_name(arg));
                    self.buf.push('=');
                    self.print_arg(arg, 'v', 0);
                }
            }
            self.buf.push(')');
        }
    }

    /// Go's `argNumber`: an explicit `[n]` argument index.
    fn arg_number(
        &mut self,
        arg_num: usize,
        b: &[u8],
        i: usize,
        num_args: usize,
    ) -> (usize, usize, bool) {
        if i >= b.len() || b[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        let rest = &b[i..];
        let (index, wid, ok) = parse_arg_number(rest);
        if ok && index < num_args {
            return (index, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    fn print_arg(&mut self, v: &Value, verb: char, depth: usize) {
        if verb == 'T' {
            self.pad(type_name(v));
            return;
        }
        match v {
            Value::Null => {
                if depth > 0 && self.spec.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else if depth > 0 || verb == 'v' {
                    self.pad("<nil>");
                } else {
                    self.bad_verb(v, verb);
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(v, verb),
            },
            Value::Number(n) => match classify(n) {
                Num::Int(i) => self.fmt_integer(v, i < 0, i.unsigned_abs(), verb),
                Num::Uint(u) => self.fmt_integer(v, false, u, verb),
                Num::Float(f) => self.fmt_float(v, f, verb),
            },
            Value::String(s) => self.fmt_string(v, s, verb),
            Value::Array(items) => {
                if self.spec.sharp_v {
                    self.buf.push_str("[]interface {}{");
                } else {
                    self.buf.push('[');
                }
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        self.buf
                            .push_str(if self.spec.sharp_v { ", " } else { " " });
                    }
                    self.print_arg(item, verb, depth + 1);
                }
                self.buf.push(if self.spec.sharp_v { '}' } else { ']' });
            }
            Value::Object(map) => {
                if self.spec.sharp_v {
                    self.buf.push_str("map[string]interface {}{");
                } else {
                    self.buf.push_str("map[");
                }
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for (k, key) in keys.into_iter().enumerate() {
                    if k > 0 {
                        self.buf
                            .push_str(if self.spec.sharp_v { ", " } else { " " });
                    }
                    self.print_arg(&Value::String(key.clone()), verb, depth + 1);
                    self.buf.push(':');
                    self.print_arg(&map[key], verb, depth + 1);
                }
                self.buf.push(if self.spec.sharp_v { '}' } else { ']' });
            }
        }
    }

    /// `%!verb(type=value)` for a verb that does not apply to the value.
    fn bad_verb(&mut self, v: &Value, verb: char) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        if v.is_null() {
            self.buf.push_str("<nil>");
        } else {
            self.buf.push_str(type_name(v));
            self.buf.push('=');
            self.print_arg(v, 'v', 0);
        }
        self.buf.push(')');
    }

    /// Writes `n` padding characters: zeros with the `0` flag, else spaces.
    fn write_padding(&mut self, n: usize) {
        let c = if self.spec.zero { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    /// Pads `s` to the width (counted in characters) on the side the flags ask.
    fn pad(&mut self, s: &str) {
        let Some(width) = self.spec.width.filter(|w| *w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let n = width.saturating_sub(s.chars().count());
        if self.spec.minus {
            self.buf.push_str(s);
            self.write_padding(n);
        } else {
            self.write_padding(n);
            self.buf.push_str(s);
        }
    }

    /// Pads with spaces even when the `0` flag is set.
    fn pad_spaces(&mut self, s: &str) {
        let zero = std::mem::replace(&mut self.spec.zero, false);
        self.pad(s);
        self.spec.zero = zero;
    }

    fn fmt_integer(&mut self, v: &Value, negative: bool, mag: u64, verb: char) {
        let (base, upper) = match verb {
            'v' | 'd' => (10, false),
            'b' => (2, false),
            'o' | 'O' => (8, false),
            'x' => (16, false),
            'X' => (16, true),
            'c' => {
                let c = char::from_u32(mag as u32).filter(|_| !negative && mag <= 0x10FFFF);
                let s = c.unwrap_or('\u{FFFD}').to_string();
                self.pad_spaces(&s);
                return;
            }
            'q' => {
                let c = char::from_u32(mag as u32)
                    .filter(|_| !negative && mag <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                let s = if self.spec.sharp && quote::is_print(c) {
                    format!("'{c}'")
                } else {
                    quote::quote_rune(c, self.spec.plus)
                };
                self.pad_spaces(&s);
                return;
            }
            'U' => {
                let mut s = format!("U+{:04X}", mag);
                if let Some(p) = self.spec.prec {
                    let digits = s.len() - 2;
                    if p > digits {
                        s = format!("U+{}{:X}", "0".repeat(p - digits), mag);
                    }
                }
                if self.spec.sharp {
                    if let Some(c) = char::from_u32(mag as u32).filter(|c| quote::is_print(*c)) {
                        s.push_str(&format!(" '{c}'"));
                    }
                }
                self.pad_spaces(&s);
                return;
            }
            _ => {
                self.bad_verb(v, verb);
                return;
            }
        };
        let mut prec = 0usize;
        if let Some(p) = self.spec.prec {
            prec = p;
            if p == 0 && mag == 0 {
                let zero = std::mem::replace(&mut self.spec.zero, false);
                let n = self.spec.width.unwrap_or(0);
                self.write_padding(n);
                self.spec.zero = zero;
                return;
            }
        } else if let (true, Some(w)) = (self.spec.zero, self.spec.width) {
            prec = w;
            if negative || self.spec.plus || self.spec.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut digits = match (base, upper) {
            (2, _) => format!("{mag:b}"),
            (8, _) => format!("{mag:o}"),
            (16, false) => format!("{mag:x}"),
            (16, true) => format!("{mag:X}"),
            _ => mag.to_string(),
        };
        if digits.len() < prec {
            digits = "0".repeat(prec - digits.len()) + &digits;
        }
        let mut prefix = String::new();
        if self.spec.sharp {
            match base {
                2 => prefix.push_str("0b"),
                8 if !digits.starts_with('0') => prefix.push('0'),
                16 => prefix.push_str(if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            prefix = "0o".to_string();
        }
        let sign = if negative {
            "-"
        } else if self.spec.plus {
            "+"
        } else if self.spec.space {
            " "
        } else {
            ""
        };
        let s = format!("{sign}{prefix}{digits}");
        self.pad_spaces(&s);
    }

    fn fmt_float(&mut self, v: &Value, f: f64, verb: char) {
        let (conv, default_prec) = match verb {
            'v' | 'g' => ('g', None),
            'G' => ('G', None),
            'e' | 'E' | 'f' | 'F' => (verb, Some(6)),
            _ => {
                self.bad_verb(v, verb);
                return;
            }
        };
        let prec = self.spec.prec.or(default_prec);
        let num = float::format(f, conv, prec);
        let (mut sign, body) = match num.strip_prefix('-') {
            Some(rest) => ('-', rest.to_string()),
            None => match num.strip_prefix('+') {
                Some(rest) => ('+', rest.to_string()),
                None => ('+', num.clone()),
            },
        };
        if self.spec.space && sign == '+' && !self.spec.plus {
            sign = ' ';
        }
        if body.starts_with('I') || body.starts_with('N') {
            let s = if body.starts_with('N') && !self.spec.space && !self.spec.plus {
                body
            } else {
                format!("{sign}{body}")
            };
            self.pad_spaces(&s);
            return;
        }
        if self.spec.plus || sign != '+' {
            let len = body.chars().count() + 1;
            match self.spec.width {
                Some(w) if self.spec.zero && w > len => {
                    self.buf.push(sign);
                    self.write_padding(w - len);
                    self.buf.push_str(&body);
                }
                _ => self.pad(&format!("{sign}{body}")),
            }
            return;
        }
        self.pad(&body);
    }

    fn fmt_string(&mut self, v: &Value, s: &str, verb: char) {
        match verb {
            'v' if self.spec.sharp_v => self.pad(&quote::quote(s, false)),
            'v' | 's' => {
                let t = self.truncate(s);
                self.pad(&t);
            }
            'q' => {
                let t = self.truncate(s);
                let q = if self.spec.sharp && quote::can_backquote(&t) {
                    format!("`{t}`")
                } else {
                    quote::quote(&t, self.spec.plus)
                };
                self.pad(&q);
            }
            'x' | 'X' => self.fmt_hex_string(s, verb == 'X'),
            _ => self.bad_verb(v, verb),
        }
    }

    /// The string cut to the precision, counted in characters.
    fn truncate(&self, s: &str) -> String {
        match self.spec.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        }
    }

    /// `%x` on a string: hex bytes, optionally spaced and `0x`-prefixed.
    fn fmt_hex_string(&mut self, s: &str, upper: bool) {
        let bytes = s.as_bytes();
        let length = self.spec.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        let mut width = 2 * length;
        if width == 0 {
            if let Some(w) = self.spec.width {
                self.write_padding(w);
            }
            return;
        }
        if self.spec.space {
            if self.spec.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.spec.sharp {
            width += 2;
        }
        let w = self.spec.width.unwrap_or(0);
        if w > width && !self.spec.minus {
            self.write_padding(w - width);
        }
        let x = if upper { "0X" } else { "0x" };
        if self.spec.sharp {
            self.buf.push_str(x);
        }
        for (i, byte) in bytes[..length].iter().enumerate() {
            if self.spec.space && i > 0 {
                self.buf.push(' ');
                if self.spec.sharp {
                    self.buf.push_str(x);
                }
            }
            if upper {
                self.buf.push_str(&format!("{byte:02X}"));
            } else {
                self.buf.push_str(&format!("{byte:02x}"));
            }
        }
        if w > width && self.spec.minus {
            self.write_padding(w - width);
        }
    }
}

/// Go's `parseArgNumber` on the text starting at `[`.
fn parse_arg_number(b: &[u8]) -> (usize, usize, bool) {
    if b.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..b.len() {
        if b[i] == b']' {
            let (n, ok, newi) = parse_num(b, 1, i);
            if !ok || newi != i || n == 0 {
                return (0, i + 1, false);
            }
            return (n - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

/// Go's `intFromArg`: the argument as a width or precision.
fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    let Some(arg) = args.get(arg_num) else {
        return (0, false, arg_num);
    };
    let n = arg
        .as_i64()
        .filter(|n| n.unsigned_abs() as usize <= MAX_NUM);
    (n.unwrap_or(0), n.is_some(), arg_num + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(format: &str, args: Value) -> String {
        sprintf(format, args.as_array().unwrap())
    }

    /// Each expected string was printed by Go's `fmt.Sprintf` (integers as
    /// `int`, decimals as `float64`).
    #[test]
    fn sprintf_matches_go() {
        assert_eq!(
            f(
                "%5s|%-5s|%05d|%x|%X|%o|%.2f|%e|%g|%t|%c|%q|%U",
                json!([
                    "ab", "cd", 42, 255, "hi", 8, 3.14158, 1234.5678, 0.00001, true, 65, "a\"b", 65
                ])
            ),
            r#"   ab|cd   |00042|ff|6869|10|3.14|1.234568e+03|1e-05|true|A|"a\"b"|U+0041"#
        );
        assert_eq!(
            f(
                "%08.3f|%-8.2f|%+.1e|%08d|%-08d|%+08d|%.3d|%8.3d",
                json!([-3.14158, 2.5, 12345.0, -42, 42, 42, 7, 7])
            ),
            "-003.142|2.50    |+1.2e+04|-0000042|42      |+0000042|007|     007"
        );
        assert_eq!(f("%05s|%.0d|%5.0d|", json!(["ab", 0, 0])), "000ab||     |");
        assert_eq!(
            f("%s %v %d", json!([true, null, null])),
            "%!s(bool=true) <nil> %!d(<nil>)"
        );
        assert_eq!(f("%5t|%-7v|", json!([true, false])), " true|false  |");
        assert_eq!(
            f("%3c|%-4q|%#U", json!([65, 66, 9731])),
            "  A|'B' |U+2603 '☃'"
        );
        assert_eq!(f("%*d|%-*d|", json!([5, 42, 4, 7])), "   42|7   |");
        assert_eq!(f("%.*f", json!([2, 3.14158])), "3.14");
        assert_eq!(f("%[2]d %[1]d", json!([1, 2])), "2 1");
        assert_eq!(f("%d %d", json!([1])), "1 %!d(MISSING)");
        assert_eq!(f("%d", json!([1, 2])), "1%!(EXTRA int=2)");
        assert_eq!(f("%!", json!([])), "%!!(MISSING)");
        assert_eq!(f("%", json!([])), "%!(NOVERB)");
        assert_eq!(f("%z", json!([1])), "%!z(int=1)");
        assert_eq!(f("%6.2f%%", json!([99.5])), " 99.50%");
        assert_eq!(f("%.2s", json!(["héllo"])), "hé");
        assert_eq!(
            f("%x|% x|%#x|%X", json!([-255, "hi", 255, "hi"])),
            "-ff|68 69|0xff|6869"
        );
        assert_eq!(f("%o %O %#o %b", json!([8, 8, 8, 5])), "10 0o10 010 101");
        assert_eq!(f("%6.2v", json!([3.14158])), "   3.1");
        assert_eq!(
            f("%+q|%#q", json!(["héllo", "a\"b"])),
            "\"h\\u00e9llo\"|`a\"b`"
        );
    }

    /// Composite values: Go applies the verb to each element and sorts map keys.
    #[test]
    fn composites_match_go() {
        let l = json!(["x", "y"]);
        let m = json!({"b": 2, "a": 1});
        assert_eq!(f("%v %v", json!([l, []])), "[x y] []");
        assert_eq!(f("%d", json!([l])), "[%!d(string=x) %!d(string=y)]");
        assert_eq!(f("%5v|", json!([l])), "[    x     y]|");
        assert_eq!(f("%q", json!([l])), r#"["x" "y"]"#);
        assert_eq!(f("%v", json!([m])), "map[a:1 b:2]");
        assert_eq!(
            f("%#v %#v %#v %#v", json!(["str", 5, l, m])),
            r#""str" 5 []interface {}{"x", "y"} map[string]interface {}{"a":1, "b":2}"#
        );
        assert_eq!(
            f("%T %T %T %T %T %T", json!(["s", 5, 1.5, l, m, null])),
            "string int float64 []interface {} map[string]interface {} <nil>"
        );
    }

    /// `fmt.Sprint` only inserts a space between two non-string operands.
    #[test]
    fn sprint_spacing_matches_go() {
        let args = json!([1, 2, "a", 3, null, null]);
        assert_eq!(sprint(args.as_array().unwrap()), "1 2a3 <nil> <nil>");
        assert_eq!(sprintln(json!([1, "a"]).as_array().unwrap()), "1 a\n");
        assert_eq!(
            sprint(json!([1.0, 2.5e10, 1e-7, 123456789.0]).as_array().unwrap()),
            "1 2.5e+10 1e-07 1.23456789e+08"
        );
        assert_eq!(
            sprint_value(&json!([1, "a", null, {"z": 1, "a": []}])),
            "[1 a <nil> map[a:[] z:1]]"
        );
    }
}
