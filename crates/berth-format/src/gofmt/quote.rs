//! `strconv.Quote` and friends: Go's `%q`, and the quoting inside Go's
//! template error messages (`unexpected "}" in operand`).

/// Go's `unicode.IsPrint`, approximated without Unicode tables: letters,
/// marks, numbers, punctuation and symbols plus the ASCII space. Controls,
/// format characters, separators other than U+0020, private use and
/// non-characters are not printable.
pub(crate) fn is_print(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        u,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0xD800..=0xF8FF
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xFFFE..=0xFFFF
            | 0xE0000..=0xE007F
            | 0xF0000..
    )
}

/// Appends `c` escaped as Go does inside a quoted literal delimited by `quote`.
fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if (ascii_only && c.is_ascii() && is_print(c)) || (!ascii_only && is_print(c)) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// `strconv.Quote` (or `QuoteToASCII` when `ascii_only`).
pub(crate) fn quote(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii_only);
    }
    out.push('"');
    out
}

/// `strconv.QuoteRune` (or `QuoteRuneToASCII`).
pub(crate) fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// `strconv.CanBackquote`: the string fits in a Go raw string literal.
pub(crate) fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

/// Go's `%#U` for a rune, as in `U+0021 '!'`.
pub(crate) fn unicode_notation(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Go's `%.10q...`-style abbreviation used for long tokens in parse errors:
/// the first `n` characters quoted, then `...`.
pub(crate) fn quote_prefix(s: &str, n: usize) -> String {
    let head: String = s.chars().take(n).collect();
    format!("{}...", quote(&head, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are Go's `strconv.Quote`/`QuoteToASCII` output.
    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a\"b", false), r#""a\"b""#);
        assert_eq!(quote("héllo\x01\u{a0}😀", false), r#""héllo\x01\u00a0😀""#);
        assert_eq!(quote("héllo", true), r#""h\u00e9llo""#);
        assert_eq!(quote("tab\there\n", false), r#""tab\there\n""#);
        assert_eq!(quote_rune('B', false), "'B'");
        assert_eq!(quote_rune('\'', false), r"'\''");
        assert!(can_backquote("a\"b"));
        assert!(!can_backquote("a`b"));
        assert_eq!(unicode_notation('}'), "U+007D '}'");
        assert_eq!(unicode_notation('\u{2603}'), "U+2603 '☃'");
        assert_eq!(quote_prefix("abcdefghijklmn", 10), r#""abcdefghij"..."#);
    }
}
