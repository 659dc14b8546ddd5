//! Errors of the image layer, with moby's wording where clients read it, and the API
//! error kind (status code) each maps to.

use berth_api::{ApiError, ErrorKind};
use berth_store::StoreError;

use crate::reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// `No such image: busybox:latest` (404).
    #[error("No such image: {0}")]
    NotFound(String),

    /// A short ID that matches more than one image (404 like docker, which reports an
    /// ambiguous prefix as not found; the text says why).
    #[error("No such image: {reference} (the ID prefix {prefix} matches {count} images; give more characters)")]
    Ambiguous {
        reference: String,
        prefix: String,
        count: usize,
    },

    /// An unparsable reference (400).
    #[error(transparent)]
    Reference(#[from] ReferenceError),

    /// The request makes no sense as given (400).
    #[error("{0}")]
    InvalidParameter(String),

    /// moby's image-delete conflicts (409), text included.
    #[error("{0}")]
    Conflict(String),

    /// An uploaded archive that cannot be loaded (400): names the file and the problem.
    #[error("{0}")]
    InvalidArchive(String),

    /// A layer that cannot be applied or a blob that does not verify (400 when it is the
    /// input's fault, 500 when it is the machine's).
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The data root holds something it should not (500).
    #[error("{0}")]
    Corrupt(String),
}

impl ImageError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImageError::NotFound(_) | ImageError::Ambiguous { .. } => ErrorKind::NotFound,
            ImageError::Reference(_)
            | ImageError::InvalidParameter(_)
            | ImageError::InvalidArchive(_) => ErrorKind::InvalidParameter,
            ImageError::Conflict(_) => ErrorKind::Conflict,
            ImageError::Store(err) if err.is_bad_input() => ErrorKind::InvalidParameter,
            ImageError::Store(StoreError::BlobNotFound(_))
            | ImageError::Store(StoreError::LayerNotFound(_)) => ErrorKind::NotFound,
            ImageError::Store(_) | ImageError::Corrupt(_) => ErrorKind::System,
        }
    }

    pub(crate) fn archive(message: impl Into<String>) -> ImageError {
        ImageError::InvalidArchive(message.into())
    }
}

impl From<ImageError> for ApiError {
    fn from(err: ImageError) -> ApiError {
        ApiError::new(err.kind(), err.to_string())
    }
}
