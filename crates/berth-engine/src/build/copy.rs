//! `COPY` and `ADD`: sources from the context, another stage or image (`--from`), a
//! heredoc, or (ADD) a URL or a local archive to unpack. The files are written into an
//! overlay of the current image (so existing folders, symlinks and owners are seen as
//! the container would see them, and every path is resolved inside the image's root);
//! the overlay's upper directory becomes the step's layer.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_api::ApiError;
use berth_build::context::{checksum_paths, Sums};
use berth_build::tarctx::TarContext;
use berth_build::{CopySpec, Source, StageState};
use berth_runtime::scoped;
use regex::Regex;

use super::scratch::Overlay;
use super::steps::{parent_digest, Build};

/// A source before the cache check: context sources are only indexed.
enum Pending {
    Ready(Resolved),
    Context {
        rel: String,
        name: String,
        is_dir: bool,
    },
}

/// A source ready to copy: where it is on the host and its base name.
struct Resolved {
    host: PathBuf,
    name: String,
    /// `ADD` of a local archive: unpack instead of copying.
    unpack: bool,
}

#[derive(Clone, Copy)]
enum Owner {
    /// 0:0 (context files, downloads).
    Root,
    Fixed(u32, u32),
    /// As in the source (an unpacked archive, `COPY --from` an image).
    Keep,
}

