//! `compose build`, and builds for `up`: the service's context sent as a tar to
//! `POST /build` (the classic builder's API, as docker compose does without BuildKit),
//! tagged with the service's image name.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use berth_compose::{Project, Service};
use clap::Args;
use serde_json::Value;

use super::project::Options;
use super::resources::event;
use crate::client::{self, body_reader, encode, Client, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long = "pull")]
    pub pull: bool,
    /// Don't print anything to STDOUT
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Set build-time variables for services
    #[arg(long = "build-arg", value_name = "stringArray")]
    pub build_arg: Vec<String>,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub no_cache: bool,
    pub pull: bool,
    pub quiet: bool,
    pub args: BTreeMap<String, String>,
}

fn other(message: String) -> ClientError {
    ClientError::Other(anyhow::anyhow!(message))
}

/// The `.dockerignore` patterns of a context (simple globs: `*`, `?`, `**`, `!` excepts).
fn ignore_patterns(context: &Path) -> Vec<(bool, String)> {
    let Ok(text) = std::fs::read_to_string(context.join(".dockerignore")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(p) => (
                false,
                p.trim_start_matches('/').trim_end_matches('/').to_string(),
            ),
            None => (
                true,
                l.trim_start_matches('/').trim_end_matches('/').to_string(),
            ),
        })
        .collect()
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            if pattern.get(1) == Some(&b'*') {
                let rest = pattern[2..].strip_prefix(b"/").unwrap_or(&pattern[2..]);
                (0..=text.len()).any(|i| glob(rest, &text[i..]))
            } else {
                (0..=text.len())
                    .take_while(|i| *i == 0 || text[i - 1] != b'/')
                    .any(|i| glob(&pattern[1..], &text[i..]))
            }
        }
        (Some(b'?'), Some(c)) if *c != b'/' => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(c)) if p == c => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

fn ignored(patterns: &[(bool, String)], path: &str) -> bool {
    let mut out = false;
    for (exclude, pattern) in patterns {
        // A pattern matching a folder also covers what is below it.
        let hit = glob(pattern.as_bytes(), path.as_bytes())
            || path
                .char_indices()
                .filter(|(_, c)| *c == '/')
                .any(|(i, _)| glob(pattern.as_bytes(), &path.as_bytes()[..i]));
        if hit {
            out = *exclude;
        }
    }
    out
}

/// Writes the context folder as a tar to `out` (no symlinks followed).
fn write_context(context: &Path, dockerfile: &str, out: std::fs::File) -> std::io::Result<()> {
    let patterns = ignore_patterns(context);
    let mut builder = tar::Builder::new(std::io::BufWriter::new(out));
    builder.follow_symlinks(false);
    let mut stack = vec![context.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path
                .strip_prefix(context)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            // The Dockerfile and .dockerignore always go, as the daemon needs them.
            if rel != dockerfile && rel != ".dockerignore" && ignored(&patterns, &rel) {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                builder.append_dir(&rel, &path)?;
                stack.push(path);
            } else {
                builder.append_path_with_name(&path, &rel)?;
            }
        }
    }
    builder.into_inner()?.flush()
}

