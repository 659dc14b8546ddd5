//! Building tars for tests, including malicious ones that the `tar` crate's safe setters
//! would refuse to write (names are poked into the header bytes directly).

#![allow(dead_code)]

use std::io::Write;

pub struct TarBuilder {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for TarBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuilder {
    pub fn new() -> Self {
        TarBuilder {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(name: &str, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().unwrap();
        assert!(name.len() < 100, "test names must fit the header");
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_600_000_000);
        header
    }

    fn link_name(header: &mut tar::Header, target: &str) {
        let gnu = header.as_gnu_mut().unwrap();
        assert!(target.len() < 100);
        gnu.linkname = [0; 100];
        gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
    }

    pub fn dir(mut self, name: &str, mode: u32) -> Self {
        let mut h = Self::header(name, tar::EntryType::Directory, mode, 0);
        h.set_cksum();
        self.builder.append(&h, &[][..]).unwrap();
        self
    }

    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.file_with(name, data, 0o644, 0, 0)
    }

    pub fn file_with(mut self, name: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> Self {
        let mut h = Self::header(name, tar::EntryType::Regular, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_cksum();
        self.builder.append(&h, data).unwrap();
        self
    }

    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        let mut h = Self::header(name, tar::EntryType::Symlink, 0o777, 0);
        Self::link_name(&mut h, target);
        h.set_cksum();
        self.builder.append(&h, &[][..]).unwrap();
        self
    }

    pub fn hardlink(mut self, name: &str, target: &str) -> Self {
        let mut h = Self::header(name, tar::EntryType::Link, 0o644, 0);
        Self::link_name(&mut h, target);
        h.set_cksum();
        self.builder.append(&h, &[][..]).unwrap();
        self
    }

    pub fn device(mut self, name: &str, kind: tar::EntryType, major: u32, minor: u32) -> Self {
        let mut h = Self::header(name, kind, 0o640, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        h.set_cksum();
        self.builder.append(&h, &[][..]).unwrap();
        self
    }

    pub fn xattr_file(mut self, name: &str, data: &[u8], key: &str, value: &[u8]) -> Self {
        let pax_key = format!("SCHILY.xattr.{key}");
        self.builder
            .append_pax_extensions([(pax_key.as_str(), value)])
            .unwrap();
        self.file(name, data)
    }

    pub fn finish(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Everything under `dir`, relative, sorted (to check that nothing is left behind).
pub fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(base).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
