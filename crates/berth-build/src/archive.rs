//! Compressed streams: build contexts and `ADD` archives may be plain, gzip, bzip2 or xz
//! tars (docker's `archive.DecompressStream`). gzip is decoded in process; bzip2 and xz
//! go through the system's `bzip2`/`xz` (they are rare, and not on any hot path).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
}

/// Detects the compression from the first bytes.
pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// A reader of the decompressed stream, and what it was.
pub fn decompress(
    reader: Box<dyn Read + Send>,
) -> std::io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered.fill_buf()?;
    let kind = detect(head);
    let out: Box<dyn Read + Send> = match kind {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Compression::Bzip2 => Box::new(external("bzip2", Box::new(buffered))?),
        Compression::Xz => Box::new(external("xz", Box::new(buffered))?),
    };
    Ok((out, kind))
}

/// Whether a file starts like a tar archive (possibly compressed): the test `ADD` uses to
/// decide whether to unpack a local source.
pub fn looks_like_archive(path: &std::path::Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let Ok((mut reader, _)) = decompress(Box::new(file)) else {
        return false;
    };
    let mut header = [0u8; 512];
    let mut filled = 0;
    while filled < header.len() {
        match reader.read(&mut header[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return false,
        }
    }
    filled == 512 && (&header[257..262] == b"ustar" || tar_checksum_ok(&header))
}

fn tar_checksum_ok(header: &[u8; 512]) -> bool {
    let field = std::str::from_utf8(&header[148..156]).unwrap_or("");
    let Ok(expected) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as u32
            }
        })
        .sum();
    sum == expected && header[0] != 0
}

/// Pipes `input` through `<tool> -dc`.
fn external(tool: &str, mut input: Box<dyn Read + Send>) -> std::io::Result<impl Read + Send> {
    let mut child = Command::new(tool)
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| std::io::Error::other(format!("running {tool} to decompress: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut input, &mut stdin);
    });
    Ok(ChildReader { child, stdout })
}

struct ChildReader {
    child: std::process::Child,
    stdout: std::process::ChildStdout,
}

impl Read for ChildReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0 {
            let status = self.child.wait()?;
            if !status.success() {
                return Err(std::io::Error::other(format!(
                    "decompressing failed: {status}"
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for ChildReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
