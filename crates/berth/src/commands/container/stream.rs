//! Container output and input streams: the 8-byte-header demultiplexer (`stdcopy`), copying
//! a raw or multiplexed stream to stdout/stderr, and the hijacked attach session that also
//! forwards stdin (with the detach-key escape proxy on a TTY).

use std::io::Write;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::tty;
use crate::client::{ClientError, Hijacked, HijackedStream};

/// Which stream a demultiplexed frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// Type 0: stdin echoed back; written to stdout as docker does.
    Stdin,
    Stdout,
    Stderr,
}

#[derive(Debug)]
pub enum DemuxError {
    /// A header with a stream type other than 0..=3.
    UnknownStream(u8),
    /// A type-3 frame: the daemon reporting an error inside the stream.
    Daemon(String),
    Io(std::io::Error),
}

impl std::fmt::Display for DemuxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemuxError::UnknownStream(kind) => write!(f, "Unrecognized input header: {kind}"),
            DemuxError::Daemon(message) => write!(f, "error from daemon in stream: {message}"),
            DemuxError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Incremental parser of docker's multiplexed stream: `[type, 0, 0, 0, size (u32 BE)]`
/// then `size` payload bytes. Payloads are handed out as they arrive, never buffered
/// whole (except type-3 error frames, which are short).
#[derive(Debug, Default)]
pub struct Demux {
    header: [u8; 8],
    header_len: usize,
    kind: u8,
    remaining: usize,
    system_error: Vec<u8>,
}

impl Demux {
    pub fn new() -> Demux {
        Demux::default()
    }

    /// Feeds bytes; `out` receives each payload piece with its stream.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        out: &mut dyn FnMut(StreamKind, &[u8]) -> std::io::Result<()>,
    ) -> Result<(), DemuxError> {
        while !data.is_empty() {
            if self.remaining == 0 && self.header_len < 8 {
                let take = (8 - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
                self.header_len += take;
                data = &data[take..];
                if self.header_len < 8 {
                    break;
                }
                self.kind = self.header[0];
                if self.kind > 3 {
                    return Err(DemuxError::UnknownStream(self.kind));
                }
                self.remaining = u32::from_be_bytes([
                    self.header[4],
                    self.header[5],
                    self.header[6],
                    self.header[7],
                ]) as usize;
                if self.remaining == 0 {
                    self.frame_done()?;
                }
                continue;
            }
            let take = self.remaining.min(data.len());
            let payload = &data[..take];
            match self.kind {
                0 => out(StreamKind::Stdin, payload).map_err(DemuxError::Io)?,
                1 => out(StreamKind::Stdout, payload).map_err(DemuxError::Io)?,
                2 => out(StreamKind::Stderr, payload).map_err(DemuxError::Io)?,
                _ => self.system_error.extend_from_slice(payload),
            }
            self.remaining -= take;
            data = &data[take..];
            if self.remaining == 0 {
                self.frame_done()?;
            }
        }
        Ok(())
    }

    fn frame_done(&mut self) -> Result<(), DemuxError> {
        self.header_len = 0;
        if self.kind == 3 {
            let message =
                String::from_utf8_lossy(&std::mem::take(&mut self.system_error)).into_owned();
            return Err(DemuxError::Daemon(message));
        }
        Ok(())
    }
}

/// Writes a chunk to our stdout or stderr and flushes (TTY output must show at once).
pub fn write_out(kind: StreamKind, data: &[u8]) -> std::io::Result<()> {
    match kind {
        StreamKind::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(data)?;
            err.flush()
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(data)?;
            out.flush()
        }
    }
}

/// Copies a container's output to our stdout/stderr until the stream ends: raw with a
/// TTY, demultiplexed without one.
pub async fn copy_output(mut reader: impl AsyncRead + Unpin, tty: bool) -> Result<(), ClientError> {
    let mut demux = Demux::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            // A daemon closing the hijacked connection abruptly is the end of the stream.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(ClientError::Other(e.into())),
        };
        let written = if tty {
            write_out(StreamKind::Stdout, &buf[..n]).map_err(DemuxError::Io)
        } else {
            demux.feed(&buf[..n], &mut write_out)
        };
        match written {
            Ok(()) => {}
            // Our stdout closed (`| head`): stop quietly like docker.
            Err(DemuxError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(ClientError::Other(anyhow::anyhow!("{e}"))),
        }
    }
}

