//! Spooling an uploaded archive to disk: every regular file of the outer tar is streamed
//! into a temporary folder under the data root (hashed on the way), under a generated name,
//! so nothing the archive names is ever used as a path. Symlinks and hard links inside
//! the archive (old `docker save` output shares layers that way) are kept as a map.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use berth_store::atomic::{TempDir, TmpArea};
use berth_store::digest::HashingWriter;
use berth_store::layers::clean_path;
use berth_store::Digest;

use crate::error::ImageError;

#[derive(Debug, Clone)]
pub(crate) struct SpooledFile {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

pub(crate) struct Spool {
    dir: TempDir,
    files: HashMap<String, SpooledFile>,
    /// Archive path → target archive path (symlinks, resolved lexically).
    links: HashMap<String, String>,
}

impl Spool {
    pub(crate) fn receive(tmp: &TmpArea, reader: impl Read) -> Result<Spool, ImageError> {
        let dir = tmp.create_dir("load")?;
        let mut spool = Spool {
            files: HashMap::new(),
            links: HashMap::new(),
            dir,
        };
        let mut archive = tar::Archive::new(reader);
        let bad = |e: io::Error| {
            ImageError::archive(format!("invalid tar archive (truncated or corrupt): {e}"))
        };
        let mut count = 0usize;
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            count += 1;
            let raw = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw).into_owned();
            let components = clean_path(&raw).map_err(|_| {
                ImageError::archive(format!(
                    "archive entry {shown:?} points outside the archive"
                ))
            })?;
            let name = String::from_utf8_lossy(&components.join(&b'/')).into_owned();
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let path = spool.dir.path().join(format!("f{count}"));
                    let file = File::create(&path).map_err(|e| {
                        ImageError::Corrupt(format!("create {}: {e}", path.display()))
                    })?;
                    let mut writer = HashingWriter::new(BufWriter::with_capacity(256 * 1024, file));
                    copy_entry(&mut entry, &mut writer, &shown)?;
                    let expected = entry.size();
                    let (digest, size, buffered) = writer.finish();
                    buffered.into_inner().map_err(|e| {
                        ImageError::Corrupt(format!("write {}: {}", path.display(), e.error()))
                    })?;
                    if size != expected {
                        return Err(ImageError::archive(format!(
                            "invalid tar archive (truncated): entry {shown:?} announces {expected} bytes but only {size} follow"
                        )));
                    }
                    spool.links.remove(&name);
                    spool.files.insert(name, SpooledFile { path, digest, size });
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    let base = name.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("");
                    let joined = if target.starts_with(b"/") {
                        target.clone()
                    } else {
                        let mut joined = base.as_bytes().to_vec();
                        joined.push(b'/');
                        joined.extend_from_slice(&target);
                        joined
                    };
                    match clean_path(&joined) {
                        Ok(c) => {
                            spool
                                .links
                                .insert(name, String::from_utf8_lossy(&c.join(&b'/')).into_owned());
                        }
                        Err(_) => tracing::warn!(
                            entry = shown,
                            "ignoring archive symlink that leaves the archive"
                        ),
                    }
                }
                tar::EntryType::Link => {
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    let target = clean_path(&target)
                        .map(|c| String::from_utf8_lossy(&c.join(&b'/')).into_owned())
                        .map_err(|_| {
                            ImageError::archive(format!(
                                "archive hard link {shown:?} points outside the archive"
                            ))
                        })?;
                    let file = spool.files.get(&target).cloned().ok_or_else(|| {
                        ImageError::archive(format!("archive hard link {shown:?} names {target:?}, which comes nowhere before it"))
                    })?;
                    spool.files.insert(name, file);
                }
                _ => {}
            }
        }
        // Whatever follows the end-of-archive blocks is padding; read it so the upload
        // is consumed whole.
        io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(bad)?;
        if count == 0 {
            return Err(ImageError::archive(
                "the uploaded archive contains no files (expected the output of docker save or an OCI layout)",
            ));
        }
        Ok(spool)
    }

    /// A file by its archive path, following archive symlinks.
    pub(crate) fn get(&self, name: &str) -> Option<&SpooledFile> {
        let mut name = clean_path(name.as_bytes()).ok()?.join(&b'/');
        for _ in 0..16 {
            let key = String::from_utf8_lossy(&name).into_owned();
            if let Some(file) = self.files.get(&key) {
                return Some(file);
            }
            name = self.links.get(&key)?.as_bytes().to_vec();
        }
        None
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Reads a small file (JSON) whole.
    pub(crate) fn read_file(&self, name: &str) -> Result<Option<Vec<u8>>, ImageError> {
        let Some(file) = self.get(name) else {
            return Ok(None);
        };
        std::fs::read(&file.path)
            .map(Some)
            .map_err(|e| ImageError::Corrupt(format!("read spooled {name}: {e}")))
    }
}

fn copy_entry(entry: &mut impl Read, out: &mut impl Write, shown: &str) -> Result<(), ImageError> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(ImageError::archive(format!(
                    "invalid tar archive (truncated or corrupt) in entry {shown:?}: {e}"
                )))
            }
        };
        out.write_all(&buf[..n])
            .map_err(|e| ImageError::Corrupt(format!("spool archive entry {shown:?}: {e}")))?;
    }
}