pub(crate) async fn step(
    build: &mut Build<'_>,
    state: &mut StageState,
    spec: CopySpec,
) -> Result<(), ApiError> {
    let verb = if spec.add { "ADD" } else { "COPY" };
    let fail = move |message: String| ApiError::invalid(format!("{verb} failed: {message}"));
    let store = build.engine.image_store();

    // Where the sources come from.
    let mut from_overlay: Option<Overlay> = None;
    let (source_root, sums): (PathBuf, Sums) = match &spec.from {
        None => (PathBuf::new(), Sums::default()),
        Some(name) => {
            let image = build.copy_source_image(name).await?;
            let dir = build
                .work
                .subdir("from")
                .map_err(|e| ApiError::system(e.to_string()))?;
            let lowers = match image {
                Some(id) => {
                    let digest = berth_image::Digest::parse(&id)
                        .map_err(|e| ApiError::system(e.to_string()))?;
                    let store = store.clone();
                    crate::images::blocking(move || Ok(store.layer_dirs(&digest)?)).await?
                }
                None => Vec::new(),
            };
            let overlay = tokio::task::spawn_blocking(move || Overlay::mount(&dir, &lowers))
                .await
                .map_err(|e| ApiError::system(e.to_string()))??;
            let root = overlay.root.clone();
            from_overlay = Some(overlay);
            (root, Sums::default())
        }
    };
    let in_context = spec.from.is_none();
    let tar = build.ctx.tar.clone();

    // Resolve every source (downloads happen here: their content is part of the key).
    let staging = build
        .work
        .subdir("src")
        .map_err(|e| ApiError::system(e.to_string()))?;
    let sources = spec.sources.clone();
    let add = spec.add;
    let root_for_resolve = source_root.clone();
    let sums_for_key = sums.clone();
    let (pending, checksum) = tokio::task::spawn_blocking(move || {
        let mut resolved: Vec<Pending> = Vec::new();
        let mut sum_paths: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut context_sums = String::new();
        for (i, source) in sources.iter().enumerate() {
            match source {
                Source::Path(pattern) if in_context => {
                    for rel in expand_in_context(&tar, pattern)? {
                        context_sums.push_str(&tar.checksum(&rel));
                        let name = rel.rsplit('/').next().unwrap_or("").to_string();
                        let is_dir = tar.is_dir(&rel);
                        resolved.push(Pending::Context { rel, name, is_dir });
                    }
                }
                Source::Path(pattern) => {
                    for host in expand_source(&root_for_resolve, pattern, in_context)? {
                        let name = host
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        let unpack = add
                            && host.is_file()
                            && berth_build::archive::looks_like_archive(&host);
                        sum_paths.push((root_for_resolve.clone(), host.clone()));
                        resolved.push(Pending::Ready(Resolved { host, name, unpack }));
                    }
                }
                Source::Inline { name, content } => {
                    let dir = staging.join(format!("inline-{i}"));
                    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                    let host = dir.join(name);
                    fs::write(&host, content).map_err(|e| e.to_string())?;
                    fs::set_permissions(&host, fs::Permissions::from_mode(0o644))
                        .map_err(|e| e.to_string())?;
                    sum_paths.push((dir.clone(), host.clone()));
                    resolved.push(Pending::Ready(Resolved {
                        host,
                        name: name.clone(),
                        unpack: false,
                    }));
                }
                Source::Url(url) => {
                    let dir = staging.join(format!("url-{i}"));
                    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                    let host = dir.join("download");
                    let (_, name) = super::fetch::download(url, &host)?;
                    fs::set_permissions(&host, fs::Permissions::from_mode(0o600))
                        .map_err(|e| e.to_string())?;
                    sum_paths.push((dir.clone(), host.clone()));
                    let name = if name.is_empty() {
                        "download".to_string()
                    } else {
                        name
                    };
                    resolved.push(Pending::Ready(Resolved {
                        host,
                        name,
                        unpack: false,
                    }));
                }
            }
        }
        if resolved.is_empty() {
            return Err("no source files were specified".to_string());
        }
        let mut hasher = context_sums;
        for (root, path) in &sum_paths {
            let sums = if *root == root_for_resolve {
                &sums_for_key
            } else {
                &Sums::default()
            };
            let sum = checksum_paths(root, std::slice::from_ref(path), sums)
                .map_err(|e| e.to_string())?;
            hasher.push_str(&sum);
        }
        let kind = match resolved.as_slice() {
            [Pending::Context { is_dir: true, .. }] => "dir",
            [Pending::Ready(one)] if one.host.is_dir() => "dir",
            [_] => "file",
            _ => "multi",
        };
        let combined = if resolved.len() == 1 {
            hasher
        } else {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(hasher.as_bytes()))
        };
        Ok((resolved, format!("{kind}:{combined}")))
    })
    .await
    .map_err(|e| ApiError::system(e.to_string()))?
    .map_err(fail)?;

    if pending.len() > 1 && !spec.dest.ends_with('/') {
        return Err(ApiError::invalid(format!(
            "When using {verb} with more than one source file, the destination must be a directory and end with a /"
        )));
    }
    let shell = state
        .config
        .shell
        .clone()
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
    let created_by = format!(
        "{} #(nop) {verb} {checksum} in {} ",
        shell.join(" "),
        spec.dest
    );
    let extra = format!("chown={:?} chmod={:?}", spec.chown, spec.chmod);
    let key = berth_build::cache::key(
        state.image.as_deref(),
        &state.config,
        state.author.as_deref(),
        &created_by,
        &extra,
    );
    if let Some(id) = build.cached(&key).await {
        drop(from_overlay);
        build.use_cached(state, id).await;
        return Ok(());
    }

    // Context sources are written out now (only those this step needs).
    let ctx_dir = build
        .work
        .subdir("ctx")
        .map_err(|e| ApiError::system(e.to_string()))?;
    let tar = build.ctx.tar.clone();
    let resolved = tokio::task::spawn_blocking(move || -> Result<Vec<Resolved>, String> {
        pending
            .into_iter()
            .map(|p| match p {
                Pending::Ready(r) => Ok(r),
                Pending::Context { rel, name, .. } => {
                    let host = tar.materialize(&rel, &ctx_dir).map_err(|e| e.to_string())?;
                    let unpack =
                        add && host.is_file() && berth_build::archive::looks_like_archive(&host);
                    Ok(Resolved { host, name, unpack })
                }
            })
            .collect()
    })
    .await
    .map_err(|e| ApiError::system(e.to_string()))?
    .map_err(fail)?;

    // Write into an overlay of the current image.
    let lowers = match parent_digest(state)? {
        Some(digest) => {
            let store = store.clone();
            crate::images::blocking(move || Ok(store.layer_dirs(&digest)?)).await?
        }
        None => Vec::new(),
    };
    let target_dir = build
        .work
        .subdir("layer")
        .map_err(|e| ApiError::system(e.to_string()))?;
    let dest = spec.dest.clone();
    let chown = spec.chown.clone();
    let chmod = spec.chmod;
    let keep_owner = spec.from.is_some();
    let unpack_dir = build
        .work
        .subdir("unpack")
        .map_err(|e| ApiError::system(e.to_string()))?;
    let mut overlay = tokio::task::spawn_blocking(move || -> Result<Overlay, ApiError> {
        let overlay = Overlay::mount(&target_dir, &lowers)?;
        let owner = match &chown {
            Some(spec) => {
                let user = berth_runtime::user::resolve(&overlay.root, spec, &[]).map_err(|e| {
                    fail(format!(
                        "unable to convert uid/gid chown string to host mapping: {e}"
                    ))
                })?;
                Owner::Fixed(user.uid, user.gid)
            }
            None if keep_owner => Owner::Keep,
            None => Owner::Root,
        };
        let dest_is_dir = dest.ends_with('/');
        for (i, source) in resolved.iter().enumerate() {
            let result = if source.unpack {
                let into = unpack_dir.join(i.to_string());
                fs::create_dir_all(&into).map_err(|e| ApiError::system(e.to_string()))?;
                unpack(&source.host, &into).and_then(|()| {
                    copy_tree(
                        &overlay.root,
                        &into,
                        &dest,
                        if chown.is_some() { owner } else { Owner::Keep },
                        chmod,
                    )
                })
            } else {
                copy_source(&overlay.root, source, &dest, dest_is_dir, owner, chmod)
            };
            result.map_err(fail)?;
        }
        Ok(overlay)
    })
    .await
    .map_err(|e| ApiError::system(e.to_string()))??;
    overlay.unmount();
    drop(from_overlay);
    let child = build.child_image(state, created_by);
    let id = crate::containers::introspect::commit_dir(
        store,
        overlay.upper.clone(),
        parent_digest(state)?,
        child,
    )
    .await?
    .as_str()
    .to_string();
    build.finish_step(state, key, id).await;
    Ok(())
}

