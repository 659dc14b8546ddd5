//! Errors of spec generation. Messages follow dockerd's wording where clients show them.

use std::path::PathBuf;

use crate::seccomp::SeccompError;
use crate::user::UserError;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("unknown capability: \"{0}\"")]
    UnknownCapability(String),
    #[error(
        "capability not supported by your kernel or not available in the current environment: \"{0}\""
    )]
    UnavailableCapability(String),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// A value that dockerd would reject with 400 (bad ulimit name, bad mode, ...).
    #[error("{0}")]
    Invalid(String),
    #[error("Cannot mkdir: {0} is not a directory")]
    WorkdirNotDirectory(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("building OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
    #[error("encoding OCI spec: {0}")]
    Json(#[from] serde_json::Error),
}

impl SpecError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SpecError::Io {
            path: path.into(),
            source,
        }
    }

    /// True when dockerd would answer 400 (invalid parameter) rather than 500.
    pub fn is_invalid_parameter(&self) -> bool {
        matches!(
            self,
            SpecError::UnknownCapability(_)
                | SpecError::UnavailableCapability(_)
                | SpecError::Invalid(_)
                | SpecError::Seccomp(_)
        )
    }
}
