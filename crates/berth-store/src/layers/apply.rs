//! Unpacking one layer tar into a folder usable as an overlayfs lower.
//!
//! Safety rules, each enforced before anything is written:
//! - entry paths are cleaned lexically; a path that climbs above the layer root with `..`
//!   is refused, a leading `/` is dropped (the entry lands inside the layer, as Docker does);
//! - parents are opened with `openat2(RESOLVE_BENEATH)`, so a symlink in the layer (one
//!   unpacked earlier from the same tar) can never carry a write outside the layer;
//! - the final component is always handled with `*at` calls that do not follow symlinks;
//! - hard links must name a file already unpacked into this layer;
//! - `trusted.overlay.*` xattrs from the tar are ignored, since they would steer overlayfs.
//!
//! Whiteouts are converted to overlayfs form: `.wh.name` becomes a 0/0 character device
//! `name`, `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its folder.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::rc::Rc;

use tar::EntryType;

use super::split::{SplitRecorder, TeeReader};
use super::sys::{self, Dir, Kind};
use crate::digest::Digest;
use crate::error::StoreError;

/// What unpacking a tar produced.
#[derive(Debug)]
pub(crate) struct Unpacked {
    pub diff_id: Digest,
    pub tar_size: u64,
    /// Bytes of regular file content (hard links counted once).
    pub size: u64,
    /// False when an entry overwrote content recorded earlier in the same tar, so the
    /// original stream cannot be replayed from the folder.
    pub reproducible: bool,
}

pub(crate) fn unpack(reader: impl Read, root: &Dir, split: File) -> Result<Unpacked, StoreError> {
    let recorder = Rc::new(RefCell::new(
        SplitRecorder::new(split).map_err(|e| StoreError::io("start the tar-split record", e))?,
    ));
    let mut archive = tar::Archive::new(TeeReader::new(reader, Rc::clone(&recorder)));
    let mut unpacker = Unpacker {
        root,
        dirs: Vec::new(),
        size: 0,
        recorder: Rc::clone(&recorder),
        recorded: HashSet::new(),
        reproducible: true,
    };
    {
        let entries = archive.entries().map_err(bad_tar)?;
        for entry in entries {
            let mut entry = entry.map_err(bad_tar)?;
            unpacker.apply(&mut entry)?;
        }
    }
    let (diff_id, tar_size) = archive.into_inner().finish().map_err(bad_tar)?;
    unpacker.finish_dirs();
    let (size, reproducible) = (unpacker.size, unpacker.reproducible);
    drop(unpacker);
    let recorder = Rc::try_unwrap(recorder)
        .ok()
        .expect("tar-split recorder still shared after unpacking")
        .into_inner();
    recorder
        .finish()
        .map_err(|e| StoreError::io("write the tar-split record", e))?;
    Ok(Unpacked {
        diff_id,
        tar_size,
        size,
        reproducible,
    })
}

fn bad_tar(err: io::Error) -> StoreError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        StoreError::BadTar(format!("truncated tar: {err}"))
    } else {
        StoreError::BadTar(format!("corrupt or truncated tar: {err}"))
    }
}

/// Lexically cleans a tar path into components (a leading `/` is dropped). `Err` when
/// `..` climbs above the root.
pub fn clean_path(raw: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for component in raw.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err("the path climbs out of the layer with '..'".into());
                }
            }
            other => out.push(other.to_vec()),
        }
    }
    Ok(out)
}

fn join(components: &[Vec<u8>]) -> Vec<u8> {
    components.join(&b'/')
}

fn os(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

/// Metadata of an entry after PAX overrides.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: i64,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

struct Unpacker<'a> {
    root: &'a Dir,
    /// Folders whose times are set at the end (creating children changes them).
    dirs: Vec<(Vec<u8>, i64)>,
    size: u64,
    recorder: Rc<RefCell<SplitRecorder>>,
    /// Paths whose content the split record refers to.
    recorded: HashSet<Vec<u8>>,
    reproducible: bool,
}

