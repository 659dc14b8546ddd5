//! What can go wrong talking to a registry, worded for the user (the daemon streams these
//! texts to the CLI as they are).

use berth_api::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry refused the credentials (or demanded some).
    #[error("{0}")]
    Unauthorized(String),
    /// The tag, digest or repository does not exist (`manifest unknown`).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served as asked (bad platform, foreign layers, schema 1).
    #[error("{0}")]
    Unsupported(String),
    /// The registry answered something that breaks the protocol or does not verify.
    #[error("{0}")]
    Protocol(String),
    /// The registry could not be reached or the connection broke.
    #[error("{0}")]
    Transport(String),
    /// Writing to the local store failed.
    #[error(transparent)]
    Image(#[from] crate::ImageError),
}

impl RegistryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Unauthorized(_) => ErrorKind::Unauthorized,
            RegistryError::NotFound(_) => ErrorKind::NotFound,
            RegistryError::Unsupported(_) => ErrorKind::InvalidParameter,
            RegistryError::Protocol(_) | RegistryError::Transport(_) => ErrorKind::System,
            RegistryError::Image(err) => err.kind(),
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> RegistryError {
        RegistryError::Protocol(message.into())
    }
}

impl From<berth_store::StoreError> for RegistryError {
    fn from(err: berth_store::StoreError) -> RegistryError {
        RegistryError::Image(crate::ImageError::Store(err))
    }
}

impl From<RegistryError> for berth_api::ApiError {
    fn from(err: RegistryError) -> berth_api::ApiError {
        berth_api::ApiError::new(err.kind(), err.to_string())
    }
}

/// A transport error with its causes, as one line (`error sending request for url (...):
/// connection refused`).
pub(crate) fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
