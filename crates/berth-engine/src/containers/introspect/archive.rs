//! `GET|HEAD|PUT /containers/{id}/archive?path=`: `docker cp`. Paths are resolved as if
//! chrooted into the container's root (symlinks cannot lead out of it), and a running
//! container is frozen while its files are read or written so that no process inside
//! can swap a directory for a symlink half-way (the race of CVE-2018-15664).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use berth_api::ApiError;
use berth_runtime::scoped;
use berth_shim::Request;
use serde_json::json;

use crate::containers::{rootfs, Container, Status};
use crate::Engine;

/// Go's `os.FileMode` type bits, which docker clients read from the stat header.
const GO_MODE_DIR: u32 = 1 << 31;
const GO_MODE_SYMLINK: u32 = 1 << 27;
const GO_MODE_DEVICE: u32 = 1 << 26;
const GO_MODE_PIPE: u32 = 1 << 25;
const GO_MODE_SOCKET: u32 = 1 << 24;
const GO_MODE_CHAR: u32 = 1 << 21;

/// The `X-Docker-Container-Path-Stat` header value (base64 JSON) and whether the path is
/// a directory.
pub struct PathStat {
    pub header: String,
    pub is_dir: bool,
}

/// A container root made available for the duration of a copy: mounted if stopped,
/// frozen if running; undone on drop of the guard's `finish`.
struct RootAccess {
    root: PathBuf,
    mounted_here: bool,
    paused_here: bool,
}

impl Engine {
    async fn open_root(&self, container: &Arc<Container>) -> Result<RootAccess, ApiError> {
        let record = container.snapshot();
        let status = record.state.status;
        if status.is_live() {
            let paused_here = status == Status::Running;
            if paused_here {
                self.shim_call(container, Request::Pause).await?;
            }
            return Ok(RootAccess {
                root: rootfs::rootfs_path(&container.dir),
                mounted_here: false,
                paused_here,
            });
        }
        let id = berth_image::Digest::parse(&record.image_id)
            .map_err(|e| ApiError::system(e.to_string()))?;
        let lowers = self.image_store().layer_dirs(&id)?;
        let dir = container.dir.clone();
        let root = tokio::task::spawn_blocking(move || rootfs::mount_overlay(&dir, &lowers))
            .await
            .map_err(|e| ApiError::system(e.to_string()))??;
        Ok(RootAccess {
            root,
            mounted_here: true,
            paused_here: false,
        })
    }

    async fn close_root(&self, container: &Arc<Container>, access: RootAccess) {
        if access.paused_here {
            let _ = self.shim_call(container, Request::Resume).await;
        }
        if access.mounted_here {
            let _ = rootfs::unmount(&container.dir);
        }
    }