/// The host paths a source pattern names (wildcards expanded), refusing paths that
/// leave the context.
fn expand_source(root: &Path, pattern: &str, in_context: bool) -> Result<Vec<PathBuf>, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() && in_context {
                    return Err(format!(
                        "forbidden path outside the build context: {pattern} ()"
                    ));
                }
            }
            p => parts.push(p),
        }
    }
    let missing = || {
        if in_context {
            format!("file not found in build context or excluded by .dockerignore: stat {pattern}: file does not exist")
        } else {
            format!("stat {pattern}: file does not exist")
        }
    };
    let has_wildcard = parts.iter().any(|p| p.contains(['*', '?', '[']));
    if !has_wildcard {
        let rel = parts.join("/");
        let host = scoped::resolve(root, Path::new(&rel)).map_err(|e| e.to_string())?;
        if fs::symlink_metadata(&host).is_err() {
            return Err(missing());
        }
        return Ok(vec![host]);
    }
    let mut current: Vec<String> = vec![String::new()];
    for part in &parts {
        let mut next = Vec::new();
        if part.contains(['*', '?', '[']) {
            let regex = component_regex(part).map_err(|e| format!("bad pattern {pattern}: {e}"))?;
            for prefix in &current {
                let host = scoped::resolve(root, Path::new(prefix)).map_err(|e| e.to_string())?;
                let Ok(entries) = fs::read_dir(&host) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| regex.is_match(n))
                    .collect();
                names.sort();
                for name in names {
                    next.push(if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    });
                }
            }
        } else {
            for prefix in &current {
                next.push(if prefix.is_empty() {
                    part.to_string()
                } else {
                    format!("{prefix}/{part}")
                });
            }
        }
        current = next;
    }
    let mut out = Vec::new();
    for rel in current {
        let host = scoped::resolve(root, Path::new(&rel)).map_err(|e| e.to_string())?;
        if fs::symlink_metadata(&host).is_ok() {
            out.push(host);
        }
    }
    if out.is_empty() {
        return Err("no source files were specified".to_string());
    }
    Ok(out)
}

