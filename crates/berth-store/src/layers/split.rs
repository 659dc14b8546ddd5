//! Reproducing a layer's original tar stream byte for byte.
//!
//! An image's config names each layer by the sha256 of its uncompressed tar (the diff
//! ID), so `save` must emit exactly the bytes that were loaded. Keeping every tar would
//! double the disk use; instead, while a tar is unpacked, everything that is not file
//! content (headers, padding, end blocks) is recorded verbatim in `tar-split.gz` next to
//! `diff/`, and file content is recorded as a reference to the file it was written to.
//! Replaying the record with the files of `diff/` yields the original stream.
//!
//! Record format (gzip-compressed):
//! `BERTHSPLIT1\n`, then records: `V <u32 len> <bytes>` (verbatim) or
//! `F <u64 size> <u32 path len> <path>` (the next `size` bytes are the content of the
//! file at `path` in `diff/`). Integers are little-endian.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::rc::Rc;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest as _, Sha256};

use super::sys::Dir;
use crate::digest::Digest;

const MAGIC: &[u8] = b"BERTHSPLIT1\n";
const FLUSH_AT: usize = 64 * 1024;

pub(crate) const FILE_NAME: &str = "tar-split.gz";

/// Records the non-content parts of a tar stream as it is read.
pub(crate) struct SplitRecorder {
    out: GzEncoder<BufWriter<File>>,
    pending: Vec<u8>,
    skip: u64,
}

impl SplitRecorder {
    pub(crate) fn new(file: File) -> io::Result<SplitRecorder> {
        let mut out = GzEncoder::new(BufWriter::new(file), Compression::fast());
        out.write_all(MAGIC)?;
        Ok(SplitRecorder {
            out,
            pending: Vec::with_capacity(FLUSH_AT),
            skip: 0,
        })
    }

    fn feed(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = (self.skip.min(bytes.len() as u64)) as usize;
                self.skip -= n as u64;
                bytes = &bytes[n..];
            } else {
                self.pending.extend_from_slice(bytes);
                if self.pending.len() >= FLUSH_AT {
                    self.flush_pending()?;
                }
                break;
            }
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.out.write_all(b"V")?;
        self.out
            .write_all(&(self.pending.len() as u32).to_le_bytes())?;
        self.out.write_all(&self.pending)?;
        self.pending.clear();
        Ok(())
    }

    /// The next `size` bytes of the stream are the content of `path` (relative to the
    /// layer root) and are not recorded.
    pub(crate) fn begin_file(&mut self, path: &[u8], size: u64) -> io::Result<()> {
        debug_assert_eq!(self.skip, 0, "file content overlaps");
        self.flush_pending()?;
        self.out.write_all(b"F")?;
        self.out.write_all(&size.to_le_bytes())?;
        self.out.write_all(&(path.len() as u32).to_le_bytes())?;
        self.out.write_all(path)?;
        self.skip = size;
        Ok(())
    }

    /// Writes the rest and closes the record (the caller fsyncs the filesystem).
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.flush_pending()?;
        let buffered = self.out.finish()?;
        buffered.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    }
}

/// A reader that hashes, counts and records (through a shared recorder) what it reads.
pub(crate) struct TeeReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    recorder: Rc<RefCell<SplitRecorder>>,
}

impl<R: Read> TeeReader<R> {
    pub(crate) fn new(inner: R, recorder: Rc<RefCell<SplitRecorder>>) -> Self {
        TeeReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            recorder,
        }
    }

    /// Reads to the end of the stream (trailing zero blocks and padding belong to the
    /// diff ID too) and returns the digest and length of everything read.
    pub(crate) fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest::from_hasher(self.hasher), self.count))
    }
}

impl<R: Read> Read for TeeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        self.recorder.borrow_mut().feed(&buf[..n])?;
        Ok(n)
    }
}

enum State {
    Idle,
    Verbatim(u64),
    Content {
        file: File,
        remaining: u64,
        path: Vec<u8>,
    },
    Done,
}

/// Replays a split record against the layer's `diff/` folder, yielding the original tar.
pub(crate) struct SplitReader {
    record: BufReader<GzDecoder<BufReader<File>>>,
    root: Dir,
    state: State,
}

impl SplitReader {
    pub(crate) fn open(record: File, root: Dir) -> io::Result<SplitReader> {
        let mut record = BufReader::new(GzDecoder::new(BufReader::new(record)));
        let mut magic = [0u8; MAGIC.len()];
        record.read_exact(&mut magic)?;
        if magic != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a Berth tar-split record",
            ));
        }
        Ok(SplitReader {
            record,
            root,
            state: State::Idle,
        })
    }

    fn next_record(&mut self) -> io::Result<()> {
        let mut tag = [0u8; 1];
        if self.record.read(&mut tag)? == 0 {
            self.state = State::Done;
            return Ok(());
        }
        match tag[0] {
            b'V' => {
                let mut len = [0u8; 4];
                self.record.read_exact(&mut len)?;
                self.state = State::Verbatim(u32::from_le_bytes(len) as u64);
            }
            b'F' => {
                let mut size = [0u8; 8];
                self.record.read_exact(&mut size)?;
                let mut len = [0u8; 4];
                self.record.read_exact(&mut len)?;
                let mut path = vec![0u8; u32::from_le_bytes(len) as usize];
                self.record.read_exact(&mut path)?;
                let file = self.open_content(&path)?;
                self.state = State::Content {
                    file,
                    remaining: u64::from_le_bytes(size),
                    path,
                };
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("corrupt tar-split record (tag {other:#x})"),
                ))
            }
        }
        Ok(())
    }

    fn open_content(&self, path: &[u8]) -> io::Result<File> {
        let (parent, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&path[..0], path),
        };
        let dir = self.root.resolve_beneath(parent)?;
        dir.open_file(OsStr::from_bytes(name)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("layer file {:?}: {e}", String::from_utf8_lossy(path)),
            )
        })
    }
}

impl Read for SplitReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                State::Done => return Ok(0),
                State::Idle => self.next_record()?,
                State::Verbatim(remaining) => {
                    if *remaining == 0 {
                        self.state = State::Idle;
                        continue;
                    }
                    let want = (*remaining).min(buf.len() as u64) as usize;
                    let n = self.record.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "tar-split record ends early",
                        ));
                    }
                    *remaining -= n as u64;
                    return Ok(n);
                }
                State::Content {
                    file,
                    remaining,
                    path,
                } => {
                    if *remaining == 0 {
                        self.state = State::Idle;
                        continue;
                    }
                    let want = (*remaining).min(buf.len() as u64) as usize;
                    let n = file.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                                "layer file {:?} is shorter than when it was unpacked",
                                String::from_utf8_lossy(path)
                            ),
                        ));
                    }
                    *remaining -= n as u64;
                    return Ok(n);
                }
            }
        }
    }
}
