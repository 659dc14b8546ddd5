//! `berth export CONTAINER`: the container's filesystem as a tar, to `-o FILE` or to
//! stdout (never to a terminal), from `GET /containers/{id}/export`.

use std::io::Write;

use clap::Args;
use http_body_util::BodyExt;

use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output", value_name = "string")]
    pub output: Option<String>,
    /// CONTAINER
    pub container: String,
}

/// Where the archive goes: stdout, or a temporary file renamed over the target once
/// complete (so a failed export never leaves a truncated file), mode 0600 as docker.
enum Sink {
    Stdout(std::io::Stdout),
    File {
        file: std::fs::File,
        temp: std::path::PathBuf,
        target: std::path::PathBuf,
    },
}

impl Sink {
    fn open(output: Option<&str>) -> client::Result<Sink> {
        let Some(path) = output.filter(|p| !p.is_empty()) else {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(ClientError::Other(anyhow::anyhow!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                )));
            }
            return Ok(Sink::Stdout(std::io::stdout()));
        };
        let target = std::path::PathBuf::from(path);
        let failed = |e: std::io::Error| {
            ClientError::Other(anyhow::anyhow!(
                "failed to export container: {}",
                super::parse::io_reason(&e)
            ))
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(ClientError::Other(anyhow::anyhow!(
                "failed to export container: invalid output path: directory {:?} does not exist",
                dir.display().to_string()
            )));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(failed)?;
        Ok(Sink::File { file, temp, target })
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out) => out.lock().write_all(data),
            Sink::File { file, .. } => file.write_all(data),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out) => out.lock().flush(),
            Sink::File { file, temp, target } => {
                file.sync_all()?;
                drop(file);
                std::fs::rename(&temp, &target)
            }
        }
    }

    fn abandon(self) {
        if let Sink::File { temp, .. } = self {
            let _ = std::fs::remove_file(temp);
        }
    }
}

pub async fn run(ctx: &mut Context, args: ExportArgs) -> client::Result<u8> {
    let mut sink = Sink::open(args.output.as_deref())?;
    let path = format!("/containers/{}/export", encode(&args.container));
    let result = async {
        let response = ctx
            .client
            .send(http::Method::GET, &path, None, None)
            .await?;
        let response = Client::check(response).await?;
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ClientError::Other(anyhow::anyhow!("error reading the archive: {e}"))
            })?;
            if let Some(data) = frame.data_ref() {
                sink.write(data)
                    .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
            }
        }
        Ok::<(), ClientError>(())
    }
    .await;
    match result {
        Ok(()) => {
            sink.finish()
                .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
            Ok(0)
        }
        Err(e) => {
            sink.abandon();
            Err(e)
        }
    }
}