/// The context paths a source pattern names (wildcards expanded; symlinks followed
/// inside the context), refusing paths that leave it.
fn expand_in_context(tar: &TarContext, pattern: &str) -> Result<Vec<String>, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "forbidden path outside the build context: {pattern} ()"
                    ));
                }
            }
            p => parts.push(p),
        }
    }
    let missing = || {
        format!("file not found in build context or excluded by .dockerignore: stat {pattern}: file does not exist")
    };
    if !parts.iter().any(|p| p.contains(['*', '?', '['])) {
        let rel = parts.join("/");
        if rel.is_empty() {
            return Ok(vec![String::new()]);
        }
        return tar.resolve(&rel).map(|r| vec![r]).ok_or_else(missing);
    }
    let mut current: Vec<String> = vec![String::new()];
    for part in &parts {
        let mut next = Vec::new();
        if part.contains(['*', '?', '[']) {
            let regex = component_regex(part).map_err(|e| format!("bad pattern {pattern}: {e}"))?;
            for prefix in &current {
                let Some(dir) = tar.resolve(prefix) else {
                    continue;
                };
                for name in tar.children(&dir) {
                    if regex.is_match(&name) {
                        next.push(if prefix.is_empty() {
                            name
                        } else {
                            format!("{prefix}/{name}")
                        });
                    }
                }
            }
        } else {
            for prefix in &current {
                next.push(if prefix.is_empty() {
                    part.to_string()
                } else {
                    format!("{prefix}/{part}")
                });
            }
        }
        current = next;
    }
    let out: Vec<String> = current.iter().filter_map(|rel| tar.resolve(rel)).collect();
    if out.is_empty() {
        return Err("no source files were specified".to_string());
    }
    Ok(out)
}

fn component_regex(pattern: &str) -> Result<Regex, regex::Error> {
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'!') || chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '\\' || c == '[' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push(']');
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&regex::escape(&n.to_string()));
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    Regex::new(&out)
}

/// Unpacks a local archive (ADD) into `into`, keeping owners.
fn unpack(archive: &Path, into: &Path) -> Result<(), String> {
    let file = fs::File::open(archive).map_err(|e| e.to_string())?;
    let (mut reader, _) =
        berth_build::archive::decompress(Box::new(file)).map_err(|e| e.to_string())?;
    berth_build::context::extract(
        &mut reader,
        into,
        berth_build::context::ExtractOptions { keep_owner: true },
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Copies one resolved source to `dest` (a container path).
fn copy_source(
    root: &Path,
    source: &Resolved,
    dest: &str,
    dest_is_dir: bool,
    owner: Owner,
    chmod: Option<u32>,
) -> Result<(), String> {
    let meta = fs::metadata(&source.host).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return copy_tree(root, &source.host, dest, owner, chmod);
    }
    let dest_host = scoped::resolve(root, Path::new(dest)).map_err(|e| e.to_string())?;
    let target = if dest_is_dir || dest_host.is_dir() {
        format!("{}/{}", dest.trim_end_matches('/'), source.name)
    } else {
        dest.to_string()
    };
    let parent = parent_of(&target);
    ensure_dir(root, &parent, None)?;
    copy_entry(root, &source.host, &target, owner, chmod)
}

/// Copies the contents of folder `src` into folder `dest` (created if missing).
fn copy_tree(
    root: &Path,
    src: &Path,
    dest: &str,
    owner: Owner,
    chmod: Option<u32>,
) -> Result<(), String> {
    let created_owner = match owner {
        Owner::Fixed(u, g) => Some((u, g)),
        _ => None,
    };
    ensure_dir(root, dest.trim_end_matches('/'), created_owner)?;
    let mut entries: Vec<_> = fs::read_dir(src)
        .map_err(|e| e.to_string())?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = format!("{}/{name}", dest.trim_end_matches('/'));
        copy_entry(root, &entry.path(), &target, owner, chmod)?;
    }
    Ok(())
}

