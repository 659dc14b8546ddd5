//! The build context: a tar stream unpacked into a private folder, safely (no entry may
//! leave the folder, by `..`, an absolute path, a symlink it created earlier, or a hard
//! link), with the sha256 of every regular file computed while it is written, so that
//! `COPY`/`ADD` cache keys cost no second read.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::BuildError;
use crate::ignore::IgnoreRules;

/// Content checksums of the regular files of an unpacked tree, by `/`-separated path.
#[derive(Debug, Default, Clone)]
pub struct Sums {
    files: HashMap<String, [u8; 32]>,
}

impl Sums {
    pub fn get(&self, path: &str) -> Option<&[u8; 32]> {
        self.files.get(path)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Options for [`extract`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions {
    /// Apply the entries' owners (`ADD` of an archive does; a context does not need to).
    pub keep_owner: bool,
}

/// Unpacks a (decompressed) tar stream into `root`, which must exist and be empty.
pub fn extract(
    reader: &mut dyn Read,
    root: &Path,
    options: ExtractOptions,
) -> Result<Sums, BuildError> {
    let mut archive = tar::Archive::new(reader);
    let mut sums = Sums::default();
    let mut symlinks: HashSet<String> = HashSet::new();
    let mut dir_modes: Vec<(PathBuf, u32)> = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let entries = archive
        .entries()
        .map_err(|e| BuildError::context(format!("reading the build context: {e}")))?;
    // docker's CLI (28.x) ends a context whose Dockerfile it added without the last
    // entry's padding and the end-of-archive blocks; dockerd accepts that, so a stream
    // that stops right after a complete entry is taken as finished.
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            // Every earlier entry was read in full (a short one fails below).
            Err(e) if is_truncated_trailer(&e) => break,
            Err(e) => {
                return Err(BuildError::context(format!(
                    "reading the build context: {e}"
                )))
            }
        };
        let raw = entry.path_bytes().into_owned();
        let Some(rel) = clean_relative(&raw)? else {
            continue; // the root itself
        };
        if through_symlink(&rel, &symlinks) {
            return Err(BuildError::context(format!(
                "invalid archive: {rel} is below a symbolic link"
            )));
        }
        let path = root.join(&rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let uid = header.uid().unwrap_or(0) as u32;
        let gid = header.gid().unwrap_or(0) as u32;
        let mtime = header.mtime().unwrap_or(0);
        let kind = header.entry_type();
        // A later entry replaces an earlier one (tar semantics), except folders.
        if !kind.is_dir() {
            remove_existing(&path);
        }
        symlinks.remove(&rel);
        match kind {
            tar::EntryType::Directory => {
                match fs::create_dir(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
                    Err(e) => return Err(e.into()),
                }
                dir_modes.push((path.clone(), mode));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                let mut hasher = Sha256::new();
                let expected = entry.header().size().unwrap_or(0);
                let mut written = 0u64;
                loop {
                    let n = entry.read(&mut buffer).map_err(|e| {
                        BuildError::context(format!("reading the build context: {e}"))
                    })?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buffer[..n]);
                    file.write_all(&buffer[..n])?;
                    written += n as u64;
                }
                if written != expected {
                    return Err(BuildError::context(format!(
                        "reading the build context: {rel} is truncated"
                    )));
                }
                file.set_permissions(fs::Permissions::from_mode(mode))?;
                if mtime > 0 {
                    let _ = file.set_modified(
                        std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime),
                    );
                }
                sums.files.insert(rel.clone(), hasher.finalize().into());
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name().ok().flatten().ok_or_else(|| {
                    BuildError::context(format!("invalid archive: symlink {rel} has no target"))
                })?;
                symlink(&target, &path)?;
                symlinks.insert(rel.clone());
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| b.into_owned())
                    .ok_or_else(|| {
                        BuildError::context(format!(
                            "invalid archive: hard link {rel} has no target"
                        ))
                    })?;
                let Some(target_rel) = clean_relative(&target)? else {
                    return Err(BuildError::context(format!(
                        "invalid archive: hard link {rel} points at the root"
                    )));
                };
                if through_symlink(&target_rel, &symlinks) || symlinks.contains(&target_rel) {
                    return Err(BuildError::context(format!(
                        "invalid archive: hard link {rel} goes through a symbolic link"
                    )));
                }
                fs::hard_link(root.join(&target_rel), &path)?;
                if let Some(sum) = sums.files.get(&target_rel).copied() {
                    sums.files.insert(rel.clone(), sum);
                }
            }
            tar::EntryType::Fifo => {
                let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                    .map_err(|e| BuildError::context(e.to_string()))?;
                // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
                if unsafe { libc::mkfifo(c.as_ptr(), mode) } != 0 {
                    return Err(std::io::Error::last_os_error().into());
                }
            }
            // Devices, pax and GNU extension headers: nothing to create.
            _ => continue,
        }
        if options.keep_owner {
            let _ = std::os::unix::fs::lchown(&path, Some(uid), Some(gid));
        }
    }
    // Folder modes last: a read-only folder must not block its own entries.
    for (path, mode) in dir_modes.into_iter().rev() {
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode));
    }
    Ok(sums)
}

/// A tar reader error that only means the archive lacks its end-of-archive blocks
/// (docker clients send such tars; the entries before it are whole).
pub(crate) fn is_truncated_trailer(e: &std::io::Error) -> bool {
    let text = e.to_string();
    e.kind() == std::io::ErrorKind::UnexpectedEof
        || text.contains("unexpected EOF")
        || text.contains("failed to read entire block")
}

fn remove_existing(path: &Path) {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.is_dir() {
            let _ = fs::remove_dir_all(path);
        } else {
            let _ = fs::remove_file(path);
        }
    }
}

