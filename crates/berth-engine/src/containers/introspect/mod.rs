//! Looking into containers: stats, top, changes, export, commit.

pub(crate) mod cgroup;
mod commit;
mod diff;
mod export;
mod stats;
mod top;

pub use commit::CommitRequest;
pub use stats::StatsCache;
