//! sha256 digests (`sha256:<64 lowercase hex>`), the only algorithm Berth stores by, and
//! readers/writers that hash what passes through them.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::StoreError;

/// A validated `sha256:<hex>` digest. Image IDs, diff IDs, chain IDs and blob names are
/// all of this form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

const PREFIX: &str = "sha256:";

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`. Other algorithms are refused with a message
    /// that says so, since the store could not verify them.
    pub fn parse(text: &str) -> Result<Digest, StoreError> {
        let Some((algorithm, hex)) = text.split_once(':') else {
            return Err(StoreError::InvalidDigest {
                digest: text.to_string(),
                reason: "expected <algorithm>:<hex>".into(),
            });
        };
        if algorithm != "sha256" {
            return Err(StoreError::InvalidDigest {
                digest: text.to_string(),
                reason: format!(
                    "unsupported digest algorithm {algorithm:?} (only sha256 is supported)"
                ),
            });
        }
        Digest::from_hex(hex).map_err(|_| StoreError::InvalidDigest {
            digest: text.to_string(),
            reason: "a sha256 digest has exactly 64 lowercase hex characters".into(),
        })
    }

    /// Builds a digest from its 64 hex characters (no algorithm prefix).
    pub fn from_hex(hex: &str) -> Result<Digest, StoreError> {
        if is_sha256_hex(hex) {
            Ok(Digest(format!("{PREFIX}{hex}")))
        } else {
            Err(StoreError::InvalidDigest {
                digest: hex.to_string(),
                reason: "a sha256 digest has exactly 64 lowercase hex characters".into(),
            })
        }
    }

    /// The digest of a byte string.
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(bytes))
    }

    pub(crate) fn from_hasher(hasher: Sha256) -> Digest {
        Digest(format!("{PREFIX}{}", hex::encode(hasher.finalize())))
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters, as used for file and directory names.
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }

    /// The first 12 hex characters, as docker shows short IDs.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

/// True for exactly 64 lowercase hex characters.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The chain ID of a layer: its diff ID when it has no parent, else
/// `sha256(parent_chain_id + " " + diff_id)`, as the OCI image spec defines it.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(parent) => Digest::of_bytes(format!("{parent} {diff_id}").as_bytes()),
    }
}

/// Chain IDs for every prefix of a diff ID list, bottom layer first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = chain_id(out.last(), diff_id);
        out.push(next);
    }
    out
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl FromStr for Digest {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A reader that hashes and counts every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Reads whatever is left (so the digest covers the whole stream) and returns the
    /// digest, the byte count and the inner reader.
    pub fn finish(mut self) -> io::Result<(Digest, u64, R)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Digest::from_hasher(self.hasher), self.count, self.inner))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A writer that hashes and counts every byte written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn finish(self) -> (Digest, u64, W) {
        (Digest::from_hasher(self.hasher), self.count, self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let empty = Digest::of_bytes(b"");
        assert_eq!(
            empty.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(empty.as_str()).unwrap(), empty);
        assert_eq!(empty.short(), "e3b0c44298fc");
        assert!(Digest::parse("sha512:abcd").is_err());
        assert!(Digest::parse("sha256:ABC").is_err());
        assert!(Digest::parse(&empty.as_str().to_uppercase()).is_err());
        assert!(Digest::parse("e3b0c44298fc").is_err());
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::of_bytes(b"a");
        let b = Digest::of_bytes(b"b");
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of_bytes(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn hashing_reader_counts_everything() {
        let data = vec![7u8; 100_000];
        let reader = HashingReader::new(&data[..]);
        let (digest, count, _) = reader.finish().unwrap();
        assert_eq!(count, 100_000);
        assert_eq!(digest, Digest::of_bytes(&data));
    }
}
