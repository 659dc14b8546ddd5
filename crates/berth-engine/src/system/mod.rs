//! `/version`, `/info` and `/system/df`.

mod info;
pub use info::ObjectCounts;
mod version;
