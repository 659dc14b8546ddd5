//! Docker Engine API wire layer shared by `berthd` and the `berth` CLI.
//!
//! Everything a client can observe on the wire lives here: API versions, error kinds and
//! their HTTP status codes, filter parsing, and the JSON shapes of responses. Engine code
//! produces these types; HTTP handlers only serialize them.

pub mod build_info;
pub mod error;
pub mod filters;
pub mod query;
pub mod types;
pub mod version;

pub use error::{ApiError, ErrorKind};
pub use filters::Filters;
pub use version::ApiVersion;
