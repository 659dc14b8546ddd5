//! A local file or directory as the tar `docker cp` uploads: the top entry under a given
//! name, then everything below it in name order, with modes, owners, times, symlinks as
//! symlinks and hard links as link entries (sockets are skipped, as docker does).

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

/// Streams `source` into `out` as a tar whose top entry is `top` (`.` for a directory
/// whose contents go straight into the extraction directory). Returns the bytes of
/// regular-file content written.
pub fn write_tar(source: &Path, top: &str, out: impl Write) -> io::Result<u64> {
    let mut packer = Packer {
        builder: tar::Builder::new(out),
        links: HashMap::new(),
        content: 0,
    };
    packer.builder.follow_symlinks(false);
    packer.add(source, PathBuf::from(top))?;
    packer.builder.into_inner()?.flush()?;
    Ok(packer.content)
}

struct Packer<W: Write> {
    builder: tar::Builder<W>,
    /// (device, inode) → the first name written, for hard links.
    links: HashMap<(u64, u64), PathBuf>,
    content: u64,
}

fn header(meta: &Metadata, kind: EntryType) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(meta.uid() as u64);
    header.set_gid(meta.gid() as u64);
    header.set_mtime(meta.mtime().max(0) as u64);
    header.set_size(0);
    header
}

impl<W: Write> Packer<W> {
    fn add(&mut self, path: &Path, name: PathBuf) -> io::Result<()> {
        let meta = fs::symlink_metadata(path)?;
        let kind = meta.file_type();
        let context = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if kind.is_dir() {
            let mut h = header(&meta, EntryType::Directory);
            self.builder
                .append_data(&mut h, &name, io::empty())
                .map_err(context)?;
            let mut children: Vec<_> = fs::read_dir(path)
                .map_err(context)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()
                .map_err(context)?;
            children.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for child in children {
                self.add(&path.join(&child), name.join(&child))?;
            }
        } else if kind.is_symlink() {
            let target = fs::read_link(path).map_err(context)?;
            let mut h = header(&meta, EntryType::Symlink);
            self.builder
                .append_link(&mut h, &name, &target)
                .map_err(context)?;
        } else if kind.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    let mut h = header(&meta, EntryType::Link);
                    let first = first.clone();
                    self.builder
                        .append_link(&mut h, &name, &first)
                        .map_err(context)?;
                    return Ok(());
                }
                self.links.insert(key, name.clone());
            }
            let file = File::open(path).map_err(context)?;
            let mut h = header(&meta, EntryType::Regular);
            h.set_size(meta.len());
            // A file that shrinks while being read would corrupt the stream: read exactly
            // the announced size, padding with zeros if it got shorter.
            let data = io::Read::take(
                io::Read::chain(io::Read::take(file, meta.len()), io::repeat(0)),
                meta.len(),
            );
            self.builder
                .append_data(&mut h, &name, data)
                .map_err(context)?;
            self.content += meta.len();
        } else if kind.is_char_device() || kind.is_block_device() || kind.is_fifo() {
            let entry_kind = if kind.is_char_device() {
                EntryType::Char
            } else if kind.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            };
            let mut h = header(&meta, entry_kind);
            h.set_device_major(libc::major(meta.rdev()))?;
            h.set_device_minor(libc::minor(meta.rdev()))?;
            self.builder
                .append_data(&mut h, &name, io::empty())
                .map_err(context)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn directories_links_and_modes() {
        let dir = std::env::temp_dir().join(format!("berth-pack-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src/sub")).unwrap();
        fs::write(dir.join("src/sub/a"), b"hello").unwrap();
        fs::set_permissions(dir.join("src/sub/a"), fs::Permissions::from_mode(0o741)).unwrap();
        fs::hard_link(dir.join("src/sub/a"), dir.join("src/b")).unwrap();
        std::os::unix::fs::symlink("sub/a", dir.join("src/l")).unwrap();
        let mut out = Vec::new();
        let content = write_tar(&dir.join("src"), "top", &mut out).unwrap();
        assert_eq!(content, 5);
        let mut archive = tar::Archive::new(&out[..]);
        let entries: Vec<(String, EntryType, u32, Option<String>)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().entry_type(),
                    e.header().mode().unwrap(),
                    e.link_name().unwrap().map(|l| l.display().to_string()),
                )
            })
            .collect();
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["top", "top/b", "top/l", "top/sub", "top/sub/a"]);
        assert_eq!(entries[1].1, EntryType::Regular);
        assert_eq!(entries[1].2, 0o741);
        assert_eq!(entries[2].1, EntryType::Symlink);
        assert_eq!(entries[2].3.as_deref(), Some("sub/a"));
        assert_eq!(entries[4].1, EntryType::Link);
        assert_eq!(entries[4].3.as_deref(), Some("top/b"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
