//! `berth create`: the container is made, not started; its full ID is printed. Also the
//! create step `run` shares: `--cidfile`, pulling a missing image, the daemon's warnings.

use clap::Args;
use serde_json::Value;

use super::opts::{ContainerFlags, ContainerSpec, PullPolicy};
use super::pull::{self, Reference};
use super::{is_not_found, print_flag_error, tty};
use crate::client::{self, encode, ClientError};
use crate::commands::Context;

pub const USAGE: &str = "create [OPTIONS] IMAGE [COMMAND] [ARG...]";

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub flags: ContainerFlags,
}

pub async fn run(ctx: &mut Context, args: CreateArgs) -> client::Result<u8> {
    let mut spec = match args.flags.to_spec(false) {
        Ok(spec) => spec,
        Err(e) => {
            print_flag_error("create", USAGE, &e);
            return Ok(125);
        }
    };
    let id = create_container(ctx, &mut spec).await?;
    println!("{id}");
    Ok(0)
}

/// The `--cidfile` docker writes: refused if it exists, removed again if create fails.
struct CidFile {
    path: Option<String>,
    written: bool,
}

impl CidFile {
    fn new(path: Option<&str>) -> client::Result<CidFile> {
        let Some(path) = path else {
            return Ok(CidFile {
                path: None,
                written: false,
            });
        };
        if std::path::Path::new(path).exists() {
            return Err(other(format!(
                "container ID file found, make sure the other container isn't running or delete {path}"
            )));
        }
        std::fs::File::create(path).map_err(|e| {
            other(format!(
                "failed to create the container ID file: open {path}: {}",
                super::parse::io_reason(&e)
            ))
        })?;
        Ok(CidFile {
            path: Some(path.to_string()),
            written: false,
        })
    }

    fn write(&mut self, id: &str) -> client::Result<()> {
        if let Some(path) = &self.path {
            std::fs::write(path, id).map_err(|e| {
                other(format!(
                    "failed to write the container ID to the file: {}",
                    super::parse::io_reason(&e)
                ))
            })?;
            self.written = true;
        }
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if let (Some(path), false) = (&self.path, self.written) {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn other(message: String) -> ClientError {
    ClientError::Other(anyhow::anyhow!(message))
}

/// docker's `createContainer`: writes the cidfile, pulls with `--pull always` or when the
/// image is missing (`--pull missing`), prints the daemon's warnings; returns the ID.
pub async fn create_container(
    ctx: &mut Context,
    spec: &mut ContainerSpec,
) -> client::Result<String> {
    let mut cid = CidFile::new(spec.cidfile.as_deref())?;
    if spec.pull == PullPolicy::Always {
        pull::pull(ctx, &spec.image, spec.platform.as_deref(), spec.quiet).await?;
    }
    let size = tty::console_size();
    spec.host_config
        .insert("ConsoleSize".to_string(), serde_json::json!(size));
    let mut query = Vec::new();
    if let Some(name) = &spec.name {
        query.push(format!("name={}", encode(name)));
    }
    if let Some(platform) = &spec.platform {
        query.push(format!("platform={}", encode(platform)));
    }
    let path = if query.is_empty() {
        "/containers/create".to_string()
    } else {
        format!("/containers/create?{}", query.join("&"))
    };
    let body = spec.body();
    let response = match ctx.client.post_json(&path, Some(&body)).await {
        Ok(response) => response,
        Err(e) if is_not_found(&e) && spec.pull == PullPolicy::Missing && missing_image(&e) => {
            if !spec.quiet {
                eprintln!(
                    "Unable to find image '{}' locally",
                    Reference::parse(&spec.image).familiar()
                );
            }
            pull::pull(ctx, &spec.image, spec.platform.as_deref(), spec.quiet).await?;
            ctx.client.post_json(&path, Some(&body)).await?
        }
        Err(e) => return Err(e),
    };
    if let Some(Value::Array(warnings)) = response.get("Warnings") {
        for warning in warnings.iter().filter_map(Value::as_str) {
            eprintln!("WARNING: {warning}");
        }
    }
    let id = response
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    cid.write(&id)?;
    Ok(id)
}

/// A 404 from create that is about the image (not, say, a network).
fn missing_image(error: &ClientError) -> bool {
    match error {
        ClientError::Daemon { message, .. } => {
            message.to_ascii_lowercase().contains("no such image")
        }
        _ => false,
    }
}
