//! Errors of the store. Each variant names the object and what was wrong with it, so a
//! message reaching a user says what to fix.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A filesystem operation failed; `context` says which one and on what.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("invalid digest {digest:?}: {reason}")]
    InvalidDigest { digest: String, reason: String },

    /// Content did not hash to the digest it was announced with.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },

    /// Content did not have the announced size.
    #[error("{what}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },

    #[error("blob {0} is not in the content store")]
    BlobNotFound(Digest),

    #[error("layer {0} is not in the layer store")]
    LayerNotFound(Digest),

    /// The stream is not a readable tar (truncated, bad checksum, garbage).
    #[error("invalid layer tar: {0}")]
    BadTar(String),

    /// A tar entry that would write outside its layer, or otherwise cannot be applied
    /// safely. The layer is rejected as a whole.
    #[error("unsafe layer tar entry {path:?}: {problem}")]
    UnsafeEntry { path: String, problem: String },

    /// The stream is compressed with something the store cannot read.
    #[error("unsupported compression: {0}")]
    UnsupportedCompression(String),

    /// A record on disk is unreadable (torn or edited by hand).
    #[error("corrupt record {path}: {reason}")]
    CorruptRecord { path: PathBuf, reason: String },
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }

    /// True when the error is the input's fault (bad tar, wrong digest, unsafe entry),
    /// as opposed to the machine's (disk full, permissions). API layers map the first to
    /// 400 and the second to 500.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::InvalidDigest { .. }
                | StoreError::DigestMismatch { .. }
                | StoreError::SizeMismatch { .. }
                | StoreError::BadTar(_)
                | StoreError::UnsafeEntry { .. }
                | StoreError::UnsupportedCompression(_)
        )
    }
}

/// Adds a context sentence to io errors: `.ctx(|| format!("create {path:?}"))`.
pub(crate) trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, context: F) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, context: F) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::io(context(), source))
    }
}