/// An entry name as a clean relative path; `None` for the root; an error for a name
/// that leaves the root.
pub(crate) fn clean_relative(raw: &[u8]) -> Result<Option<String>, BuildError> {
    let text = String::from_utf8_lossy(raw);
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(BuildError::context(format!(
                        "invalid archive: {text} leaves the build context"
                    )));
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        Ok(None)
    } else {
        Ok(Some(parts.join("/")))
    }
}

/// Whether a proper prefix of `rel` is a symlink this extraction created.
fn through_symlink(rel: &str, symlinks: &HashSet<String>) -> bool {
    !symlinks.is_empty()
        && rel
            .match_indices('/')
            .any(|(at, _)| symlinks.contains(&rel[..at]))
}

/// Removes what `.dockerignore` excludes (clients such as docker-py send everything).
/// The Dockerfile and `.dockerignore` stay, as docker keeps them.
pub fn apply_ignore(root: &Path, rules: &IgnoreRules, keep: &[&str]) -> std::io::Result<()> {
    if rules.is_empty() {
        return Ok(());
    }
    fn walk(root: &Path, dir: &Path, rules: &IgnoreRules, keep: &[&str]) -> std::io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_dir = entry.file_type()?.is_dir();
            if keep.contains(&rel.as_str()) {
                continue;
            }
            if rules.excludes(&rel) {
                if is_dir
                    && (rules.has_exceptions()
                        || keep.iter().any(|k| k.starts_with(&format!("{rel}/"))))
                {
                    walk(root, &path, rules, keep)?;
                } else if is_dir {
                    fs::remove_dir_all(&path)?;
                } else {
                    fs::remove_file(&path)?;
                }
            } else if is_dir {
                walk(root, &path, rules, keep)?;
            }
        }
        Ok(())
    }
    walk(root, root, rules, keep)
}

/// A checksum over files and folders of an unpacked tree: names, types, modes, link
/// targets and contents (from `sums` when known, else read now). The cache key of a
/// `COPY`/`ADD` source.
pub fn checksum_paths(root: &Path, paths: &[PathBuf], sums: &Sums) -> Result<String, BuildError> {
    let mut hasher = Sha256::new();
    for path in paths {
        hash_tree(root, path, sums, &mut hasher)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

fn hash_tree(root: &Path, path: &Path, sums: &Sums, hasher: &mut Sha256) -> Result<(), BuildError> {
    let meta = fs::symlink_metadata(path)?;
    let rel = path
        .strip_prefix(root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string_lossy().into_owned());
    hasher.update(rel.as_bytes());
    hasher.update([0]);
    hasher.update((meta.permissions().mode()).to_le_bytes());
    if meta.file_type().is_symlink() {
        hasher.update(b"l");
        hasher.update(fs::read_link(path)?.as_os_str().as_encoded_bytes());
    } else if meta.is_dir() {
        hasher.update(b"d");
        let mut children: Vec<PathBuf> = fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        children.sort();
        for child in children {
            hash_tree(root, &child, sums, hasher)?;
        }
    } else if meta.is_file() {
        hasher.update(b"f");
        match sums.get(&rel) {
            Some(sum) => hasher.update(sum),
            None => {
                let mut file = fs::File::open(path)?;
                let mut inner = Sha256::new();
                std::io::copy(&mut file, &mut inner)?;
                hasher.update(inner.finalize());
            }
        }
    }
    hasher.update([0xff]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn extracts_and_sums() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_with(&[("a/b.txt", b"hello"), ("c", b"x")]);
        let sums = extract(&mut &tar[..], dir.path(), ExtractOptions::default()).unwrap();
        assert_eq!(fs::read(dir.path().join("a/b.txt")).unwrap(), b"hello");
        assert_eq!(sums.len(), 2);
        let one = checksum_paths(dir.path(), &[dir.path().join("a")], &sums).unwrap();
        fs::write(dir.path().join("a/b.txt"), b"changed").unwrap();
        let two = checksum_paths(dir.path(), &[dir.path().join("a")], &Sums::default()).unwrap();
        assert_ne!(one, two);
    }

    #[test]
    fn refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let mut raw = tar_with(&[("x", b"1")]);
        // Rewrite the name in place to `../x` (the tar crate refuses to write it).
        raw[..4].copy_from_slice(b"../x");
        let mut header = tar::Header::from_byte_slice(&raw[..512]).clone();
        header.set_cksum();
        raw[..512].copy_from_slice(header.as_bytes());
        let err = extract(&mut &raw[..], dir.path(), ExtractOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("leaves the build context"),
            "{err}"
        );
    }

    #[test]
    fn refuses_writes_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, "evil", "/tmp").unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "evil/owned", &b"x"[..])
            .unwrap();
        let raw = builder.into_inner().unwrap();
        let err = extract(&mut &raw[..], dir.path(), ExtractOptions::default()).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!Path::new("/tmp/owned").exists());
    }

    #[test]
    fn ignore_removes_excluded_files() {
        let dir = tempfile::tempdir().unwrap();
        let tar = tar_with(&[
            ("keep.txt", b"1"),
            ("drop.log", b"2"),
            ("logs/x", b"3"),
            ("Dockerfile", b"FROM x"),
        ]);
        extract(&mut &tar[..], dir.path(), ExtractOptions::default()).unwrap();
        let rules = IgnoreRules::parse("*.log\nlogs\nDockerfile\n").unwrap();
        apply_ignore(dir.path(), &rules, &["Dockerfile"]).unwrap();
        assert!(dir.path().join("keep.txt").exists());
        assert!(!dir.path().join("drop.log").exists());
        assert!(!dir.path().join("logs").exists());
        assert!(dir.path().join("Dockerfile").exists());
    }
}
