//! `berth load`: uploads a docker-save or OCI-layout tar (plain, gzip or zstd).

use clap::Args;

use crate::client::{self, body_reader, ClientError};
use crate::commands::Context;
use crate::progress;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long = "input", value_name = "string")]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

pub async fn run(ctx: &mut Context, args: LoadArgs) -> client::Result<u8> {
    let body = match &args.input {
        Some(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| ClientError::Usage(format!("open {path}: {e}")))?;
            body_reader(file)
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                return Err(ClientError::Other(anyhow::anyhow!(
                    "requested load from stdin, but stdin is empty"
                )));
            }
            body_reader(tokio::io::stdin())
        }
    };
    let path = format!("/images/load?quiet={}", args.quiet as u8);
    let response = ctx
        .client
        .send_body(http::Method::POST, &path, body, Some("application/x-tar"))
        .await?;
    progress::print_stream(response, false).await?;
    Ok(0)
}
