//! `berth rmi` / `berth image rm`.

use clap::Args;
use serde_json::Value;

use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    /// IMAGE
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// Removes each image in turn; reports every failure and exits 1 if any failed, as docker.
pub async fn run(ctx: &mut Context, args: RmiArgs) -> client::Result<u8> {
    let mut failed = false;
    for image in &args.images {
        let path = format!(
            "/images/{}?force={}&noprune={}",
            encode(image),
            args.force as u8,
            args.no_prune as u8
        );
        let result = async {
            let response = ctx
                .client
                .send(http::Method::DELETE, &path, None, None)
                .await?;
            let response = client::Client::check(response).await?;
            let body = client::Client::read_body(response).await?;
            Ok::<_, client::ClientError>(
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
            )
        }
        .await;
        match result {
            Ok(Value::Array(items)) => {
                for item in items {
                    if let Some(t) = item.get("Untagged").and_then(Value::as_str) {
                        println!("Untagged: {t}");
                    }
                    if let Some(d) = item.get("Deleted").and_then(Value::as_str) {
                        println!("Deleted: {d}");
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