/// Builds `service`'s image and tags it with its image name.
pub async fn build_service(
    ctx: &mut Context,
    project: &Project,
    service: &Service,
    options: &BuildOptions,
) -> client::Result<()> {
    let Some(build) = &service.build else {
        return Ok(());
    };
    let image = service.image_name(&project.name);
    if build.context.contains("://") {
        return Err(other(format!(
            "service {}: remote build contexts are not supported",
            service.name
        )));
    }
    let context = Path::new(&build.context).to_path_buf();
    if !context.is_dir() {
        return Err(other(format!(
            "service {}: build context {} is not a folder",
            service.name, build.context
        )));
    }
    event("Image", &image, "Building");
    let dockerfile = build.dockerfile.clone();
    let tmp = std::env::temp_dir().join(format!(
        "berth-compose-ctx-{}-{}.tar",
        std::process::id(),
        service.name
    ));
    let file = std::fs::File::create(&tmp).map_err(|e| other(format!("{}: {e}", tmp.display())))?;
    let ctx_dir = context.clone();
    let df = dockerfile.clone();
    let written = tokio::task::spawn_blocking(move || write_context(&ctx_dir, &df, file))
        .await
        .map_err(|e| other(e.to_string()))?;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(other(format!(
            "service {}: reading build context: {e}",
            service.name
        )));
    }
    let mut args: BTreeMap<String, Option<String>> = build.args.clone();
    for (k, v) in &options.args {
        args.insert(k.clone(), Some(v.clone()));
    }
    let args: BTreeMap<String, String> = args
        .into_iter()
        .filter_map(|(k, v)| v.or_else(|| std::env::var(&k).ok()).map(|v| (k, v)))
        .collect();
    let mut query = vec![
        format!("t={}", encode(&image)),
        format!("dockerfile={}", encode(&dockerfile)),
        format!(
            "buildargs={}",
            encode(&serde_json::to_string(&args).unwrap_or_default())
        ),
        format!(
            "labels={}",
            encode(&serde_json::to_string(&build.labels).unwrap_or_default())
        ),
        "rm=1".to_string(),
        "forcerm=1".to_string(),
    ];
    if let Some(t) = &build.target {
        query.push(format!("target={}", encode(t)));
    }
    if let Some(n) = &build.network {
        query.push(format!("networkmode={}", encode(n)));
    }
    if options.no_cache {
        query.push("nocache=1".into());
    }
    if options.pull {
        query.push("pull=1".into());
    }
    if !build.cache_from.is_empty() {
        query.push(format!(
            "cachefrom={}",
            encode(&serde_json::to_string(&build.cache_from).unwrap_or_default())
        ));
    }
    let file = tokio::fs::File::open(&tmp)
        .await
        .map_err(|e| other(e.to_string()))?;
    let _ = std::fs::remove_file(&tmp);
    let response = ctx
        .client
        .send_body(
            http::Method::POST,
            &format!("/build?{}", query.join("&")),
            body_reader(file),
            Some("application/x-tar"),
        )
        .await?;
    let mut failure = None;
    let quiet = options.quiet;
    Client::read_json_lines(response, |message| {
        if let Some(error) = message.get("error").and_then(Value::as_str) {
            failure = Some(error.to_string());
            return Ok(false);
        }
        if !quiet {
            if let Some(text) = message.get("stream").and_then(Value::as_str) {
                eprint!("{text}");
            }
        }
        Ok(true)
    })
    .await?;
    if let Some(message) = failure {
        return Err(other(format!(
            "failed to build service {}: {message}",
            service.name
        )));
    }
    event("Image", &image, "Built");
    Ok(())
}

pub async fn run(ctx: &mut Context, options: &Options, args: BuildArgs) -> client::Result<u8> {
    let mut loaded = options.load()?;
    let names = loaded.select(&args.services)?;
    let build_args = args
        .build_arg
        .iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (a.clone(), std::env::var(a).unwrap_or_default()),
        })
        .collect();
    let build_options = BuildOptions {
        no_cache: args.no_cache,
        pull: args.pull,
        quiet: args.quiet,
        args: build_args,
    };
    for name in names {
        let service = loaded.service(&name)?.clone();
        build_service(ctx, &loaded.project, &service, &build_options).await?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore() {
        let p = vec![
            (true, "*.log".to_string()),
            (true, "tmp".to_string()),
            (false, "keep.log".to_string()),
            (true, "**/cache".to_string()),
        ];
        assert!(ignored(&p, "a.log"));
        assert!(!ignored(&p, "keep.log"));
        assert!(ignored(&p, "tmp/x"));
        assert!(ignored(&p, "a/b/cache"));
        assert!(!ignored(&p, "src/a.rs"));
    }
}