impl Unpacker<'_> {
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), StoreError> {
        let raw_path = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let unsafe_entry = |problem: String| StoreError::UnsafeEntry {
            path: shown.clone(),
            problem,
        };
        let entry_type = entry.header().entry_type();
        if matches!(entry_type, EntryType::XGlobalHeader) {
            return Ok(());
        }
        let components = clean_path(&raw_path).map_err(&unsafe_entry)?;
        let meta = read_meta(entry).map_err(bad_tar)?;

        let Some((name, parent_components)) = components.split_last() else {
            // The layer root itself ("./"): only its metadata can be set.
            if entry_type.is_dir() {
                self.set_dir_meta(self.root, &meta)
                    .map_err(|e| io_err(&shown, "set metadata", e))?;
                self.dirs.push((Vec::new(), meta.mtime));
            }
            return Ok(());
        };
        let joined = join(&components);

        if name.starts_with(b".wh.") {
            return self.whiteout(parent_components, name, &meta, &shown);
        }

        let parent = self.open_parent(parent_components, &shown)?;
        let name = os(name);
        match entry_type {
            EntryType::Directory => {
                match parent.stat(name).map_err(|e| io_err(&shown, "stat", e))? {
                    Some(stat) if stat.kind == Kind::Dir => {}
                    existing => {
                        if existing.is_some() {
                            self.remove(&parent, name, &joined, &shown)?;
                        }
                        parent
                            .mkdir(name, 0o700)
                            .map_err(|e| io_err(&shown, "create folder", e))?;
                    }
                }
                let dir = parent
                    .open_dir(name)
                    .map_err(|e| io_err(&shown, "open folder", e))?;
                self.set_dir_meta(&dir, &meta)
                    .map_err(|e| io_err(&shown, "set metadata", e))?;
                self.dirs.push((joined, meta.mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                self.remove(&parent, name, &joined, &shown)?;
                let mut file = parent
                    .create_file(name)
                    .map_err(|e| io_err(&shown, "create file", e))?;
                let size = entry.size();
                if size > 0 {
                    self.recorder
                        .borrow_mut()
                        .begin_file(&joined, size)
                        .map_err(|e| StoreError::io("write the tar-split record", e))?;
                    self.recorded.insert(joined.clone());
                }
                let copied = copy_content(entry, &mut file, &shown)?;
                if copied != size {
                    return Err(StoreError::BadTar(format!(
                        "truncated tar: entry {shown:?} announces {size} bytes but only {copied} follow"
                    )));
                }
                let fd = file.as_raw_fd();
                // SAFETY: `fd` belongs to `file`, which is open for the whole block.
                let ret = unsafe { libc::fchown(fd, meta.uid, meta.gid) };
                if ret < 0 {
                    return Err(io_err(&shown, "chown", io::Error::last_os_error()));
                }
                // SAFETY: as above.
                let ret = unsafe { libc::fchmod(fd, meta.mode as libc::mode_t) };
                if ret < 0 {
                    return Err(io_err(&shown, "chmod", io::Error::last_os_error()));
                }
                for (key, value) in &meta.xattrs {
                    ignore_unsupported(sys::fsetxattr(fd, key, value), &shown, key)?;
                }
                sys::futimes(fd, meta.mtime).map_err(|e| io_err(&shown, "set times", e))?;
                self.size += size;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| StoreError::BadTar(format!("symlink {shown:?} has no target")))?
                    .into_owned();
                self.remove(&parent, name, &joined, &shown)?;
                parent
                    .symlink(&target, name)
                    .map_err(|e| io_err(&shown, "create symlink", e))?;
                parent
                    .chown(name, meta.uid, meta.gid)
                    .map_err(|e| io_err(&shown, "chown", e))?;
                for (key, value) in &meta.xattrs {
                    ignore_unsupported(parent.lsetxattr(name, key, value), &shown, key)?;
                }
                parent
                    .set_times(name, meta.mtime)
                    .map_err(|e| io_err(&shown, "set times", e))?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| {
                        StoreError::BadTar(format!("hard link {shown:?} has no target"))
                    })?
                    .into_owned();
                self.hard_link(&parent, name, &joined, &target, &shown)?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let kind = match entry_type {
                    EntryType::Char => libc::S_IFCHR,
                    EntryType::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                let header = entry.header();
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                self.remove(&parent, name, &joined, &shown)?;
                parent
                    .mknod(name, kind | meta.mode, major, minor)
                    .map_err(|e| io_err(&shown, "create device node", e))?;
                parent
                    .chown(name, meta.uid, meta.gid)
                    .map_err(|e| io_err(&shown, "chown", e))?;
                parent
                    .chmod_not_symlink(name, meta.mode)
                    .map_err(|e| io_err(&shown, "chmod", e))?;
                for (key, value) in &meta.xattrs {
                    ignore_unsupported(parent.lsetxattr(name, key, value), &shown, key)?;
                }
                parent
                    .set_times(name, meta.mtime)
                    .map_err(|e| io_err(&shown, "set times", e))?;
            }
            EntryType::GNUSparse => {
                return Err(StoreError::BadTar(format!(
                    "entry {shown:?} is a GNU sparse file, which layers do not support"
                )))
            }
            other => {
                return Err(StoreError::BadTar(format!(
                    "entry {shown:?} has an unsupported type {:?}",
                    other.as_byte() as char
                )))
            }
        }
        Ok(())
    }

    fn set_dir_meta(&self, dir: &Dir, meta: &Meta) -> io::Result<()> {
        dir.fchown(meta.uid, meta.gid)?;
        dir.fchmod(meta.mode)?;
        for (key, value) in &meta.xattrs {
            match dir.fsetxattr(key, value) {
                Ok(()) => {}
                Err(e) if is_unsupported(&e) => {
                    tracing::warn!(key = %String::from_utf8_lossy(key), error = %e, "xattr not applied")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Opens the parent folder of an entry, creating missing folders (0755, root-owned),
    /// and refusing any resolution that leaves the layer.
    fn open_parent(&self, components: &[Vec<u8>], shown: &str) -> Result<Dir, StoreError> {
        let explain = |err: io::Error, prefix: &[u8]| -> StoreError {
            let at = String::from_utf8_lossy(prefix).into_owned();
            match err.raw_os_error() {
                Some(libc::EXDEV) => StoreError::UnsafeEntry {
                    path: shown.to_string(),
                    problem: format!(
                        "{at:?} is a symlink that leads outside the layer; refusing to write through it"
                    ),
                },
                Some(libc::ELOOP) => StoreError::UnsafeEntry {
                    path: shown.to_string(),
                    problem: format!("too many levels of symlinks at {at:?}"),
                },
                Some(libc::ENOTDIR) => StoreError::UnsafeEntry {
                    path: shown.to_string(),
                    problem: format!("{at:?} is not a folder"),
                },
                _ => io_err(shown, &format!("open parent folder {at:?}"), err),
            }
        };
        let full = join(components);
        match self.root.resolve_beneath(&full) {
            Ok(dir) => return Ok(dir),
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {}
            Err(err) => return Err(explain(err, &full)),
        }
        let mut current = self
            .root
            .try_clone()
            .map_err(|e| io_err(shown, "open layer root", e))?;
        for i in 0..components.len() {
            let prefix = join(&components[..=i]);
            match self.root.resolve_beneath(&prefix) {
                Ok(dir) => current = dir,
                Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
                    match current.mkdir(os(&components[i]), 0o755) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                            return Err(StoreError::UnsafeEntry {
                                path: shown.to_string(),
                                problem: format!(
                                    "{:?} is a symlink whose target is missing; refusing to write through it",
                                    String::from_utf8_lossy(&prefix)
                                ),
                            })
                        }
                        Err(e) => return Err(io_err(shown, "create parent folder", e)),
                    }
                    current = current
                        .open_dir(os(&components[i]))
                        .map_err(|e| io_err(shown, "open parent folder", e))?;
                }
                Err(err) => return Err(explain(err, &prefix)),
            }
        }
        Ok(current)
    }

    /// Removes whatever is at `name` (to be replaced), noting when that destroys content
    /// the split record refers to.
    fn remove(
        &mut self,
        parent: &Dir,
        name: &OsStr,
        joined: &[u8],
        shown: &str,
    ) -> Result<(), StoreError> {
        let Some(stat) = parent.stat(name).map_err(|e| io_err(shown, "stat", e))? else {
            return Ok(());
        };
        if self.reproducible {
            let hit = if stat.kind == Kind::Dir {
                let mut prefix = joined.to_vec();
                prefix.push(b'/');
                self.recorded.iter().any(|p| p.starts_with(&prefix))
            } else {
                self.recorded.contains(joined)
            };
            if hit {
                tracing::warn!(
                    entry = shown,
                    "layer tar overwrites its own content; it cannot be re-exported byte for byte"
                );
                self.reproducible = false;
            }
        }
        parent
            .remove_all(name)
            .map_err(|e| io_err(shown, "remove existing entry", e))
    }

    fn hard_link(
        &mut self,
        parent: &Dir,
        name: &OsStr,
        joined: &[u8],
        target: &[u8],
        shown: &str,
    ) -> Result<(), StoreError> {
        let unsafe_entry = |problem: String| StoreError::UnsafeEntry {
            path: shown.to_string(),
            problem,
        };
        let shown_target = String::from_utf8_lossy(target).into_owned();
        let components = clean_path(target).map_err(|_| {
            unsafe_entry(format!(
                "hard link target {shown_target:?} is outside the layer"
            ))
        })?;
        let Some((target_name, target_parent)) = components.split_last() else {
            return Err(unsafe_entry("hard link to the layer root".into()));
        };
        let not_here = || {
            unsafe_entry(format!(
                "hard link target {shown_target:?} is not a file in this layer"
            ))
        };
        let source_dir = match self.root.resolve_beneath(&join(target_parent)) {
            Ok(dir) => dir,
            Err(err) if err.raw_os_error() == Some(libc::EXDEV) => {
                return Err(unsafe_entry(format!(
                    "hard link target {shown_target:?} resolves outside the layer"
                )))
            }
            Err(_) => return Err(not_here()),
        };
        let source = source_dir
            .stat(os(target_name))
            .map_err(|e| io_err(shown, "stat link target", e))?;
        let Some(source) = source else {
            return Err(not_here());
        };
        if source.kind == Kind::Dir {
            return Err(unsafe_entry(format!(
                "hard link target {shown_target:?} is a folder"
            )));
        }
        if let Some(existing) = parent.stat(name).map_err(|e| io_err(shown, "stat", e))? {
            if existing.dev == source.dev && existing.ino == source.ino {
                return Ok(());
            }
        }
        self.remove(parent, name, joined, shown)?;
        parent
            .link_from(&source_dir, os(target_name), name)
            .map_err(|e| io_err(shown, "create hard link", e))
    }

    fn whiteout(
        &mut self,
        parent_components: &[Vec<u8>],
        name: &[u8],
        meta: &Meta,
        shown: &str,
    ) -> Result<(), StoreError> {
        let parent = self.open_parent(parent_components, shown)?;
        if name == b".wh..wh..opq" {
            return parent
                .fsetxattr(b"trusted.overlay.opaque", b"y")
                .map_err(|e| io_err(shown, "mark folder opaque (trusted.overlay.opaque)", e));
        }
        if name.starts_with(b".wh..wh.") {
            // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not part of the filesystem.
            return Ok(());
        }
        let hidden = &name[4..];
        if hidden.is_empty() || hidden == b"." || hidden == b".." {
            return Err(StoreError::UnsafeEntry {
                path: shown.to_string(),
                problem: "whiteout names no file".into(),
            });
        }
        let mut joined = join(parent_components);
        if !joined.is_empty() {
            joined.push(b'/');
        }
        joined.extend_from_slice(hidden);
        self.remove(&parent, os(hidden), &joined, shown)?;
        parent
            .mknod(os(hidden), libc::S_IFCHR, 0, 0)
            .map_err(|e| io_err(shown, "create whiteout device", e))?;
        parent
            .chown(os(hidden), meta.uid, meta.gid)
            .map_err(|e| io_err(shown, "chown", e))?;
        Ok(())
    }

    /// Sets folder times last, since creating entries in a folder changes its mtime.
    fn finish_dirs(&mut self) {
        for (path, mtime) in self.dirs.drain(..).rev() {
            let result = self
                .root
                .resolve_beneath(&path)
                .and_then(|dir| dir.set_own_times(mtime));
            if let Err(err) = result {
                // The folder may have been replaced by a later entry; times are cosmetic.
                tracing::debug!(path = %String::from_utf8_lossy(&path), error = %err, "folder times not set");
            }
        }
    }
}

/// Copies an entry's content, telling read errors (the tar's fault) from write errors.
fn copy_content(entry: &mut impl Read, file: &mut File, shown: &str) -> Result<u64, StoreError> {
    let mut buf = vec![0u8; 128 * 1024];
    let mut total = 0u64;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(bad_tar(e)),
        };
        file.write_all(&buf[..n])
            .map_err(|e| io_err(shown, "write file", e))?;
        total += n as u64;
    }
}

fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
    let header = entry.header();
    let mut meta = Meta {
        uid: header.uid()? as u32,
        gid: header.gid()? as u32,
        mode: header.mode()? & 0o7777,
        mtime: header.mtime()? as i64,
        xattrs: Vec::new(),
    };
    if let Some(extensions) = entry.pax_extensions()? {
        for extension in extensions {
            let extension = extension?;
            let key = extension.key_bytes();
            let value = extension.value_bytes();
            let number = || {
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.split('.').next()?.parse::<i64>().ok())
            };
            match key {
                b"uid" => meta.uid = number().unwrap_or(meta.uid as i64) as u32,
                b"gid" => meta.gid = number().unwrap_or(meta.gid as i64) as u32,
                b"mtime" => meta.mtime = number().unwrap_or(meta.mtime),
                _ => {
                    if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                        if name.starts_with(b"trusted.overlay.")
                            || name.starts_with(b"user.overlay.")
                        {
                            tracing::warn!(key = %String::from_utf8_lossy(name), "ignoring overlayfs xattr in layer tar");
                            continue;
                        }
                        meta.xattrs.push((name.to_vec(), value.to_vec()));
                    }
                }
            }
        }
    }
    Ok(meta)
}

fn io_err(path: &str, action: &str, err: io::Error) -> StoreError {
    StoreError::io(format!("layer entry {path:?}: {action}"), err)
}

fn is_unsupported(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM))
}

fn ignore_unsupported(result: io::Result<()>, path: &str, key: &[u8]) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if is_unsupported(&e) => {
            tracing::warn!(entry = path, key = %String::from_utf8_lossy(key), error = %e, "xattr not applied");
            Ok(())
        }
        Err(e) => Err(io_err(path, "set xattr", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn cleaning() {
        let c = |s: &str| {
            clean_path(s.as_bytes()).map(|v| {
                v.iter()
                    .map(|p| String::from_utf8(p.clone()).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(c("./a/b/").unwrap(), vec!["a", "b"]);
        assert_eq!(c("/etc/passwd").unwrap(), vec!["etc", "passwd"]);
        assert_eq!(c("a/../b").unwrap(), vec!["b"]);
        assert!(c("../x").is_err());
        assert!(c("a/../../x").is_err());
        assert!(c("./").unwrap().is_empty());
    }
}
