//! Human-readable sizes and durations exactly as `github.com/docker/go-units`
//! writes and reads them (`1.23MB`, `1.5GiB`, `About an hour`, `512m`),
//! and timestamps as Go's `time.Time.String()` prints them.

mod duration;
mod size;
mod timestamp;

pub use duration::{human_duration, time_ago, time_ago_at};
pub use size::{
    bytes_size, from_human_size, human_size, human_size_with_precision, ram_in_bytes, UnitsError,
};
pub use timestamp::{go_time_string, go_time_string_at};
