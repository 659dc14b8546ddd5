//! Path rules of `docker cp`, as the docker CLI applies them on its side: which argument
//! names a container, cleaning that keeps a trailing `/` or `/.` (they assert "a
//! directory" and "its contents"), symlink resolution of local sources and destinations,
//! and where an archive has to be extracted for file→file, dir→dir and `dir/.` copies.

use std::io;
use std::path::Path;

/// A copy source or destination: its path, whether it exists and is a directory, and the
/// name its archive entries must take when a followed symlink changed the last component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyInfo {
    pub path: String,
    pub exists: bool,
    pub is_dir: bool,
    pub rebase_name: Option<String>,
}

/// Why a copy cannot go ahead (docker's `archive` package errors).
#[derive(Debug, PartialEq, Eq)]
pub enum CopyError {
    CannotCopyDir,
    DirNotExists,
    NotDirectory,
    Io(String),
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::CannotCopyDir => write!(f, "cannot copy directory"),
            CopyError::DirNotExists => write!(f, "no such directory"),
            CopyError::NotDirectory => write!(f, "not a directory"),
            CopyError::Io(message) => write!(f, "{message}"),
        }
    }
}

/// Go's `*PathError` text: `lstat /x: no such file or directory`.
pub fn path_error(op: &str, path: &str, e: &io::Error) -> CopyError {
    CopyError::Io(format!(
        "{op} {path}: {}",
        super::super::parse::io_reason(e)
    ))
}

/// `CONTAINER:PATH` or a local path. An absolute path, a path without `:`, or one whose
/// part before the `:` starts with `.` (`./file:name`) is local.
pub fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((container, path)) if !container.starts_with('.') => (Some(container), path),
        _ => (None, arg),
    }
}

/// Go's `filepath.Clean`.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Base` (of a cleaned path; `/` for the root).
pub fn base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() {
            ".".into()
        } else {
            "/".into()
        };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `filepath.Dir`.
pub fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".into(),
    }
}

fn specifies_current_dir(path: &str) -> bool {
    base(path) == "."
}

fn has_trailing_separator(path: &str) -> bool {
    path.ends_with('/')
}

/// A trailing `/` or `/.` asserts that the path is a directory.
pub fn asserts_directory(path: &str) -> bool {
    has_trailing_separator(path) || specifies_current_dir(path)
}

/// `cleaned` with the trailing `/.` or `/` of `original` put back.
pub fn preserve_trailing_dot_or_separator(cleaned: &str, original: &str) -> String {
    let mut out = cleaned.to_string();
    if !specifies_current_dir(&out) && specifies_current_dir(original) {
        if !has_trailing_separator(&out) {
            out.push('/');
        }
        out.push('.');
    }
    if !has_trailing_separator(&out) && has_trailing_separator(original) {
        out.push('/');
    }
    out
}

/// Directory and last entry of `path`, keeping a final `.` as the entry.
pub fn split_path_dir_entry(path: &str) -> (String, String) {
    let mut cleaned = clean(path);
    if specifies_current_dir(path) {
        cleaned.push_str("/.");
    }
    (dir(&cleaned), base(&cleaned))
}

/// Joins `path` (absolute or not) onto `parent` and cleans it.
pub fn join(parent: &str, path: &str) -> String {
    if path.starts_with('/') {
        clean(path)
    } else {
        clean(&format!("{parent}/{path}"))
    }
}

/// A local path made absolute against the working directory, trailing `/`/`/.` kept.
pub fn resolve_local_path(path: &str) -> Result<String, CopyError> {
    let absolute = if path.starts_with('/') {
        path.to_string()
    } else {
        let cwd = std::env::current_dir().map_err(|e| CopyError::Io(e.to_string()))?;
        format!("{}/{path}", cwd.display())
    };
    Ok(preserve_trailing_dot_or_separator(&clean(&absolute), path))
}

/// docker's `GetRebaseName`: `resolved` with `path`'s trailing `/.`/`/` and, when the
/// last component changed, the name the archive entries must be renamed back to.
pub fn get_rebase_name(path: &str, resolved: &str) -> (String, Option<String>) {
    let mut resolved = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&resolved) {
        resolved.push_str("/.");
    }
    if has_trailing_separator(path) && !has_trailing_separator(&resolved) {
        resolved.push('/');
    }
    let rebase = (base(path) != base(&resolved)).then(|| base(path));
    (resolved, rebase)
}

