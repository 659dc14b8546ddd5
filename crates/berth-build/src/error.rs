//! Errors of the builder library. Messages follow docker's classic builder, since
//! scripts and users match on them.

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A problem in an instruction's arguments (the caller adds the line).
    #[error("{0}")]
    Syntax(String),
    /// A Dockerfile that does not parse, with the line it is on.
    #[error("Dockerfile parse error line {line}: {message}")]
    Parse { line: usize, message: String },
    /// The build context is unusable (bad tar, path leaving the context, missing file).
    #[error("{0}")]
    Context(String),
    #[error("{0}")]
    Io(String),
}

impl BuildError {
    pub fn syntax(message: impl Into<String>) -> BuildError {
        BuildError::Syntax(message.into())
    }

    pub fn context(message: impl Into<String>) -> BuildError {
        BuildError::Context(message.into())
    }

    /// Places an argument error on a Dockerfile line.
    pub fn at_line(self, line: usize) -> BuildError {
        match self {
            BuildError::Syntax(message) => BuildError::Parse { line, message },
            other => other,
        }
    }

    /// Whether the client sent something wrong (as opposed to a failure of the daemon).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, BuildError::Io(_))
    }
}

impl From<std::io::Error> for BuildError {
    fn from(e: std::io::Error) -> Self {
        BuildError::Io(e.to_string())
    }
}