/// A response body as an `AsyncRead` (logs, old-style 200 attach answers).
pub fn body_reader(body: hyper::body::Incoming) -> impl AsyncRead + Unpin + Send {
    let stream = body
        .into_data_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    tokio_util::io::StreamReader::new(stream)
}

/// Reads our stdin on a plain thread (so that exiting never waits for a blocked read),
/// handing chunks over as they come; the channel closes at end of input.
pub fn stdin_chunks() -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = vec![0u8; 32 * 1024];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    });
    rx
}

/// docker's default detach sequence, ctrl-p ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[16, 17];

/// docker's `term.ToBytes`: `ctrl-p,ctrl-q` → [16, 17]; single characters as themselves.
pub fn detach_key_bytes(keys: &str) -> Result<Vec<u8>, String> {
    let mut codes = Vec::new();
    for key in keys.split(',') {
        if key.len() == 1 {
            codes.push(key.as_bytes()[0]);
            continue;
        }
        let lower = key.to_ascii_lowercase();
        if lower.len() == 6 && lower.starts_with("ctrl-") {
            let code = lower.as_bytes()[5];
            let byte = match code {
                b'a'..=b'z' => Some(code - b'a' + 1),
                b'@' => Some(0),
                b'[' => Some(27),
                b'\\' => Some(28),
                b']' => Some(29),
                b'^' => Some(30),
                b'_' => Some(31),
                _ => None,
            };
            if let Some(byte) = byte {
                codes.push(byte);
                continue;
            }
        }
        return Err(format!("Unknown character: '{key}'"));
    }
    Ok(codes)
}

/// docker's escape proxy: keypresses (single-byte reads) matching the detach sequence are
/// held back; a full match detaches, a mismatch releases what was held.
#[derive(Debug)]
pub struct EscapeProxy {
    keys: Vec<u8>,
    matched: usize,
}

impl EscapeProxy {
    pub fn new(keys: Vec<u8>) -> EscapeProxy {
        EscapeProxy { keys, matched: 0 }
    }

    /// Returns the bytes to forward, or `None` when the sequence is complete.
    pub fn filter(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        if self.keys.is_empty() {
            return Some(chunk.to_vec());
        }
        let held = |this: &mut EscapeProxy| {
            let mut out = this.keys[..this.matched].to_vec();
            this.matched = 0;
            out.extend_from_slice(chunk);
            out
        };
        if chunk.len() != 1 || chunk[0] != self.keys[self.matched] {
            return Some(if self.matched > 0 {
                held(self)
            } else {
                chunk.to_vec()
            });
        }
        if self.matched == self.keys.len() - 1 {
            return None;
        }
        self.matched += 1;
        Some(Vec::new())
    }
}

/// How an attach session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The daemon closed the output (the container exited or was detached server-side).
    Closed,
    /// The user typed the detach sequence.
    Detached,
}

/// Options of one attach session (docker's `hijackedIOStreamer`).
pub struct Session {
    pub tty: bool,
    /// Forward our stdin into the container.
    pub stdin: bool,
    /// Copy the container's output to ours.
    pub output: bool,
    /// The detach sequence the user asked for (`--detach-keys`), else ctrl-p ctrl-q.
    pub detach_keys: Option<String>,
}

