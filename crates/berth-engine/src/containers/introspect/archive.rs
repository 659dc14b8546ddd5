//! `GET|HEAD|PUT /containers/{id}/archive?path=`: `docker cp`. Paths are resolved as if
//! chrooted into the container's root (symlinks cannot lead out of it), and a running
//! container is frozen while its files are read or written so that no process inside
//! can swap a directory for a symlink half-way (the race of CVE-2018-15664).

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
        let container = self.containers.get(reference)?;
        let _op = container.op.lock().await;
        let access = self.open_root(&container).await?;
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
            extract(&root, &dest, input, no_overwrite_dir_non_dir)
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

/// The top-level name in the archive: the path's last component (`/` for the root).
fn archive_name(path: &str) -> String {
    let trimmed = path.trim_end_matches("/.").trim_end_matches('/');
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
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let meta = std::fs::symlink_metadata(host).map_err(|e| ApiError::system(e.to_string()))?;
    let result = if meta.is_dir() {
        builder.append_dir_all(name, host)
    } else {
        builder.append_path_with_name(host, name)
    };
    result
        .and_then(|()| builder.finish())
        .map_err(|e| ApiError::system(format!("writing the archive: {e}")))
}

/// Unpacks `input` under `dest` (inside `root`): every entry's parent is resolved within
/// the root, an existing non-directory at the target is replaced rather than written
/// through, and hard links may only point inside the root.
fn extract(
    root: &Path,
    dest: &Path,
    input: Box<dyn Read + Send>,
    no_overwrite_dir_non_dir: bool,
) -> Result<(), ApiError> {
    let bad = |what: String| ApiError::invalid(what);
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
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
