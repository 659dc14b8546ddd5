//! Writing a folder (a layer's `diff/`, a container's overlay upper dir, a merged rootfs)
//! as a tar stream in the form image layers use: entries sorted by name, no `./` prefix,
//! owners and modes and times and xattrs kept, hard links as link entries, and overlayfs
//! whiteouts converted back to their portable form (a 0/0 character device `x` becomes an
//! empty file `.wh.x`; a folder with `trusted.overlay.opaque=y` gets a `.wh..wh..opq`).

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use tar::{EntryType, Header};

use crate::error::{IoContext, StoreError};
use crate::layers::sys;

const OPAQUE: &[u8] = b"trusted.overlay.opaque";

/// An extended attribute: name and value.
type Xattr = (Vec<u8>, Vec<u8>);

/// Options for [`write_dir_tar`].
#[derive(Debug, Clone, Default)]
pub struct TarOptions {
    /// Convert overlayfs whiteouts to `.wh.` entries (true for layer diffs and upper
    /// dirs; false for a merged root, where a 0/0 char device is a real device).
    pub convert_whiteouts: bool,
}

/// Streams `dir` as a tar into `out` and returns `out` after the end-of-archive blocks.
pub fn write_dir_tar<W: Write>(dir: &Path, out: W, options: &TarOptions) -> Result<W, StoreError> {
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut walker = Walker {
        builder,
        options,
        links: HashMap::new(),
    };
    walker.walk(dir, b"")?;
    walker
        .builder
        .into_inner()
        .ctx(|| "finish tar stream".to_string())
}

struct Walker<'a, W: Write> {
    builder: tar::Builder<W>,
    options: &'a TarOptions,
    /// (dev, inode) → first path written, for hard links.
    links: HashMap<(u64, u64), Vec<u8>>,
}