/// Streams a hijacked connection: output to our stdout/stderr, our stdin (raw when on a
/// terminal with a TTY) to the container, until the output ends or the user detaches.
pub async fn run_session(hijacked: Hijacked, session: Session) -> Result<SessionEnd, ClientError> {
    let upgraded = match hijacked.stream {
        HijackedStream::Upgraded(io) => io,
        HijackedStream::ReadOnly(body) => {
            if session.output {
                copy_output(body_reader(body), session.tty).await?;
            }
            return Ok(SessionEnd::Closed);
        }
    };
    // Raw mode and the escape proxy only apply to a TTY session that reads our stdin.
    let mut raw = None;
    let mut proxy = None;
    if session.tty && session.stdin {
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            raw = Some(tty::RawMode::enable(0).map_err(|e| {
                ClientError::Other(anyhow::anyhow!(
                    "unable to setup input stream: unable to set IO streams as raw terminal: {e}"
                ))
            })?);
        }
        let keys = session
            .detach_keys
            .as_deref()
            .and_then(|k| detach_key_bytes(k).ok())
            .unwrap_or_else(|| DEFAULT_DETACH_KEYS.to_vec());
        proxy = Some(EscapeProxy::new(keys));
    }
    let (reader, mut writer) = tokio::io::split(upgraded);
    let output = copy_output(reader, session.tty);
    let mut stdin = session.stdin.then(stdin_chunks);
    let input = async move {
        if let Some(rx) = stdin.as_mut() {
            while let Some(chunk) = rx.recv().await {
                let data = match proxy.as_mut() {
                    Some(p) => match p.filter(&chunk) {
                        Some(data) => data,
                        None => return SessionEnd::Detached,
                    },
                    None => chunk.to_vec(),
                };
                if !data.is_empty() && writer.write_all(&data).await.is_err() {
                    break;
                }
            }
        }
        // Half-close: the daemon sees end of input (and closes the container's stdin).
        let _ = writer.shutdown().await;
        SessionEnd::Closed
    };
    tokio::pin!(output);
    tokio::pin!(input);
    let end = tokio::select! {
        result = &mut output => {
            result?;
            SessionEnd::Closed
        }
        end = &mut input => {
            if end == SessionEnd::Detached {
                SessionEnd::Detached
            } else if session.output {
                output.await?;
                SessionEnd::Closed
            } else {
                SessionEnd::Closed
            }
        }
    };
    drop(raw);
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![kind, 0, 0, 0];
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn collect(input: &[u8], chunk: usize) -> (Vec<u8>, Vec<u8>, Result<(), String>) {
        let mut demux = Demux::new();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut result = Ok(());
        for piece in input.chunks(chunk.max(1)) {
            let r = demux.feed(piece, &mut |kind, data| {
                match kind {
                    StreamKind::Stderr => err.extend_from_slice(data),
                    _ => out.extend_from_slice(data),
                }
                Ok(())
            });
            if let Err(e) = r {
                result = Err(e.to_string());
                break;
            }
        }
        (out, err, result)
    }

    #[test]
    fn demultiplexes_in_any_chunking() {
        let mut input = frame(1, b"hello ");
        input.extend(frame(2, b"oops\n"));
        input.extend(frame(1, b""));
        input.extend(frame(0, b"echo "));
        input.extend(frame(1, &vec![b'x'; 70000]));
        for chunk in [1, 3, 7, 8, 9, 4096, input.len()] {
            let (out, err, result) = collect(&input, chunk);
            assert!(result.is_ok());
            assert_eq!(err, b"oops\n");
            assert_eq!(&out[..11], b"hello echo ");
            assert_eq!(out.len(), 11 + 70000);
        }
    }

    #[test]
    fn demux_errors() {
        let (_, _, result) = collect(&[7, 0, 0, 0, 0, 0, 0, 1, b'x'], 4);
        assert_eq!(result.unwrap_err(), "Unrecognized input header: 7");
        let mut input = frame(1, b"ok");
        input.extend(frame(3, b"boom"));
        let (out, _, result) = collect(&input, 5);
        assert_eq!(out, b"ok");
        assert_eq!(result.unwrap_err(), "error from daemon in stream: boom");
    }

    #[test]
    fn detach_keys() {
        assert_eq!(detach_key_bytes("ctrl-p,ctrl-q").unwrap(), [16, 17]);
        assert_eq!(detach_key_bytes("a,ctrl-@,ctrl-_").unwrap(), [b'a', 0, 31]);
        assert_eq!(
            detach_key_bytes("ctrl-1").unwrap_err(),
            "Unknown character: 'ctrl-1'"
        );
        let mut p = EscapeProxy::new(vec![16, 17]);
        assert_eq!(p.filter(b"ls\r").unwrap(), b"ls\r");
        assert_eq!(p.filter(&[16]).unwrap(), b"");
        assert_eq!(p.filter(b"x").unwrap(), [16, b'x']);
        assert_eq!(p.filter(&[16]).unwrap(), b"");
        assert!(p.filter(&[17]).is_none());
        // A pasted block containing the sequence is not a detach.
        let mut p = EscapeProxy::new(vec![16, 17]);
        assert_eq!(p.filter(&[16, 17]).unwrap(), [16, 17]);
    }
}
