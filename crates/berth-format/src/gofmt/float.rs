//! `strconv.FormatFloat` for the verbs docker output uses (`e`, `f`, `g`).
//!
//! Rust's formatter rounds exactly like Go (correctly rounded, ties to even),
//! so the digits come from it; only the layout rules (`%g` switching to an
//! exponent, `e+06` with two exponent digits, trailing zeros) are Go's.

/// Decimal digits of a float's magnitude: `0.d1 d2 d3 ... × 10^dp`.
/// `d` has no trailing zeros; zero has no digits and `dp == 0`.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

impl Digits {
    /// Parses Rust's `{:e}` output (`"1.25e-3"`, `"5e0"`).
    fn from_exp(s: &str) -> Digits {
        let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
        while d.last() == Some(&b'0') {
            d.pop();
        }
        if d.is_empty() {
            return Digits { d, dp: 0 };
        }
        Digits { d, dp: exp + 1 }
    }

    /// The fewest digits that read back as `v`.
    fn shortest(v: f64) -> Digits {
        Digits::from_exp(&format!("{:e}", v.abs()))
    }

    /// `v` rounded to `n` (at least 1) significant digits.
    fn significant(v: f64, n: usize) -> Digits {
        Digits::from_exp(&format!("{:.*e}", n.max(1) - 1, v.abs()))
    }

    fn nd(&self) -> i32 {
        self.d.len() as i32
    }

    fn digit(&self, i: i32) -> char {
        if i >= 0 && i < self.nd() {
            self.d[i as usize] as char
        } else {
            '0'
        }
    }

    /// `d.ddddde±XX` with `prec` digits after the point.
    fn fmt_e(&self, prec: usize, upper: bool, out: &mut String) {
        out.push(self.digit(0));
        if prec > 0 {
            out.push('.');
            for i in 1..=prec as i32 {
                out.push(self.digit(i));
            }
        }
        out.push(if upper { 'E' } else { 'e' });
        let exp = if self.d.is_empty() { 0 } else { self.dp - 1 };
        out.push(if exp < 0 { '-' } else { '+' });
        let exp = exp.unsigned_abs();
        if exp < 10 {
            out.push('0');
        }
        out.push_str(&exp.to_string());
    }

    /// `ddd.ddd` with `prec` digits after the point.
    fn fmt_f(&self, prec: usize, out: &mut String) {
        if self.dp > 0 {
            for i in 0..self.dp {
                out.push(self.digit(i));
            }
        } else {
            out.push('0');
        }
        if prec > 0 {
            out.push('.');
            for i in 1..=prec as i32 {
                out.push(self.digit(self.dp + i - 1));
            }
        }
    }
}

/// Formats `v` like Go's `strconv.FormatFloat(v, verb, prec, 64)`, where
/// `prec == None` stands for Go's `-1` (shortest representation).
/// Verbs: `e E f F g G`; anything else is treated as `g`.
pub(crate) fn format(v: f64, verb: char, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    match verb {
        'e' | 'E' => {
            let digits = match prec {
                Some(p) => Digits::significant(v, p + 1),
                None => Digits::shortest(v),
            };
            let p = prec.unwrap_or_else(|| (digits.nd() - 1).max(0) as usize);
            digits.fmt_e(p, verb == 'E', &mut out);
        }
        'f' | 'F' => match prec {
            Some(p) => out.push_str(&format!("{:.*}", p, v.abs())),
            None => {
                let digits = Digits::shortest(v);
                let p = (digits.nd() - digits.dp).max(0) as usize;
                digits.fmt_f(p, &mut out);
            }
        },
        _ => format_g(v, prec, verb == 'G', &mut out),
    }
    out
}

/// `%g`: exponent form when the exponent is below -4 or reaches the
/// precision (6 for the shortest form), trailing zeros dropped.
fn format_g(v: f64, prec: Option<usize>, upper: bool, out: &mut String) {
    let shortest = prec.is_none();
    let p = prec.map(|p| p.max(1) as i32);
    let digits = match p {
        Some(p) => Digits::significant(v, p as usize),
        None => Digits::shortest(v),
    };
    let nd = digits.nd();
    let eprec = match p {
        None => 6,
        Some(p) if p > nd && nd >= digits.dp => nd,
        Some(p) => p,
    };
    let exp = digits.dp - 1;
    if exp < -4 || exp >= eprec {
        let p2 = if shortest {
            nd
        } else {
            p.unwrap_or(nd).min(nd)
        };
        digits.fmt_e((p2 - 1).max(0) as usize, upper, out);
        return;
    }
    let p2 = match p {
        Some(p) if p <= digits.dp => p,
        _ => nd,
    };
    digits.fmt_f((p2 - digits.dp).max(0) as usize, out);
}

#[cfg(test)]
mod tests {
    use super::format;

    /// Expected strings are what Go 1.19+ `fmt.Sprintf` prints for the same
    /// verb and value.
    #[test]
    fn matches_go_strconv() {
        let cases: &[(f64, char, Option<usize>, &str)] = &[
            (1_000_000.0, 'g', None, "1e+06"),
            (100_000.0, 'g', None, "100000"),
            (123_456_789.0, 'g', None, "1.23456789e+08"),
            (1.5, 'g', None, "1.5"),
            (1e-7, 'g', None, "1e-07"),
            (1e21, 'g', None, "1e+21"),
            (0.0, 'g', None, "0"),
            (0.0001234, 'g', Some(3), "0.000123"),
            (1.0, 'g', Some(10), "1"),
            (999.999, 'g', Some(3), "1e+03"),
            (1.234567, 'g', Some(3), "1.23"),
            (100.0, 'g', Some(3), "100"),
            (1e-7, 'G', None, "1E-07"),
            (0.0, 'e', Some(6), "0.000000e+00"),
            (1e100, 'E', Some(6), "1.000000E+100"),
            (1234.5678, 'e', Some(6), "1.234568e+03"),
            (12345.0, 'e', Some(1), "1.2e+04"),
            (3.14158, 'f', Some(2), "3.14"),
            (0.125, 'f', Some(2), "0.12"),
            (-3.14158, 'f', Some(3), "-3.142"),
            (2.5, 'f', None, "2.5"),
            (-0.0, 'g', None, "-0"),
            (f64::INFINITY, 'g', None, "+Inf"),
            (f64::NAN, 'g', None, "NaN"),
        ];
        for &(v, verb, prec, want) in cases {
            assert_eq!(format(v, verb, prec), want, "{v} {verb} {prec:?}");
        }
    }
}
