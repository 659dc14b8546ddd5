//! `berth save`: streams images as a docker-save tar to a file or stdout.

use clap::Args;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output", value_name = "string")]
    pub output: Option<String>,
    /// IMAGE
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: SaveArgs) -> client::Result<u8> {
    if args.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(ClientError::Other(anyhow::anyhow!(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect"
        )));
    }
    let names: Vec<String> = args
        .images
        .iter()
        .map(|n| format!("names={}", encode(n)))
        .collect();
    let response = ctx
        .client
        .send(
            http::Method::GET,
            &format!("/images/get?{}", names.join("&")),
            None,
            None,
        )
        .await?;
    let response = Client::check(response).await?;
    // Written next to the target and renamed when complete, so a failed save never leaves
    // a truncated archive under the requested name.
    let (mut sink, temp): (
        Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
        Option<(String, String)>,
    ) = match &args.output {
        Some(path) => {
            let temp = format!("{path}.berth-save-{}", std::process::id());
            let file = tokio::fs::File::create(&temp)
                .await
                .map_err(|e| ClientError::Usage(format!("failed to save image: {path}: {e}")))?;
            (Box::new(file), Some((temp, path.clone())))
        }
        None => (Box::new(tokio::io::stdout()), None),
    };
    let mut body = response.into_body();
    let copied = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| anyhow::anyhow!("error reading image archive: {e}"))?;
            if let Some(data) = frame.data_ref() {
                sink.write_all(data).await?;
            }
        }
        sink.flush().await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    match (copied, temp) {
        (Ok(()), Some((temp, path))) => {
            tokio::fs::rename(&temp, &path)
                .await
                .map_err(|e| ClientError::Other(e.into()))?;
        }
        (Ok(()), None) => {}
        (Err(e), temp) => {
            if let Some((temp, _)) = temp {
                let _ = tokio::fs::remove_file(temp).await;
            }
            return Err(ClientError::Other(e));
        }
    }
    Ok(0)
}
