//! `berth import`: a rootfs tarball (file, `-` for stdin, or URL) becomes an image.

use clap::Args;
use serde_json::Value;

use super::tag::split_repo_tag;
use crate::client::{self, body_bytes, body_reader, encode, ClientError};
use crate::commands::Context;
use crate::progress;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list")]
    pub changes: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long = "message", value_name = "string")]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long = "platform", value_name = "string")]
    pub platform: Option<String>,
    /// file|URL|-
    pub source: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

pub async fn run(ctx: &mut Context, args: ImportArgs) -> client::Result<u8> {
    let mut query = Vec::new();
    let is_url = args.source.starts_with("http://") || args.source.starts_with("https://");
    query.push(format!(
        "fromSrc={}",
        encode(if is_url { &args.source } else { "-" })
    ));
    if let Some(reference) = &args.reference {
        let (repo, tag) = split_repo_tag(reference);
        query.push(format!("repo={}", encode(repo)));
        if let Some(tag) = tag {
            query.push(format!("tag={}", encode(tag)));
        }
    }
    if let Some(message) = &args.message {
        query.push(format!("message={}", encode(message)));
    }
    for change in &args.changes {
        query.push(format!("changes={}", encode(change)));
    }
    if let Some(platform) = &args.platform {
        query.push(format!("platform={}", encode(platform)));
    }
    let body = if is_url {
        body_bytes(Vec::new())
    } else if args.source == "-" {
        body_reader(tokio::io::stdin())
    } else {
        let file = tokio::fs::File::open(&args.source)
            .await
            .map_err(|e| ClientError::Usage(format!("open {}: {e}", args.source)))?;
        body_reader(file)
    };
    let response = ctx
        .client
        .send_body(
            http::Method::POST,
            &format!("/images/create?{}", query.join("&")),
            body,
            Some("application/x-tar"),
        )
        .await?;
    let result = progress::print_stream(response, true).await?;
    // The last status of an import is the new image's ID.
    if let Some(id) = result.statuses.last() {
        println!("{id}");
    } else if let Some(id) = result
        .aux
        .iter()
        .find_map(|a| a.get("ID").and_then(Value::as_str))
    {
        println!("{id}");
    }
    Ok(0)
}