    /// `HEAD /containers/{id}/archive`.
    pub async fn container_path_stat(
        &self,
        reference: &str,
        path: &str,
    ) -> Result<PathStat, ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        let access = self.open_root(&container).await?;
        let result = stat_in(&access.root, path, &container.id);
        self.close_root(&container, access).await;
        result
    }

    /// `GET /containers/{id}/archive`: the stat, then the tar written to `out`.
    pub async fn container_archive_get(
        &self,
        reference: &str,
        path: &str,
        out: Box<dyn Write + Send>,
        ready: tokio::sync::oneshot::Sender<Result<PathStat, ApiError>>,
    ) -> Result<(), ApiError> {
        // Errors before the stat go to the caller through `ready` too: it answers the
        // request with them (a 404 for a missing container).
        let container = match self.containers.get(reference) {
            Ok(container) => container,
            Err(e) => {
                let _ = ready.send(Err(e.clone()));
                return Err(e);
            }
        };
        let _op = container.op.lock().await;
        let access = match self.open_root(&container).await {
            Ok(access) => access,
            Err(e) => {
                let _ = ready.send(Err(e.clone()));
                return Err(e);
            }
        };
        let root = access.root.clone();
        let path = path.to_string();
        let id = container.id.clone();
        let result = tokio::task::spawn_blocking(move || {
            let stat = stat_in(&root, &path, &id);
            let failed = stat.is_err();
            let _ = ready.send(stat);
            if failed {
                return Ok(());
            }
            let host = resolve_keep_last(&root, &path)?;
            let name = archive_name(&path);
            write_tar(&host, &name, out)
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?;
        self.close_root(&container, access).await;
        result
    }

    /// `PUT /containers/{id}/archive`: extracts `input` (a tar) into directory `path`.
    pub async fn container_archive_put(
        &self,
        reference: &str,
        path: &str,
        input: Box<dyn Read + Send>,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> Result<(), ApiError> {
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        if container.snapshot().host_config.readonly_rootfs {
            return Err(ApiError::new(
                berth_api::ErrorKind::Forbidden,
                "container rootfs is marked read-only",
            ));
        }
        let access = self.open_root(&container).await?;
        let root = access.root.clone();
        let path = path.to_string();
        let id = container.id.clone();
        let result = tokio::task::spawn_blocking(move || {
            let dest = scoped::resolve(&root, Path::new(&path))
                .map_err(|e| ApiError::system(format!("resolving {path}: {e}")))?;
            match std::fs::metadata(&dest) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(ApiError::invalid("extraction point is not a directory")),
                Err(_) => {
                    return Err(ApiError::not_found(format!(
                        "Could not find the file {path} in container {id}"
                    )))
                }
            }
            extract(&root, &dest, input, no_overwrite_dir_non_dir, copy_uid_gid)
        })
        .await
        .map_err(|e| ApiError::system(e.to_string()))?;
        self.close_root(&container, access).await;
        result
    }
}

/// Resolves all but the last component inside the root, keeping the last one as is, so a
/// symlink at `path` itself is copied as a symlink (docker's lstat semantics).
fn resolve_keep_last(root: &Path, path: &str) -> Result<PathBuf, ApiError> {
    let raw = Path::new(path);
    let parent = raw.parent().unwrap_or(Path::new("/"));
    let resolved_parent = scoped::resolve(root, parent)
        .map_err(|e| ApiError::system(format!("resolving {path}: {e}")))?;
    Ok(match raw.file_name() {
        Some(name) if !path.ends_with("/.") => resolved_parent.join(name),
        _ => scoped::resolve(root, raw).map_err(|e| ApiError::system(e.to_string()))?,
    })
}

/// The top-level name in the archive: the path's last component (`/` for the root), or
/// `.` for `dir/.` (the directory's contents), as dockerd names it: docker clients rename
/// `./...` entries to put the contents under another name.
fn archive_name(path: &str) -> String {
    if path.ends_with("/.") || path == "." {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    Path::new(trimmed)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

fn stat_in(root: &Path, path: &str, id: &str) -> Result<PathStat, ApiError> {
    let host = resolve_keep_last(root, path)?;
    let meta = std::fs::symlink_metadata(&host).map_err(|_| {
        ApiError::not_found(format!("Could not find the file {path} in container {id}"))
    })?;
    let file_type = meta.file_type();
    use std::os::unix::fs::FileTypeExt;
    let mut mode = meta.permissions().mode() & 0o777;
    if meta.mode() & libc::S_ISUID != 0 {
        mode |= 1 << 23;
    }
    if meta.mode() & libc::S_ISGID != 0 {
        mode |= 1 << 22;
    }
    if meta.mode() & libc::S_ISVTX != 0 {
        mode |= 1 << 20;
    }
    if file_type.is_dir() {
        mode |= GO_MODE_DIR;
    } else if file_type.is_symlink() {
        mode |= GO_MODE_SYMLINK;
    } else if file_type.is_fifo() {
        mode |= GO_MODE_PIPE;
    } else if file_type.is_socket() {
        mode |= GO_MODE_SOCKET;
    } else if file_type.is_char_device() {
        mode |= GO_MODE_DEVICE | GO_MODE_CHAR;
    } else if file_type.is_block_device() {
        mode |= GO_MODE_DEVICE;
    }
    let link_target = if file_type.is_symlink() {
        std::fs::read_link(&host)
            .map(|t| t.display().to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let mtime = chrono::DateTime::from_timestamp(meta.mtime(), meta.mtime_nsec() as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let stat = json!({
        "name": archive_name(path),
        "size": meta.len(),
        "mode": mode,
        "mtime": mtime,
        "linkTarget": link_target,
    });
    Ok(PathStat {
        header: base64::engine::general_purpose::STANDARD.encode(stat.to_string()),
        is_dir: file_type.is_dir(),
    })
}

fn write_tar(host: &Path, name: &str, out: Box<dyn Write + Send>) -> Result<(), ApiError> {
    let mut tree = TreeTar {
        builder: tar::Builder::new(out),
        links: HashMap::new(),
    };
    tree.add(host, name.to_string())
        .and_then(|()| tree.builder.finish())
        .map_err(|e| ApiError::system(format!("writing the archive: {e}")))
}

/// A file tree as a tar the way dockerd writes `docker cp` archives: entries in name
/// order under the top name, modes, owners and times kept, symlinks as symlinks, hard
/// links as link entries, devices and fifos as such, sockets skipped. Names starting
/// with `./` are kept verbatim (through PAX records), since clients rebase them.
struct TreeTar<W: Write> {
    builder: tar::Builder<W>,
    /// (device, inode) → the first name written, for hard links.
    links: HashMap<(u64, u64), String>,
}

impl<W: Write> TreeTar<W> {
    fn add(&mut self, path: &Path, name: String) -> std::io::Result<()> {
        use std::os::unix::fs::FileTypeExt;
        use tar::{EntryType, Header};
        let meta = std::fs::symlink_metadata(path)?;
        let kind = meta.file_type();
        let mut header = Header::new_gnu();
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(meta.uid() as u64);
        header.set_gid(meta.gid() as u64);
        header.set_mtime(meta.mtime().max(0) as u64);
        header.set_size(0);
        if kind.is_dir() {
            header.set_entry_type(EntryType::Directory);
            self.append(&mut header, &format!("{name}/"), None, std::io::empty())?;
            let mut children: Vec<_> = std::fs::read_dir(path)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<std::io::Result<_>>()?;
            children.sort();
            for child in children {
                let child_name = format!("{name}/{}", child.to_string_lossy());
                self.add(&path.join(&child), child_name)?;
            }
        } else if kind.is_symlink() {
            header.set_entry_type(EntryType::Symlink);
            let target = std::fs::read_link(path)?.display().to_string();
            self.append(&mut header, &name, Some(&target), std::io::empty())?;
        } else if kind.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key).cloned() {
                    header.set_entry_type(EntryType::Link);
                    return self.append(&mut header, &name, Some(&first), std::io::empty());
                }
                self.links.insert(key, name.clone());
            }
            header.set_entry_type(EntryType::Regular);
            header.set_size(meta.len());
            // Exactly the announced size even if the file changes meanwhile.
            let file = std::fs::File::open(path)?;
            let data = file
                .take(meta.len())
                .chain(std::io::repeat(0))
                .take(meta.len());
            self.append(&mut header, &name, None, data)?;
        } else if kind.is_char_device() || kind.is_block_device() || kind.is_fifo() {
            header.set_entry_type(if kind.is_char_device() {
                EntryType::Char
            } else if kind.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            });
            header.set_device_major(libc::major(meta.rdev()))?;
            header.set_device_minor(libc::minor(meta.rdev()))?;
            self.append(&mut header, &name, None, std::io::empty())?;
        }
        Ok(())
    }

    fn append(
        &mut self,
        header: &mut tar::Header,
        name: &str,
        link: Option<&str>,
        data: impl Read,
    ) -> std::io::Result<()> {
        // The tar crate drops a leading `./`; a PAX record keeps it for readers.
        let mut pax: Vec<(&str, &[u8])> = Vec::new();
        if name.starts_with("./") {
            pax.push(("path", name.as_bytes()));
        }
        if let Some(link) = link.filter(|l| l.starts_with("./")) {
            if header.entry_type() == tar::EntryType::Link {
                pax.push(("linkpath", link.as_bytes()));
            }
        }
        if !pax.is_empty() {
            self.builder.append_pax_extensions(pax)?;
        }
        match link {
            Some(link) => self.builder.append_link(header, name, link),
            None => self.builder.append_data(header, name, data),
        }
    }
}

/// Creates a device or fifo node from a tar entry (the tar crate would write a file).
fn make_node(target: &Path, kind: tar::EntryType, header: &tar::Header) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let file_type = match kind {
        tar::EntryType::Char => libc::S_IFCHR,
        tar::EntryType::Block => libc::S_IFBLK,
        _ => libc::S_IFIFO,
    };
    let mode = header.mode()? & 0o7777;
    // Some writers leave the device fields of a fifo blank.
    let dev = libc::makedev(
        header.device_major().ok().flatten().unwrap_or(0),
        header.device_minor().ok().flatten().unwrap_or(0),
    );
    let path = std::ffi::CString::new(target.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("path with a NUL byte"))?;
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::mknod(path.as_ptr(), file_type | mode, dev) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // mknod applies the umask; the archive's mode wins.
    std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode))
}

