//! A build context kept as the tar the client sent, plus an index of its entries: the
//! upload is written to one file as it streams in (sequential I/O only), every regular
//! file is hashed on the way, and nothing is unpacked until a `COPY`/`ADD` that misses
//! the cache needs its sources (then only those are written out). A cached build of a
//! context of many small files costs one file write instead of thousands of creations
//! and removals.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::context::{clean_relative, is_truncated_trailer};
use crate::error::BuildError;
use crate::ignore::IgnoreRules;

const MAX_SYMLINKS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink(String),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub mode: u32,
    pub mtime: u64,
    pub size: u64,
    /// Where the content starts in the tar file.
    pub offset: u64,
    pub sum: [u8; 32],
}

/// The context: the tar file and its entries by clean relative path.
#[derive(Debug)]
pub struct TarContext {
    file: PathBuf,
    entries: BTreeMap<String, Entry>,
}

/// Copies what the archive reader reads into the tar file, so entry offsets in the
/// stream are offsets in the file.
struct Tee<R: Read, W: Write> {
    inner: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl TarContext {
    /// Receives a (decompressed) tar stream into `file` and indexes it.
    pub fn receive(reader: &mut dyn Read, file: &Path) -> Result<TarContext, BuildError> {
        let out = std::io::BufWriter::with_capacity(
            1 << 20,
            fs::File::create(file).map_err(|e| BuildError::Io(e.to_string()))?,
        );
        let mut tee = Tee { inner: reader, out };
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        {
            let mut archive = tar::Archive::new(&mut tee);
            let iter = archive
                .entries()
                .map_err(|e| BuildError::context(format!("reading the build context: {e}")))?;
            let mut buffer = vec![0u8; 64 * 1024];
            for entry in iter {
                let mut entry = match entry {
                    Ok(entry) => entry,
                    // docker's CLI may end the stream right after the last entry.
                    Err(e) if is_truncated_trailer(&e) => break,
                    Err(e) => {
                        return Err(BuildError::context(format!(
                            "reading the build context: {e}"
                        )))
                    }
                };
                let raw = entry.path_bytes().into_owned();
                let Some(rel) = clean_relative(&raw)? else {
                    continue;
                };
                let header = entry.header();
                let mode = header.mode().unwrap_or(0o644) & 0o7777;
                let mtime = header.mtime().unwrap_or(0);
                let offset = entry.raw_file_position();
                let kind = header.entry_type();
                let item = match kind {
                    tar::EntryType::Directory => Entry {
                        kind: Kind::Dir,
                        mode,
                        mtime,
                        size: 0,
                        offset: 0,
                        sum: [0; 32],
                    },
                    tar::EntryType::Regular | tar::EntryType::Continuous => {
                        let size = header.size().unwrap_or(0);
                        let mut hasher = Sha256::new();
                        let mut read = 0u64;
                        loop {
                            let n = entry.read(&mut buffer).map_err(|e| {
                                BuildError::context(format!("reading the build context: {e}"))
                            })?;
                            if n == 0 {
                                break;
                            }
                            hasher.update(&buffer[..n]);
                            read += n as u64;
                        }
                        if read != size {
                            return Err(BuildError::context(format!(
                                "reading the build context: {rel} is truncated"
                            )));
                        }
                        Entry {
                            kind: Kind::File,
                            mode,
                            mtime,
                            size,
                            offset,
                            sum: hasher.finalize().into(),
                        }
                    }
                    tar::EntryType::Symlink => {
                        let target = entry
                            .link_name()
                            .ok()
                            .flatten()
                            .map(|t| t.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        Entry {
                            kind: Kind::Symlink(target),
                            mode,
                            mtime,
                            size: 0,
                            offset: 0,
                            sum: [0; 32],
                        }
                    }
                    tar::EntryType::Link => {
                        let target = entry
                            .link_name_bytes()
                            .map(|b| b.into_owned())
                            .unwrap_or_default();
                        let target = clean_relative(&target)?.unwrap_or_default();
                        match entries.get(&target) {
                            Some(e) if e.kind == Kind::File => e.clone(),
                            _ => {
                                return Err(BuildError::context(format!(
                                    "invalid archive: hard link {rel} to {target}, which is not a file before it"
                                )))
                            }
                        }
                    }
                    _ => continue,
                };
                // Parents that the archive does not list are folders.
                let mut at = 0;
                while let Some(slash) = rel[at..].find('/') {
                    let parent = &rel[..at + slash];
                    entries.entry(parent.to_string()).or_insert(Entry {
                        kind: Kind::Dir,
                        mode: 0o755,
                        mtime,
                        size: 0,
                        offset: 0,
                        sum: [0; 32],
                    });
                    at += slash + 1;
                }
                if item.kind != Kind::Dir
                    || !matches!(entries.get(&rel), Some(e) if e.kind == Kind::Dir)
                {
                    if item.kind != Kind::Dir {
                        // A later entry replaces an earlier one, and what was below it.
                        let prefix = format!("{rel}/");
                        let below: Vec<String> = entries
                            .range(prefix.clone()..)
                            .take_while(|(k, _)| k.starts_with(&prefix))
                            .map(|(k, _)| k.clone())
                            .collect();
                        for k in below {
                            entries.remove(&k);
                        }
                    }
                    entries.insert(rel, item);
                } else if let Some(existing) = entries.get_mut(&rel) {
                    existing.mode = item.mode;
                    existing.mtime = item.mtime;
                }
            }
        }
        // Whatever follows the archive (padding) is read too, so the file is complete.
        std::io::copy(&mut tee.inner, &mut std::io::sink())
            .map_err(|e| BuildError::context(format!("reading the build context: {e}")))?;
        tee.out.flush().map_err(|e| BuildError::Io(e.to_string()))?;
        Ok(TarContext {
            file: file.to_path_buf(),
            entries,
        })
    }

    /// A context with nothing in it (a Dockerfile sent alone).
    pub fn empty(file: &Path) -> TarContext {
        TarContext {
            file: file.to_path_buf(),
            entries: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Follows symlinks inside the context as a chroot would; `None` when missing.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_string)
            .rev()
            .collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut followed = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(part);
            let key = resolved.join("/");
            match self.entries.get(&key) {
                None => return None,
                Some(Entry {
                    kind: Kind::Symlink(target),
                    ..
                }) => {
                    followed += 1;
                    if followed > MAX_SYMLINKS {
                        return None;
                    }
                    resolved.pop();
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    for p in target
                        .split('/')
                        .filter(|p| !p.is_empty() && *p != ".")
                        .rev()
                    {
                        pending.push(p.to_string());
                    }
                }
                Some(_) => {}
            }
        }
        Some(resolved.join("/"))
    }

    pub fn entry(&self, rel: &str) -> Option<&Entry> {
        self.entries.get(rel)
    }

    pub fn is_dir(&self, rel: &str) -> bool {
        rel.is_empty() || matches!(self.entries.get(rel), Some(e) if e.kind == Kind::Dir)
    }

    /// The entries below folder `rel` ("" = the root), in name order; none for a
    /// file or a name the context lacks.
    fn below<'a>(&'a self, rel: &str) -> impl Iterator<Item = (&'a String, &'a Entry)> + 'a {
        let prefix = folder_prefix(rel);
        let is_dir = self.is_dir(rel);
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(k, _)| is_dir && k.starts_with(&prefix))
    }

    /// Names directly inside folder `rel` ("" = the root), sorted.
    pub fn children(&self, rel: &str) -> Vec<String> {
        let prefix = folder_prefix(rel);
        self.entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('/'))
            .map(|(k, _)| k[prefix.len()..].to_string())
            .collect()
    }

    /// Reads a regular file's content.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, BuildError> {
        let entry = self
            .entries
            .get(rel)
            .filter(|e| e.kind == Kind::File)
            .ok_or_else(|| {
                BuildError::context(format!("{rel} is not a file in the build context"))
            })?;
        let file = fs::File::open(&self.file)?;
        let mut data = vec![0u8; entry.size as usize];
        file.read_exact_at(&mut data, entry.offset)?;
        Ok(data)
    }

    /// Drops what `.dockerignore` excludes.
    pub fn apply_ignore(&mut self, rules: &IgnoreRules) {
        if rules.is_empty() {
            return;
        }
        self.entries.retain(|path, _| !rules.excludes(path));
        // An exception inside an excluded folder keeps the folders above it.
        let mut parents: Vec<String> = Vec::new();
        for path in self.entries.keys() {
            let mut at = 0;
            while let Some(slash) = path[at..].find('/') {
                let parent = &path[..at + slash];
                if !self.entries.contains_key(parent) {
                    parents.push(parent.to_string());
                }
                at += slash + 1;
            }
        }
        for parent in parents {
            self.entries.entry(parent).or_insert(Entry {
                kind: Kind::Dir,
                mode: 0o755,
                mtime: 0,
                size: 0,
                offset: 0,
                sum: [0; 32],
            });
        }
    }

    pub fn remove(&mut self, rel: &str) {
        self.entries.remove(rel);
    }

    /// A checksum of `rel` and everything below it (names, types, modes, targets,
    /// contents): the cache key of a COPY source.
    pub fn checksum(&self, rel: &str) -> String {
        let mut hasher = Sha256::new();
        let mut add = |path: &str, entry: &Entry| {
            hasher.update(path.as_bytes());
            hasher.update([0]);
            hasher.update(entry.mode.to_le_bytes());
            match &entry.kind {
                Kind::File => {
                    hasher.update(b"f");
                    hasher.update(entry.sum);
                }
                Kind::Dir => hasher.update(b"d"),
                Kind::Symlink(t) => {
                    hasher.update(b"l");
                    hasher.update(t.as_bytes());
                }
            }
            hasher.update([0xff]);
        };
        if let Some(entry) = self.entries.get(rel) {
            add(rel, entry);
        }
        for (k, e) in self.below(rel) {
            add(k, e);
        }
        hex::encode(hasher.finalize())
    }

    /// Writes `rel` (and what is below it) under `dir`, at the same relative path;
    /// returns the path written.
    pub fn materialize(&self, rel: &str, dir: &Path) -> Result<PathBuf, BuildError> {
        let file = fs::File::open(&self.file)?;
        let target = if rel.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(rel)
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
        let mut write = |path: &str, entry: &Entry| -> Result<(), BuildError> {
            let host = if path.is_empty() {
                dir.to_path_buf()
            } else {
                dir.join(path)
            };
            match &entry.kind {
                Kind::Dir => {
                    fs::create_dir_all(&host)?;
                    dirs.push((host, entry.mode));
                }
                Kind::Symlink(t) => {
                    let _ = fs::remove_file(&host);
                    std::os::unix::fs::symlink(t, &host)?;
                }
                Kind::File => {
                    let mut out = fs::File::create(&host)?;
                    let mut remaining = entry.size;
                    let mut offset = entry.offset;
                    let mut buf = vec![0u8; (remaining.min(1 << 20)) as usize];
                    while remaining > 0 {
                        let n = remaining.min(buf.len() as u64) as usize;
                        file.read_exact_at(&mut buf[..n], offset)?;
                        out.write_all(&buf[..n])?;
                        remaining -= n as u64;
                        offset += n as u64;
                    }
                    out.set_permissions(fs::Permissions::from_mode(entry.mode))?;
                    if entry.mtime > 0 {
                        let _ = out.set_modified(
                            std::time::UNIX_EPOCH + std::time::Duration::from_secs(entry.mtime),
                        );
                    }
                }
            }
            Ok(())
        };
        if rel.is_empty() {
            fs::create_dir_all(dir)?;
        } else if let Some(entry) = self.entries.get(rel) {
            write(rel, entry)?;
        }
        for (k, e) in self.below(rel) {
            write(k, e)?;
        }
        for (path, mode) in dirs.into_iter().rev() {
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode));
        }
        Ok(target)
    }
}

