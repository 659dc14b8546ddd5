//! The Compose model for `berth compose`: finds the files, reads `.env`, parses YAML,
//! substitutes variables, merges files, checks every key and reference, and hands back
//! a `Project` whose services are in one normal form (and hash the same when they mean
//! the same). No daemon calls here; the CLI does those.

mod dotenv;
mod error;
mod files;
mod graph;
mod hash;
mod interpolate;
mod merge;
mod model;
mod mounts;
mod ports;
mod project;
mod service;
mod values;
mod yaml;

pub use error::{Error, Result};
pub use files::{default_project_name, find_files, normalize_project_name};
pub use graph::{dependencies, start_order, stop_waves};
pub use hash::config_hash;
pub use model::*;
pub use project::{load, LoadOptions};
pub use values::{nanos, shell_split};
