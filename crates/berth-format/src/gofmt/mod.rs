//! Go's `fmt` and `strconv` printing rules.
//!
//! Docker prints numbers, strings and composite values through Go's `fmt`
//! package; matching its output byte for byte (`1e+06`, `map[a:1]`,
//! `%!d(string=x)`) needs the same rules, so they live here, shared by the
//! template engine and the unit helpers.

pub(crate) mod float;
pub(crate) mod printf;
pub(crate) mod quote;
