//! Error kinds of the Engine API and the HTTP status each maps to, as moby's errdefs.

use std::fmt;

/// What went wrong, in the classes clients distinguish by status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request itself is malformed or names an invalid value.
    InvalidParameter,
    /// 401: credentials missing or rejected.
    Unauthorized,
    /// 403: not allowed in the current configuration.
    Forbidden,
    /// 404: the named object does not exist.
    NotFound,
    /// 409: the object exists but its state forbids the operation.
    Conflict,
    /// 304: nothing to do (e.g. start of a running container).
    NotModified,
    /// 501: not implemented by this daemon.
    NotImplemented,
    /// 503: temporarily unable to serve.
    Unavailable,
    /// 500: everything else.
    System,
}

impl ErrorKind {
    pub fn status_code(self) -> u16 {
        match self {
            ErrorKind::InvalidParameter => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::NotModified => 304,
            ErrorKind::NotImplemented => 501,
            ErrorKind::Unavailable => 503,
            ErrorKind::System => 500,
        }
    }
}

/// An error as the API reports it: a kind (→ status) and moby's `{"message": ...}` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn system(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::System, message)
    }
    pub fn status_code(&self) -> u16 {
        self.kind.status_code()
    }
    /// The JSON body moby sends: `{"message":"..."}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "message": self.message }).to_string()
    }
}
