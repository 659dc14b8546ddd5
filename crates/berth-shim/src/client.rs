//! A blocking client of the shim: launching it, talking to its control socket, reading
//! what it leaves on disk. The engine may wrap these calls in `spawn_blocking` or speak
//! the same protocol over tokio's `UnixStream`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::options::ShimOptions;
use crate::protocol::{ExitStatus, LaunchResult, Request, Response, EXIT_FILE, SOCKET_FILE};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("shim socket {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("talking to the shim: {0}")]
    Io(#[from] std::io::Error),
    #[error("the shim closed the connection")]
    Closed,
    #[error("malformed answer from the shim: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("running {binary}: {message}")]
    Launch { binary: PathBuf, message: String },
}

/// A connection to one shim's control socket.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the shim of the container whose state directory is `state_dir`.
    pub fn connect(state_dir: &Path) -> Result<Self, ClientError> {
        let path = state_dir.join(SOCKET_FILE);
        let stream = UnixStream::connect(&path).map_err(|source| ClientError::Connect {
            path: path.clone(),
            source,
        })?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Bounds how long a call may block (None: forever, for `wait`).
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.writer.set_read_timeout(timeout)?;
        self.writer.set_write_timeout(timeout)?;
        Ok(())
    }

    /// Sends one request and reads its answer.
    pub fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        self.writer.write_all(&line)?;
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(ClientError::Closed);
        }
        Ok(serde_json::from_str(&answer)?)
    }

    /// The raw stream, after a successful `attach`. Bytes the shim sent after the
    /// answer line and that are still buffered are returned too.
    pub fn into_stream(self) -> (UnixStream, Vec<u8>) {
        let buffered = self.reader.buffer().to_vec();
        (self.writer, buffered)
    }
}

/// The recorded exit of a container, if its shim wrote one.
pub fn read_exit_file(state_dir: &Path) -> Result<Option<ExitStatus>, ClientError> {
    match std::fs::read(state_dir.join(EXIT_FILE)) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Runs `binary` with `options` and returns once the container has started (or failed
/// to). The shim's supervisor keeps running detached.
pub fn launch(binary: &Path, options: &ShimOptions) -> Result<LaunchResult, ClientError> {
    let out = Command::new(binary)
        .args(options.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| ClientError::Launch {
            binary: binary.to_path_buf(),
            message: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) => Ok(serde_json::from_str(line)?),
        None => Err(ClientError::Launch {
            binary: binary.to_path_buf(),
            message: format!(
                "no result ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        }),
    }
}
