//! Looking into containers: stats, top, changes, export, commit.

mod archive;
pub(crate) mod cgroup;
mod commit;
mod diff;
mod export;
mod stats;
mod top;
mod update;

pub use archive::PathStat;
pub(crate) use commit::commit_dir;
pub use commit::CommitRequest;
pub use stats::StatsCache;
pub use update::UpdateRequest;