/// Unpacks `input` under `dest` (inside `root`): every entry's parent is resolved within
/// the root, an existing non-directory at the target is replaced rather than written
/// through, and hard links may only point inside the root.
fn extract(
    root: &Path,
    dest: &Path,
    input: Box<dyn Read + Send>,
    no_overwrite_dir_non_dir: bool,
    copy_uid_gid: bool,
) -> Result<(), ApiError> {
    let bad = |what: String| ApiError::invalid(what);
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    // Without `copyUIDGID` (`docker cp -a`) files belong to the container's root.
    archive.set_preserve_ownerships(copy_uid_gid);
    archive.set_unpack_xattrs(true);
    let dest_in_container = Path::new("/").join(dest.strip_prefix(root).unwrap_or(Path::new("")));
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("invalid tar: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("invalid tar: {e}")))?;
        let relative = clean_relative(
            &entry
                .path()
                .map_err(|e| bad(format!("invalid tar path: {e}")))?,
        )?;
        if relative.as_os_str().is_empty() {
            continue;
        }
        let in_container = dest_in_container.join(&relative);
        let parent = in_container.parent().unwrap_or(Path::new("/"));
        let host_parent =
            scoped::resolve(root, parent).map_err(|e| ApiError::system(e.to_string()))?;
        std::fs::create_dir_all(&host_parent)
            .map_err(|e| ApiError::system(format!("creating {}: {e}", parent.display())))?;
        let target = host_parent.join(relative.file_name().unwrap_or_default());
        let kind = entry.header().entry_type();
        if let Ok(existing) = std::fs::symlink_metadata(&target) {
            let incoming_dir = kind.is_dir();
            if no_overwrite_dir_non_dir && existing.is_dir() != incoming_dir {
                return Err(bad(format!(
                    "cannot overwrite {} {} with a {}",
                    if existing.is_dir() {
                        "directory"
                    } else {
                        "non-directory"
                    },
                    in_container.display(),
                    if incoming_dir {
                        "directory"
                    } else {
                        "non-directory"
                    }
                )));
            }
            if !(existing.is_dir() && incoming_dir) {
                let _ = if existing.is_dir() {
                    std::fs::remove_dir_all(&target)
                } else {
                    std::fs::remove_file(&target)
                };
            }
        }
        if kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(|e| bad(format!("invalid link: {e}")))?
                .ok_or_else(|| bad("hard link without a target".into()))?;
            let link_in = dest_in_container.join(clean_relative(&link)?);
            let source =
                scoped::resolve(root, &link_in).map_err(|e| ApiError::system(e.to_string()))?;
            std::fs::hard_link(&source, &target).map_err(|e| {
                ApiError::system(format!("linking {}: {e}", in_container.display()))
            })?;
            continue;
        }
        if matches!(
            kind,
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo
        ) {
            make_node(&target, kind, entry.header()).map_err(|e| {
                ApiError::system(format!("extracting {}: {e}", in_container.display()))
            })?;
            if copy_uid_gid {
                let (uid, gid) = (entry.header().uid(), entry.header().gid());
                if let (Ok(uid), Ok(gid)) = (uid, gid) {
                    let _ = std::os::unix::fs::lchown(&target, Some(uid as u32), Some(gid as u32));
                }
            }
            continue;
        }
        entry
            .unpack(&target)
            .map_err(|e| ApiError::system(format!("extracting {}: {e}", in_container.display())))?;
    }
    Ok(())
}

