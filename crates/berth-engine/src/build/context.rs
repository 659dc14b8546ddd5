//! Receiving the build context: the request body (a tar, plain or compressed, or a bare
//! Dockerfile), or a git repository named by `remote`. The Dockerfile is read from it and
//! `.dockerignore` applied (clients such as docker-py send every file).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use berth_api::ApiError;
use berth_build::git::{is_git_url, GitContext};
use berth_build::tarctx::TarContext;
use berth_build::IgnoreRules;

use super::scratch::WorkDir;
use super::{api_error, BuildRequest};

/// A received context: the tar and its index (nothing unpacked yet).
pub(crate) struct Context {
    pub(crate) tar: Arc<TarContext>,
    pub(crate) dockerfile: String,
}

pub(crate) async fn receive(
    work: &WorkDir,
    request: &BuildRequest,
    body: Box<dyn Read + Send>,
) -> Result<Context, ApiError> {
    let dir = work.path().to_path_buf();
    let request = request.clone();
    tokio::task::spawn_blocking(move || receive_blocking(&dir, &request, body))
        .await
        .map_err(|e| ApiError::system(format!("build context task failed: {e}")))?
}

fn receive_blocking(
    dir: &Path,
    request: &BuildRequest,
    body: Box<dyn Read + Send>,
) -> Result<Context, ApiError> {
    let tar_path = dir.join("context.tar");
    let mut dockerfile_name = request.dockerfile.clone();
    let mut inline_dockerfile: Option<String> = None;
    let tar = match request.remote.as_deref().filter(|r| !r.is_empty()) {
        Some(remote) if is_git_url(remote) => {
            let checkout = dir.join("git");
            std::fs::create_dir_all(&checkout).map_err(|e| ApiError::system(e.to_string()))?;
            let subdir = clone_git(remote, &checkout)?;
            let root = match subdir {
                Some(sub) => {
                    let inner = checkout.join(&sub);
                    if !inner.is_dir() {
                        return Err(ApiError::invalid(format!(
                            "subdirectory {sub} not found in the repository"
                        )));
                    }
                    inner
                }
                None => checkout.clone(),
            };
            // The checkout becomes a tar like any uploaded context.
            let packed = dir.join("git.tar");
            let file =
                std::fs::File::create(&packed).map_err(|e| ApiError::system(e.to_string()))?;
            let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
            builder.follow_symlinks(false);
            builder
                .append_dir_all(".", &root)
                .and_then(|()| builder.into_inner().map(drop))
                .map_err(|e| ApiError::system(format!("packing the git context: {e}")))?;
            let _ = std::fs::remove_dir_all(&checkout);
            let mut reader =
                std::fs::File::open(&packed).map_err(|e| ApiError::system(e.to_string()))?;
            let tar = TarContext::receive(&mut reader, &tar_path).map_err(api_error)?;
            let _ = std::fs::remove_file(&packed);
            tar
        }
        Some(remote) => {
            return Err(ApiError::invalid(format!(
                "unsupported remote context {remote}: only git repositories are supported"
            )))
        }
        None => {
            let (mut reader, _) = berth_build::archive::decompress(body)
                .map_err(|e| ApiError::invalid(format!("reading the build context: {e}")))?;
            // A body that is not a tar is the Dockerfile itself.
            let mut head = Vec::with_capacity(512);
            (&mut reader)
                .take(512)
                .read_to_end(&mut head)
                .map_err(|e| ApiError::invalid(format!("reading the build context: {e}")))?;
            let empty = head.is_empty();
            let is_tar = head.len() == 512
                && (&head[257..262] == b"ustar"
                    || head.iter().all(|b| *b == 0)
                    || tar_header_sum_ok(&head));
            let mut chained = std::io::Cursor::new(head).chain(reader);
            if is_tar || empty {
                TarContext::receive(&mut chained, &tar_path).map_err(api_error)?
            } else {
                let mut text = String::new();
                chained
                    .read_to_string(&mut text)
                    .map_err(|e| ApiError::invalid(format!("reading the Dockerfile: {e}")))?;
                inline_dockerfile = Some(text);
                dockerfile_name = "Dockerfile".into();
                TarContext::empty(&tar_path)
            }
        }
    };
    finish(tar, dockerfile_name, inline_dockerfile)
}

fn finish(
    mut tar: TarContext,
    dockerfile_name: String,
    inline: Option<String>,
) -> Result<Context, ApiError> {
    let name = if dockerfile_name.is_empty() {
        "Dockerfile".to_string()
    } else {
        dockerfile_name
    };
    let dockerfile = match inline {
        Some(text) => text,
        None => read_dockerfile(&tar, &name)?,
    };
    // As dockerd: once the Dockerfile is read, `.dockerignore` applies to every file,
    // the Dockerfile and `.dockerignore` included; a Dockerfile the client added from
    // outside the context (`.dockerfile.<random>`) is not part of it.
    let clean = name.trim_start_matches("./").to_string();
    if clean.starts_with(".dockerfile.") && !clean.contains('/') {
        tar.remove(&clean);
    }
    if let Ok(bytes) = tar.read(".dockerignore") {
        let rules = IgnoreRules::parse(&String::from_utf8_lossy(&bytes)).map_err(api_error)?;
        tar.apply_ignore(&rules);
    }
    Ok(Context {
        tar: Arc::new(tar),
        dockerfile,
    })
}

/// The Dockerfile at `name` in the context (docker also accepts `dockerfile` when the
/// default name is missing). The path may not leave the context.
fn read_dockerfile(tar: &TarContext, name: &str) -> Result<String, ApiError> {
    let not_found = || ApiError::invalid(format!("Cannot locate specified Dockerfile: {name}"));
    let read = |n: &str| {
        tar.resolve(n)
            .and_then(|rel| tar.read(&rel).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    match read(name) {
        Some(text) => Ok(text),
        None if name == "Dockerfile" => read("dockerfile").ok_or_else(not_found),
        None => Err(not_found()),
    }
}

fn tar_header_sum_ok(head: &[u8]) -> bool {
    let field = std::str::from_utf8(&head[148..156]).unwrap_or("");
    let Ok(expected) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = head[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as u32
            }
        })
        .sum();
    sum == expected
}

/// Clones `url[#ref[:subdir]]` into `root`; returns the subfolder if one was named.
fn clone_git(remote: &str, root: &Path) -> Result<Option<String>, ApiError> {
    let context = GitContext::parse(remote);
    context.clone_into(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::Other => ApiError::invalid(format!(
            "error fetching git repository {}: {e}",
            context.url
        )),
        _ => ApiError::system(format!("running git: {e}")),
    })?;
    Ok(context.subdir.map(str::to_string))
}
