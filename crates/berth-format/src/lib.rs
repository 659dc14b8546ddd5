//! Docker-compatible output for the `berth` CLI.
//!
//! Every `berth` command prints through this crate so that its output is
//! byte-for-byte what the docker CLI prints: Go templates for `--format`
//! ([`template`]), elastic-tabstop tables ([`tabwriter`]), human sizes and
//! durations ([`units`]), Go-style JSON ([`json`]) and the list/inspect
//! formatting rules that tie them together ([`formatter`]).

mod gofmt;

pub mod formatter;
pub mod json;
pub mod tabwriter;
pub mod template;
pub mod units;

pub use formatter::{FormatError, ListFormat};
pub use template::{Funcs, Methods, Template, TemplateError};