fn canonical(path: &str) -> Result<String, CopyError> {
    std::fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .map_err(|e| path_error("lstat", path, &e))
}

/// docker's `CopyInfoSourcePath`: symlinks before the last component are resolved (all of
/// them with `-L`); the source must exist.
pub fn copy_info_source_path(path: &str, follow_link: bool) -> Result<CopyInfo, CopyError> {
    let (resolved, rebase_name) = if follow_link {
        let target = canonical(path)?;
        get_rebase_name(path, &target)
    } else {
        let (dir_part, base_part) = match path.rfind('/') {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => ("./", path),
        };
        let resolved_dir = canonical(dir_part)?;
        let resolved = format!("{}/{base_part}", resolved_dir.trim_end_matches('/'));
        let rebase =
            (has_trailing_separator(path) && base(path) != base(&resolved)).then(|| base(path));
        (resolved, rebase)
    };
    let meta =
        std::fs::symlink_metadata(&resolved).map_err(|e| path_error("lstat", &resolved, &e))?;
    Ok(CopyInfo {
        path: resolved,
        exists: true,
        is_dir: meta.is_dir(),
        rebase_name,
    })
}

/// docker's `CopyInfoDestinationPath`: a symlink at the destination is followed (up to
/// 10 times); a missing destination is fine when its parent is a directory.
pub fn copy_info_destination_path(path: &str) -> Result<CopyInfo, CopyError> {
    let mut path = path.to_string();
    let mut meta = std::fs::symlink_metadata(&path);
    let mut hops = 0;
    while let Ok(m) = &meta {
        if !m.file_type().is_symlink() {
            break;
        }
        if hops > 10 {
            return Err(CopyError::Io(format!("too many symlinks in {path}")));
        }
        hops += 1;
        let target = std::fs::read_link(&path).map_err(|e| path_error("readlink", &path, &e))?;
        let (parent, _) = split_path_dir_entry(&path);
        path = join(&parent, &target.display().to_string());
        meta = std::fs::symlink_metadata(&path);
    }
    match meta {
        Ok(m) => Ok(CopyInfo {
            path,
            exists: true,
            is_dir: m.is_dir(),
            rebase_name: None,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (parent, _) = split_path_dir_entry(&path);
            let parent_meta =
                std::fs::metadata(&parent).map_err(|e| path_error("stat", &parent, &e))?;
            if !parent_meta.is_dir() {
                return Err(CopyError::NotDirectory);
            }
            Ok(CopyInfo {
                path,
                ..CopyInfo::default()
            })
        }
        Err(e) => Err(path_error("lstat", &path, &e)),
    }
}

/// Where an archive of `src` goes for destination `dst` (docker's `PrepareArchiveCopy`):
/// the directory to extract into and the name the archive's top entry must have there
/// (`.` to put a directory's contents straight into it).
pub fn prepare_archive_copy(src: &CopyInfo, dst: &CopyInfo) -> Result<(String, String), CopyError> {
    let (dst_dir, dst_base) = split_path_dir_entry(&dst.path);
    let src_base = src
        .rebase_name
        .clone()
        .unwrap_or_else(|| split_path_dir_entry(&src.path).1);
    if dst.exists && dst.is_dir {
        return Ok((dst.path.clone(), src_base));
    }
    if dst.exists && src.is_dir {
        return Err(CopyError::CannotCopyDir);
    }
    if !dst.exists && !src.is_dir && asserts_directory(&dst.path) {
        return Err(CopyError::DirNotExists);
    }
    Ok((dst_dir, dst_base))
}

/// docker's `ValidateOutputPath`: the parent must exist, and an existing path must be a
/// directory or a regular file.
pub fn validate_output_path(path: &str) -> Result<(), CopyError> {
    let parent = dir(&clean(path));
    if parent != "." && !Path::new(&parent).exists() {
        return Err(CopyError::Io(format!(
            "invalid output path: directory {parent:?} does not exist"
        )));
    }
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_block_device() || kind.is_char_device() {
            return Err(CopyError::Io(format!(
                "invalid output path: {path:?} must be a directory or a regular file: got a device"
            )));
        }
        if !kind.is_dir() && !kind.is_file() {
            return Err(CopyError::Io(format!(
                "invalid output path: {path:?} must be a directory or a regular file: got an irregular file"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_arguments() {
        assert_eq!(split_cp_arg("c:/etc"), (Some("c"), "/etc"));
        assert_eq!(split_cp_arg("c:"), (Some("c"), ""));
        assert_eq!(split_cp_arg("/abs:x"), (None, "/abs:x"));
        assert_eq!(split_cp_arg("./f:x"), (None, "./f:x"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
    }

    #[test]
    fn cleaning_and_trailing_markers() {
        assert_eq!(clean("/a//b/./c/.."), "/a/b");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean(""), ".");
        assert_eq!(
            preserve_trailing_dot_or_separator("/a/b", "/a/b/."),
            "/a/b/."
        );
        assert_eq!(preserve_trailing_dot_or_separator("/a/b", "/a/b/"), "/a/b/");
        assert_eq!(preserve_trailing_dot_or_separator("/", "/."), "/.");
        assert_eq!(split_path_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_path_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_path_dir_entry("/a"), ("/".into(), "a".into()));
        assert!(asserts_directory("/x/") && asserts_directory("/x/.") && !asserts_directory("/x"));
        assert_eq!(base("/"), "/");
        assert_eq!(dir("/a"), "/");
        assert_eq!(join("/a/b", "../c"), "/a/c");
        assert_eq!(join("/a/b", "/z"), "/z");
    }

    #[test]
    fn rebase_names() {
        assert_eq!(
            get_rebase_name("/a/link", "/a/real"),
            ("/a/real".into(), Some("link".into()))
        );
        assert_eq!(
            get_rebase_name("/a/link/", "/a/real"),
            ("/a/real/".into(), Some("link".into()))
        );
        assert_eq!(
            get_rebase_name("/a/link/.", "/a/real"),
            ("/a/real/.".into(), None)
        );
        assert_eq!(
            get_rebase_name("/a/same", "/b/same"),
            ("/b/same".into(), None)
        );
    }

    fn info(path: &str, exists: bool, is_dir: bool) -> CopyInfo {
        CopyInfo {
            path: path.into(),
            exists,
            is_dir,
            rebase_name: None,
        }
    }

    #[test]
    fn docker_copy_semantics() {
        let file = info("/src/f", true, true);
        let file = CopyInfo {
            is_dir: false,
            ..file
        };
        let dir = info("/src/d", true, true);
        let contents = info("/src/d/.", true, true);
        // Into an existing directory: under the source's name, or its contents.
        assert_eq!(
            prepare_archive_copy(&file, &info("/dst", true, true)).unwrap(),
            ("/dst".into(), "f".into())
        );
        assert_eq!(
            prepare_archive_copy(&dir, &info("/dst", true, true)).unwrap(),
            ("/dst".into(), "d".into())
        );
        assert_eq!(
            prepare_archive_copy(&contents, &info("/dst", true, true)).unwrap(),
            ("/dst".into(), ".".into())
        );
        // Onto an existing file: renamed; a directory cannot replace it.
        assert_eq!(
            prepare_archive_copy(&file, &info("/dst/g", true, false)).unwrap(),
            ("/dst".into(), "g".into())
        );
        assert_eq!(
            prepare_archive_copy(&dir, &info("/dst/g", true, false)).unwrap_err(),
            CopyError::CannotCopyDir
        );
        // To a new name: created with that name.
        assert_eq!(
            prepare_archive_copy(&dir, &info("/dst/new", false, false)).unwrap(),
            ("/dst".into(), "new".into())
        );
        assert_eq!(
            prepare_archive_copy(&contents, &info("/dst/new", false, false)).unwrap(),
            ("/dst".into(), "new".into())
        );
        assert_eq!(
            prepare_archive_copy(&file, &info("/dst/new", false, false)).unwrap(),
            ("/dst".into(), "new".into())
        );
        assert_eq!(
            prepare_archive_copy(&file, &info("/dst/new/", false, false)).unwrap_err(),
            CopyError::DirNotExists
        );
        // A followed symlink keeps the name the user gave.
        let linked = CopyInfo {
            rebase_name: Some("link".into()),
            ..dir
        };
        assert_eq!(
            prepare_archive_copy(&linked, &info("/dst", true, true)).unwrap(),
            ("/dst".into(), "link".into())
        );
    }
}
