//! Recognizing and undoing the compressions image tars come in, by their magic bytes
//! (as docker does): gzip, zstd, or none. bzip2 and xz are recognized to say so clearly.

use std::io::{self, BufRead, BufReader, Read};

use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognizes a stream by its first bytes.
    pub fn detect(head: &[u8]) -> Result<Compression, StoreError> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Ok(Compression::Zstd)
        } else if head.starts_with(b"BZh") {
            Err(StoreError::UnsupportedCompression(
                "bzip2 (use plain, gzip or zstd)".into(),
            ))
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Err(StoreError::UnsupportedCompression(
                "xz (use plain, gzip or zstd)".into(),
            ))
        } else {
            Ok(Compression::None)
        }
    }
}

/// A decompressing reader over any of the supported formats.
pub struct Decompressed<R: Read> {
    inner: Inner<R>,
    compression: Compression,
}

enum Inner<R: Read> {
    Plain(BufReader<R>),
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<R>>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<R>>),
}

impl<R: Read> Decompressed<R> {
    pub fn compression(&self) -> Compression {
        self.compression
    }
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(r) => r.read(buf),
            Inner::Gzip(r) => r.read(buf),
            Inner::Zstd(r) => r.read(buf),
        }
    }
}

/// Peeks at the start of `reader` and wraps it in the matching decompressor. Also
/// returns whether the stream is empty (0 bytes), which callers usually refuse.
pub fn decompress<R: Read>(reader: R) -> Result<(Decompressed<R>, bool), StoreError> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = loop {
        match buffered.fill_buf() {
            Ok(head) => break head,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io("read the start of the stream", e)),
        }
    };
    let empty = head.is_empty();
    let compression = Compression::detect(head)?;
    let inner = match compression {
        Compression::None => Inner::Plain(buffered),
        Compression::Gzip => Inner::Gzip(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Inner::Zstd(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| StoreError::io("start zstd decompression", e))?,
        ),
    };
    Ok((Decompressed { inner, compression }, empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips() {
        let data = b"hello layer".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        for (input, kind) in [
            (data.clone(), Compression::None),
            (gz, Compression::Gzip),
            (zst, Compression::Zstd),
        ] {
            let (mut r, empty) = decompress(&input[..]).unwrap();
            assert!(!empty);
            assert_eq!(r.compression(), kind);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
        }
        let (_, empty) = decompress(&b""[..]).unwrap();
        assert!(empty);
        assert!(decompress(&b"BZh91AY"[..]).is_err());
    }
}
