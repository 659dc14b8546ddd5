//! The content store: immutable blobs named by their sha256 under `blobs/sha256/<hex>`.
//!
//! A blob is written to `tmp/` while it is hashed, fsynced, and renamed into place only
//! when its digest is known (and matches the expected one, when there is one). A reader
//! therefore never sees a partial blob, and a blob's name always matches its content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::atomic::{fsync_dir, TmpArea};
use crate::digest::{is_sha256_hex, Digest, HashingWriter};
use crate::error::{IoContext, StoreError};
use crate::lease::{GcCoordinator, Lease};

/// A digest and size pair, as descriptors carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct ContentStore {
    dir: PathBuf,
    tmp: TmpArea,
    gc: Arc<GcCoordinator>,
}

impl ContentStore {
    pub(crate) fn new(
        data_root: &Path,
        tmp: TmpArea,
        gc: Arc<GcCoordinator>,
    ) -> Result<Self, StoreError> {
        let dir = data_root.join("blobs").join("sha256");
        fs::create_dir_all(&dir).ctx(|| format!("create {}", dir.display()))?;
        Ok(ContentStore { dir, tmp, gc })
    }

    /// Where a blob lives (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    /// Starts a streaming write. Call [`BlobWriter::commit`] to keep the blob; dropping the
    /// writer discards it.
    pub fn writer(&self) -> Result<BlobWriter<'_>, StoreError> {
        let temp = self.tmp.unique_path("blob");
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)
            .ctx(|| format!("create {}", temp.display()))?;
        Ok(BlobWriter {
            store: self,
            temp,
            out: Some(HashingWriter::new(BufWriter::with_capacity(
                256 * 1024,
                file,
            ))),
        })
    }

    /// Streams `reader` into the store and returns the blob's digest and size.
    pub fn put(&self, lease: &Lease, reader: impl Read) -> Result<BlobInfo, StoreError> {
        self.put_checked(lease, reader, None, None)
    }

    /// Streams `reader` into the store, refusing it unless it hashes to `expected`.
    pub fn put_verified(
        &self,
        lease: &Lease,
        expected: &Digest,
        reader: impl Read,
    ) -> Result<BlobInfo, StoreError> {
        self.put_checked(lease, reader, Some(expected), None)
    }

    /// Like [`ContentStore::put_verified`], also checking the size (from a descriptor).
    pub fn put_checked(
        &self,
        lease: &Lease,
        mut reader: impl Read,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<BlobInfo, StoreError> {
        let mut writer = self.writer()?;
        io::copy(&mut reader, &mut writer)
            .ctx(|| "copy blob into the content store".to_string())?;
        writer.commit(lease, expected, expected_size)
    }

    /// Stores a small blob held in memory.
    pub fn put_bytes(&self, lease: &Lease, bytes: &[u8]) -> Result<BlobInfo, StoreError> {
        self.put(lease, bytes)
    }

    /// Opens a blob for streaming reads.
    pub fn open(&self, digest: &Digest) -> Result<File, StoreError> {
        let path = self.path(digest);
        File::open(&path).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                StoreError::BlobNotFound(digest.clone())
            } else {
                StoreError::io(format!("open {}", path.display()), err)
            }
        })
    }

    /// Reads a (small) blob whole and checks that it still matches its digest.
    pub fn read_verified(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let mut bytes = Vec::new();
        self.open(digest)?
            .read_to_end(&mut bytes)
            .ctx(|| format!("read blob {digest}"))?;
        let actual = Digest::of_bytes(&bytes);
        if &actual != digest {
            return Err(StoreError::DigestMismatch {
                what: format!("stored blob {}", self.path(digest).display()),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    pub fn exists(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    pub fn size(&self, digest: &Digest) -> Result<u64, StoreError> {
        let path = self.path(digest);
        match fs::metadata(&path) {
            Ok(meta) => Ok(meta.len()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::BlobNotFound(digest.clone()))
            }
            Err(err) => Err(StoreError::io(format!("stat {}", path.display()), err)),
        }
    }

    /// Protects an existing blob with `lease`. Returns false when it does not exist.
    pub fn reuse(&self, lease: &Lease, digest: &Digest) -> bool {
        let _guard = self.gc.commit_guard();
        if self.exists(digest) {
            lease.protect(digest);
            true
        } else {
            false
        }
    }

    /// Removes a blob; a missing blob is not an error.
    pub fn delete(&self, digest: &Digest) -> Result<(), StoreError> {
        crate::atomic::remove_file(&self.path(digest))
    }

    /// Every blob in the store. Names that are not 64 hex characters are skipped.
    pub fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).ctx(|| format!("list {}", self.dir.display()))? {
            let entry = entry.ctx(|| format!("list {}", self.dir.display()))?;
            if let Some(name) = entry.file_name().to_str() {
                if is_sha256_hex(name) {
                    out.push(Digest::from_hex(name)?);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A blob being written. Implements [`Write`]; nothing is visible until [`BlobWriter::commit`].
pub struct BlobWriter<'a> {
    store: &'a ContentStore,
    temp: PathBuf,
    out: Option<HashingWriter<BufWriter<File>>>,
}

impl BlobWriter<'_> {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.out.as_ref().map_or(0, HashingWriter::count)
    }

    /// Verifies, fsyncs and renames the blob into place, and leases it. If a blob with the
    /// same digest already exists the new copy is dropped (the content is the same).
    pub fn commit(
        mut self,
        lease: &Lease,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<BlobInfo, StoreError> {
        let out = self.out.take().expect("BlobWriter committed twice");
        let (digest, size, buffered) = out.finish();
        let file = buffered.into_inner().map_err(|e| {
            StoreError::io(format!("write {}", self.temp.display()), e.into_error())
        })?;
        if let Some(expected) = expected {
            if expected != &digest {
                return Err(StoreError::DigestMismatch {
                    what: "blob".into(),
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        if let Some(expected_size) = expected_size {
            if expected_size != size {
                return Err(StoreError::SizeMismatch {
                    what: format!("blob {digest}"),
                    expected: expected_size,
                    actual: size,
                });
            }
        }
        file.sync_all()
            .ctx(|| format!("fsync {}", self.temp.display()))?;
        drop(file);
        let dest = self.store.path(&digest);
        let _guard = self.store.gc.commit_guard();
        debug_assert!(Arc::ptr_eq(lease.coordinator(), &self.store.gc));
        lease.protect(&digest);
        fs::rename(&self.temp, &dest)
            .ctx(|| format!("rename {} to {}", self.temp.display(), dest.display()))?;
        fsync_dir(&self.store.dir)?;
        Ok(BlobInfo { digest, size })
    }
}

impl Write for BlobWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().expect("write after commit").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("flush after commit").flush()
    }
}

impl Drop for BlobWriter<'_> {
    fn drop(&mut self) {
        // Committed or not, the temporary name must not survive: after a successful
        // rename it no longer exists and this is a no-op.
        drop(self.out.take());
        let _ = fs::remove_file(&self.temp);
    }
}