/// Copies `src` (file, symlink or folder, recursively) to the container path `target`,
/// whose parent exists. The parent is resolved inside `root`; the last component is
/// replaced, never followed.
fn copy_entry(
    root: &Path,
    src: &Path,
    target: &str,
    owner: Owner,
    chmod: Option<u32>,
) -> Result<(), String> {
    let meta = fs::symlink_metadata(src).map_err(|e| e.to_string())?;
    let parent = scoped::resolve(root, Path::new(&parent_of(target))).map_err(|e| e.to_string())?;
    let name = target.rsplit('/').next().unwrap_or(target);
    let host = parent.join(name);
    let (uid, gid) = match owner {
        Owner::Root => (0, 0),
        Owner::Fixed(u, g) => (u, g),
        Owner::Keep => (meta.uid(), meta.gid()),
    };
    let existing = fs::symlink_metadata(&host).ok();
    let err = |e: std::io::Error| format!("copying to {target}: {e}");
    if meta.is_dir() {
        match existing {
            Some(m) if m.is_dir() => {}
            Some(_) => {
                fs::remove_file(&host).map_err(err)?;
                fs::create_dir(&host).map_err(err)?;
            }
            None => fs::create_dir(&host).map_err(err)?,
        }
        let mode = chmod.unwrap_or(meta.mode() & 0o7777);
        fs::set_permissions(&host, fs::Permissions::from_mode(mode)).map_err(err)?;
        std::os::unix::fs::lchown(&host, Some(uid), Some(gid)).map_err(err)?;
        let mut entries: Vec<_> = fs::read_dir(src).map_err(err)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let child = format!("{target}/{}", entry.file_name().to_string_lossy());
            copy_entry(root, &entry.path(), &child, owner, chmod)?;
        }
        return Ok(());
    }
    if let Some(m) = existing {
        if m.is_dir() {
            fs::remove_dir_all(&host).map_err(err)?;
        } else {
            fs::remove_file(&host).map_err(err)?;
        }
    }
    if meta.file_type().is_symlink() {
        let link = fs::read_link(src).map_err(err)?;
        std::os::unix::fs::symlink(&link, &host).map_err(err)?;
        std::os::unix::fs::lchown(&host, Some(uid), Some(gid)).map_err(err)?;
        return Ok(());
    }
    if !meta.is_file() {
        return Ok(()); // sockets, fifos, devices: not copied
    }
    fs::copy(src, &host).map_err(err)?;
    let mode = chmod.unwrap_or(meta.mode() & 0o7777);
    std::os::unix::fs::lchown(&host, Some(uid), Some(gid)).map_err(err)?;
    fs::set_permissions(&host, fs::Permissions::from_mode(mode)).map_err(err)?;
    if let Ok(modified) = meta.modified() {
        if let Ok(file) = fs::File::options().write(true).open(&host) {
            let _ = file.set_modified(modified);
        }
    }
    Ok(())
}

/// Creates a container folder and its missing parents (0755; the last one owned by
/// `owner` when given), resolving inside `root`.
fn ensure_dir(root: &Path, dir: &str, owner: Option<(u32, u32)>) -> Result<(), String> {
    let host = scoped::resolve(root, Path::new(dir)).map_err(|e| e.to_string())?;
    if host.is_dir() {
        return Ok(());
    }
    if fs::symlink_metadata(&host).is_ok() {
        return Err(format!("cannot copy to {dir}: it is not a directory"));
    }
    let mut builder = fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o755);
    builder
        .recursive(true)
        .create(&host)
        .map_err(|e| format!("creating {dir}: {e}"))?;
    if let Some((uid, gid)) = owner {
        let _ = std::os::unix::fs::lchown(&host, Some(uid), Some(gid));
    }
    Ok(())
}

fn parent_of(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(at) => trimmed[..at].to_string(),
    }
}
