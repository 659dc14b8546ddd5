//! Errors of loading a Compose project. Each says which file, service or key is wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no configuration file provided: not found (looked for compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in {0} and its parents)")]
    NoFile(PathBuf),
    #[error("open {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A YAML syntax error, with its position when the parser knows it.
    #[error("yaml: {}: line {line}, column {column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("yaml: {}: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    /// `${VAR:?message}` (or `${VAR?message}`) with VAR missing.
    #[error("error while interpolating {path}: required variable {variable} is missing a value: {message}")]
    RequiredVariable {
        path: String,
        variable: String,
        message: String,
    },
    #[error("error while interpolating {path}: invalid interpolation format for {text:?}: you may need to escape any $ with another $")]
    BadInterpolation { path: String, text: String },
    #[error("{0}")]
    EnvFile(String),
    /// A key the Compose Specification does not define at this place.
    #[error("{place}: additional property {key} is not allowed")]
    UnknownKey { place: String, key: String },
    #[error("{place}: {message}")]
    Invalid { place: String, message: String },
    #[error("dependency cycle detected: {0}")]
    Cycle(String),
    #[error("no such service: {0}")]
    NoSuchService(String),
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid(place: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Invalid {
        place: place.into(),
        message: message.into(),
    }
}