impl<W: Write> Walker<'_, W> {
    fn walk(&mut self, dir: &Path, prefix: &[u8]) -> Result<(), StoreError> {
        let mut names: Vec<Vec<u8>> = fs::read_dir(dir)
            .ctx(|| format!("list {}", dir.display()))?
            .map(|e| e.map(|e| e.file_name().as_bytes().to_vec()))
            .collect::<io::Result<_>>()
            .ctx(|| format!("list {}", dir.display()))?;
        names.sort();
        for name in names {
            let path = dir.join(std::ffi::OsStr::from_bytes(&name));
            let mut rel = prefix.to_vec();
            rel.extend_from_slice(&name);
            let meta = fs::symlink_metadata(&path).ctx(|| format!("stat {}", path.display()))?;
            let file_type = meta.file_type();
            if self.options.convert_whiteouts && file_type.is_char_device() && meta.rdev() == 0 {
                let mut wh = prefix.to_vec();
                wh.extend_from_slice(b".wh.");
                wh.extend_from_slice(&name);
                let mut header = base_header(&meta, EntryType::Regular);
                header.set_mode(0o600);
                header.set_size(0);
                self.append(&mut header, &wh, io::empty(), &[])?;
                continue;
            }
            let (xattrs, opaque) = read_xattrs(&path)?;
            if file_type.is_dir() {
                let mut dir_name = rel.clone();
                dir_name.push(b'/');
                let mut header = base_header(&meta, EntryType::Directory);
                header.set_size(0);
                let opaque = self.options.convert_whiteouts && opaque;
                self.append(&mut header, &dir_name, io::empty(), &xattrs)?;
                if opaque {
                    let mut wh = dir_name.clone();
                    wh.extend_from_slice(b".wh..wh..opq");
                    let mut header = base_header(&meta, EntryType::Regular);
                    header.set_mode(meta.mode() & 0o777);
                    header.set_size(0);
                    self.append(&mut header, &wh, io::empty(), &[])?;
                }
                self.walk(&path, &dir_name)?;
            } else if file_type.is_symlink() {
                let target =
                    fs::read_link(&path).ctx(|| format!("read link {}", path.display()))?;
                let mut header = base_header(&meta, EntryType::Symlink);
                header.set_size(0);
                self.append_pax(&xattrs)?;
                self.builder
                    .append_link(&mut header, os_path(&rel), &target)
                    .ctx(|| format!("add {} to tar", path.display()))?;
            } else if file_type.is_file() {
                if meta.nlink() > 1 {
                    if let Some(first) = self.links.get(&(meta.dev(), meta.ino())).cloned() {
                        let mut header = base_header(&meta, EntryType::Link);
                        header.set_size(0);
                        self.builder
                            .append_link(&mut header, os_path(&rel), os_path(&first))
                            .ctx(|| format!("add {} to tar", path.display()))?;
                        continue;
                    }
                    self.links.insert((meta.dev(), meta.ino()), rel.clone());
                }
                let file = File::open(&path).ctx(|| format!("open {}", path.display()))?;
                let mut header = base_header(&meta, EntryType::Regular);
                header.set_size(meta.len());
                self.append(
                    &mut header,
                    &rel,
                    LengthChecked {
                        inner: file,
                        left: meta.len(),
                    },
                    &xattrs,
                )?;
            } else if file_type.is_char_device()
                || file_type.is_block_device()
                || file_type.is_fifo()
            {
                let kind = if file_type.is_char_device() {
                    EntryType::Char
                } else if file_type.is_block_device() {
                    EntryType::Block
                } else {
                    EntryType::Fifo
                };
                let mut header = base_header(&meta, kind);
                header.set_size(0);
                if !file_type.is_fifo() {
                    let rdev = meta.rdev();
                    header
                        .set_device_major(libc::major(rdev))
                        .ctx(|| "set device major".to_string())?;
                    header
                        .set_device_minor(libc::minor(rdev))
                        .ctx(|| "set device minor".to_string())?;
                }
                self.append(&mut header, &rel, io::empty(), &xattrs)?;
            }
            // Sockets are not archived (as docker).
        }
        Ok(())
    }

    fn append_pax(&mut self, xattrs: &[Xattr]) -> Result<(), StoreError> {
        if xattrs.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = xattrs
            .iter()
            .map(|(k, _)| format!("SCHILY.xattr.{}", String::from_utf8_lossy(k)))
            .collect();
        let records = keys
            .iter()
            .zip(xattrs)
            .map(|(k, (_, v))| (k.as_str(), v.as_slice()));
        self.builder
            .append_pax_extensions(records)
            .ctx(|| "write pax header".to_string())
    }

    fn append(
        &mut self,
        header: &mut Header,
        name: &[u8],
        data: impl io::Read,
        xattrs: &[Xattr],
    ) -> Result<(), StoreError> {
        self.append_pax(xattrs)?;
        self.builder
            .append_data(header, os_path(name), data)
            .ctx(|| format!("add {} to tar", String::from_utf8_lossy(name)))
    }
}

fn os_path(bytes: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

fn base_header(meta: &Metadata, kind: EntryType) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(meta.uid() as u64);
    header.set_gid(meta.gid() as u64);
    header.set_mtime(meta.mtime().max(0) as u64);
    header
}

/// Extended attributes worth archiving (everything but overlayfs' own), and whether the
/// folder is marked opaque.
fn read_xattrs(path: &Path) -> Result<(Vec<Xattr>, bool), StoreError> {
    let mut out = Vec::new();
    let mut opaque = false;
    let names = sys::llistxattr(path).ctx(|| format!("list xattrs of {}", path.display()))?;
    for name in names {
        let is_opaque = name.as_slice() == OPAQUE;
        if !is_opaque
            && (name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay."))
        {
            continue;
        }
        let key = CString::new(name.clone()).expect("xattr names have no NUL");
        if let Some(value) =
            sys::lgetxattr(path, &key).ctx(|| format!("read xattr of {}", path.display()))?
        {
            if is_opaque {
                opaque = value.as_slice() == b"y";
            } else {
                out.push((name, value));
            }
        }
    }
    Ok((out, opaque))
}

/// Streams a file but never more or fewer bytes than the header announced (a file that
/// changes while it is archived must not corrupt the tar).
struct LengthChecked<R> {
    inner: R,
    left: u64,
}

impl<R: io::Read> io::Read for LengthChecked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = (self.left.min(buf.len() as u64)) as usize;
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while it was archived",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
