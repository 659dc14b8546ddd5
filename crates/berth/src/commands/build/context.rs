//! The build context the CLI sends: a directory (walked, `.dockerignore` applied as the
//! docker CLI does, streamed as a tar), `-` (a tar or a Dockerfile on stdin), or a git
//! repository (cloned into a temporary folder first, like the docker CLI). A Dockerfile
//! given with `-f` outside the context travels inside the tar under a private name.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use berth_build::git::{is_git_url, GitContext};
use berth_build::IgnoreRules;

use crate::client::{self, body_bytes, body_reader, ClientError, RequestBody};

pub(super) struct Prepared {
    pub(super) body: RequestBody,
    /// The `dockerfile` query parameter (its path in the context).
    pub(super) dockerfile: Option<String>,
    /// Bytes of context produced so far.
    pub(super) sent: Arc<AtomicU64>,
    /// Why producing the tar failed, if it did.
    pub(super) producer_error: Arc<Mutex<Option<String>>>,
}

pub(super) fn prepare(context: &str, file: Option<&str>) -> client::Result<Prepared> {
    let sent = Arc::new(AtomicU64::new(0));
    let producer_error = Arc::new(Mutex::new(None));
    if context == "-" {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(|e| ClientError::Other(e.into()))?;
        sent.store(input.len() as u64, Ordering::Relaxed);
        if is_archive(&input) {
            return Ok(Prepared {
                body: body_bytes(input),
                dockerfile: file.map(str::to_string),
                sent,
                producer_error,
            });
        }
        // A Dockerfile alone: a context holding only it.
        let mut builder = tar::Builder::new(Vec::new());
        append_bytes(&mut builder, "Dockerfile", &input)
            .map_err(|e| ClientError::Other(e.into()))?;
        let tar = builder
            .into_inner()
            .map_err(|e| ClientError::Other(e.into()))?;
        sent.store(tar.len() as u64, Ordering::Relaxed);
        return Ok(Prepared {
            body: body_bytes(tar),
            dockerfile: None,
            sent,
            producer_error,
        });
    }
    let (root, temp) = if is_git_url(context) {
        let temp = std::env::temp_dir().join(format!(
            "berth-build-git-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        let root = clone_git(context, &temp).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&temp);
        })?;
        (root, Some(temp))
    } else {
        let root = PathBuf::from(context);
        if !root.is_dir() {
            return Err(ClientError::Usage(format!(
                "unable to prepare context: path \"{context}\" not found"
            )));
        }
        (root, None)
    };
    // The Dockerfile: inside the context (sent as part of it) or outside (added).
    let mut extra: Option<(String, Vec<u8>)> = None;
    let dockerfile_rel: String = match file {
        Some("-") => {
            let mut text = Vec::new();
            std::io::stdin()
                .read_to_end(&mut text)
                .map_err(|e| ClientError::Other(e.into()))?;
            let name = format!(".dockerfile.{}", rand_suffix());
            extra = Some((name.clone(), text));
            name
        }
        Some(path) => {
            // `-f` is relative to the current directory (or, for a git context, to the
            // repository).
            let candidate = if temp.is_some() {
                root.join(path)
            } else {
                PathBuf::from(path)
            };
            let absolute = std::fs::canonicalize(&candidate).map_err(|e| {
                ClientError::Usage(format!(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: {}",
                    candidate.display(),
                    short_io(&e)
                ))
            })?;
            let root_abs =
                std::fs::canonicalize(&root).map_err(|e| ClientError::Other(e.into()))?;
            match absolute.strip_prefix(&root_abs) {
                Ok(rel) => rel.to_string_lossy().into_owned(),
                Err(_) => {
                    let text =
                        std::fs::read(&absolute).map_err(|e| ClientError::Other(e.into()))?;
                    let name = format!(".dockerfile.{}", rand_suffix());
                    extra = Some((name.clone(), text));
                    name
                }
            }
        }
        None => {
            let default = root.join("Dockerfile");
            if std::fs::symlink_metadata(&default).is_err() && !root.join("dockerfile").exists() {
                return Err(ClientError::Usage(format!(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                    std::fs::canonicalize(&root).unwrap_or(root.clone()).join("Dockerfile").display()
                )));
            }
            "Dockerfile".to_string()
        }
    };
    let rules = match std::fs::read_to_string(root.join(".dockerignore")) {
        Ok(text) => IgnoreRules::parse(&text).map_err(|e| ClientError::Usage(e.to_string()))?,
        Err(_) => IgnoreRules::default(),
    };
    let (reader, writer) = std::io::pipe().map_err(|e| ClientError::Other(e.into()))?;
    let counter = sent.clone();
    let errors = producer_error.clone();
    let keep = vec![dockerfile_rel.clone(), ".dockerignore".to_string()];
    std::thread::spawn(move || {
        let out = Counting {
            inner: writer,
            count: counter,
        };
        let mut builder = tar::Builder::new(std::io::BufWriter::with_capacity(256 * 1024, out));
        builder.follow_symlinks(false);
        let mut result = walk(&mut builder, &root, &root, &rules, &keep);
        if result.is_ok() {
            if let Some((name, bytes)) = &extra {
                result = append_bytes(&mut builder, name, bytes);
            }
        }
        let result = result.and_then(|()| builder.into_inner().and_then(|mut w| w.flush()));
        if let Err(e) = result {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                *errors.lock().expect("error slot") =
                    Some(format!("sending the build context: {e}"));
            }
        }
        if let Some(temp) = temp {
            let _ = std::fs::remove_dir_all(temp);
        }
    });
    let file = std::fs::File::from(OwnedFd::from(reader));
    Ok(Prepared {
        body: body_reader(tokio::fs::File::from_std(file)),
        dockerfile: Some(dockerfile_rel),
        sent,
        producer_error,
    })
}

