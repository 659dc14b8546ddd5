//! docker/cli's `--format` handling: which template a command runs, how
//! tables get their header line, and how single objects print.
//!
//! - [`ListFormat`]: `ps`, `images`, `volume ls`... rows through a template,
//!   `table ...` formats with a header and aligned columns, `json` as one
//!   JSON object per line.
//! - [`render_object`]: `version`, `info`, `inspect -f` on one value.
//! - [`render_inspect`]: `docker inspect` output for several values.

mod list;
mod object;

pub use list::ListFormat;
pub use object::{render_inspect, render_object, Inspected};

use crate::template::TemplateError;

/// A `--format` that docker would reject. docker reports parse and
/// execution failures alike as `template parsing error: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("template parsing error: {0}")]
    Template(#[from] TemplateError),
}