/// `rel/`, the prefix of every name inside folder `rel`; "" for the root.
fn folder_prefix(rel: &str) -> String {
    if rel.is_empty() {
        String::new()
    } else {
        format!("{rel}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, file content, symlink target); neither: a folder.
    type Spec<'a> = (&'a str, Option<&'a [u8]>, Option<&'a str>);

    fn tar_of(entries: &[Spec]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            match (data, link) {
                (Some(data), _) => {
                    header.set_size(data.len() as u64);
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_cksum();
                    builder.append_data(&mut header, name, *data).unwrap();
                }
                (None, Some(link)) => {
                    header.set_size(0);
                    header.set_entry_type(tar::EntryType::Symlink);
                    builder.append_link(&mut header, name, link).unwrap();
                }
                (None, None) => {
                    header.set_size(0);
                    header.set_mode(0o755);
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_cksum();
                    builder
                        .append_data(&mut header, name, std::io::empty())
                        .unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn index_resolve_checksum_and_materialize() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_of(&[
            ("Dockerfile", Some(b"FROM x\n"), None),
            ("src/a.txt", Some(b"a"), None),
            ("src/deep/b.txt", Some(b"b"), None),
            ("link", None, Some("src")),
            ("escape", None, Some("/../../etc")),
        ]);
        let ctx = TarContext::receive(&mut &tar[..], &dir.path().join("ctx.tar")).unwrap();
        assert_eq!(ctx.read("Dockerfile").unwrap(), b"FROM x\n");
        assert!(ctx.is_dir("src"));
        assert_eq!(ctx.children("src"), vec!["a.txt", "deep"]);
        assert_eq!(ctx.resolve("link/a.txt").as_deref(), Some("src/a.txt"));
        assert_eq!(
            ctx.resolve("escape"),
            None,
            "symlinks stay inside the context"
        );
        assert_eq!(ctx.resolve("nope"), None);
        let before = ctx.checksum("src");
        let out = dir.path().join("out");
        let written = ctx.materialize("src", &out).unwrap();
        assert_eq!(fs::read(written.join("deep/b.txt")).unwrap(), b"b");
        let tar2 = tar_of(&[
            ("src/a.txt", Some(b"A"), None),
            ("src/deep/b.txt", Some(b"b"), None),
        ]);
        let ctx2 = TarContext::receive(&mut &tar2[..], &dir.path().join("ctx2.tar")).unwrap();
        assert_ne!(before, ctx2.checksum("src"));
    }

    #[test]
    fn ignore_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_of(&[("a.log", Some(b"1"), None), ("keep", Some(b"2"), None)]);
        let mut ctx = TarContext::receive(&mut &tar[..], &dir.path().join("c.tar")).unwrap();
        ctx.apply_ignore(&IgnoreRules::parse("*.log").unwrap());
        assert!(ctx.entry("a.log").is_none());
        assert!(ctx.entry("keep").is_some());
        let tar = tar_of(&[
            ("docs/a", Some(b"1"), None),
            ("docs/keep.md", Some(b"2"), None),
        ]);
        let mut ctx = TarContext::receive(&mut &tar[..], &dir.path().join("d.tar")).unwrap();
        ctx.apply_ignore(&IgnoreRules::parse("docs\n!docs/keep.md").unwrap());
        assert!(ctx.is_dir("docs"));
        assert_eq!(ctx.children("docs"), vec!["keep.md"]);
    }
}