/// A tar path as a relative path without `..` escaping the destination.
fn clean_relative(path: &Path) -> Result<PathBuf, ApiError> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(ApiError::invalid(format!(
                        "invalid tar entry {}: it leaves the destination",
                        path.display()
                    )));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(tar: &[u8]) -> Vec<(String, tar::EntryType, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let link = e
                    .link_name()
                    .unwrap()
                    .map(|l| l.display().to_string())
                    .unwrap_or_default();
                (
                    String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                    e.header().entry_type(),
                    link,
                )
            })
            .collect()
    }

    #[test]
    fn hard_links_and_contents_names() {
        let dir = std::env::temp_dir().join(format!("berth-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d/sub")).unwrap();
        std::fs::write(dir.join("d/sub/a.txt"), b"x").unwrap();
        std::fs::hard_link(dir.join("d/sub/a.txt"), dir.join("d/b")).unwrap();
        std::os::unix::fs::symlink("sub/a.txt", dir.join("d/l")).unwrap();
        let write = |name: &str| {
            let mut out = Vec::new();
            let mut tree = TreeTar {
                builder: tar::Builder::new(&mut out),
                links: HashMap::new(),
            };
            tree.add(&dir.join("d"), name.to_string()).unwrap();
            tree.builder.finish().unwrap();
            drop(tree);
            out
        };
        let named = entries(&write("d"));
        let names: Vec<&str> = named.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["d/", "d/b", "d/l", "d/sub/", "d/sub/a.txt"]);
        assert_eq!(named[4].1, tar::EntryType::Link);
        assert_eq!(named[4].2, "d/b");
        assert_eq!(named[2].1, tar::EntryType::Symlink);
        let contents = entries(&write("."));
        let names: Vec<&str> = contents.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["./", "./b", "./l", "./sub/", "./sub/a.txt"]);
        assert_eq!(contents[4].2, "./b");
        assert_eq!(archive_name("/tmp/d/."), ".");
        assert_eq!(archive_name("/tmp/d/"), "d");
        assert_eq!(archive_name("/etc/passwd"), "passwd");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