fn short_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

/// Adds `dir`'s entries (sorted, so the tar is reproducible) that the rules keep.
fn walk<W: Write>(
    builder: &mut tar::Builder<W>,
    root: &Path,
    dir: &Path,
    rules: &IgnoreRules,
    keep: &[String],
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file_type = entry.file_type()?;
        let kept = keep.iter().any(|k| k == &rel);
        let excluded = !kept && rules.excludes(&rel);
        if excluded {
            // A folder with possible exceptions inside is still walked.
            let descend = file_type.is_dir()
                && (rules.has_exceptions()
                    || keep.iter().any(|k| k.starts_with(&format!("{rel}/"))));
            if descend {
                walk(builder, root, &path, rules, keep)?;
            }
            continue;
        }
        let meta = std::fs::symlink_metadata(&path)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&meta);
        // As the docker CLI: owners are not sent.
        header.set_uid(0);
        header.set_gid(0);
        if file_type.is_dir() {
            header.set_size(0);
            builder.append_data(&mut header, format!("{rel}/"), std::io::empty())?;
            walk(builder, root, &path, rules, keep)?;
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(&path)?;
            header.set_size(0);
            builder.append_link(&mut header, &rel, target)?;
        } else if file_type.is_file() {
            let file = std::fs::File::open(&path)?;
            builder.append_data(&mut header, &rel, file)?;
        }
    }
    Ok(())
}

fn append_bytes<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, bytes)
}

struct Counting<W> {
    inner: W,
    count: Arc<AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn is_archive(bytes: &[u8]) -> bool {
    if berth_build::archive::detect(bytes) != berth_build::archive::Compression::None {
        return true;
    }
    bytes.len() >= 512 && &bytes[257..262] == b"ustar"
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:08x}", nanos ^ std::process::id().rotate_left(16))
}

/// Clones `url[#ref[:subdir]]` into `dir`; returns the context folder.
fn clone_git(remote: &str, dir: &Path) -> client::Result<PathBuf> {
    let context = GitContext::parse(remote);
    std::fs::create_dir_all(dir).map_err(|e| ClientError::Other(e.into()))?;
    context.clone_into(dir).map_err(|e| {
        ClientError::Usage(match e.kind() {
            std::io::ErrorKind::Other => format!(
                "unable to prepare context: unable to 'git clone' to temporary context directory: error fetching: {e}"
            ),
            _ => format!("unable to prepare context: running git: {e}"),
        })
    })?;
    let root = match context.subdir {
        Some(s) => dir.join(s),
        None => dir.to_path_buf(),
    };
    if !root.is_dir() {
        return Err(ClientError::Usage(format!(
            "unable to prepare context: path \"{}\" not found in the repository",
            context.subdir.unwrap_or("")
        )));
    }
    Ok(root)
}
