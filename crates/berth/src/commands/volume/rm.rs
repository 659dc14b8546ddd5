//! `berth volume rm`.

use clap::Args;

use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct VolumeRmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// VOLUME
    #[arg(required = true, value_name = "VOLUME")]
    pub volumes: Vec<String>,
}

/// Removes each volume in turn, printing its name; reports every failure and exits 1 if
/// any failed, as docker.
pub async fn run(ctx: &mut Context, args: VolumeRmArgs) -> client::Result<u8> {
    let mut failed = false;
    for name in &args.volumes {
        let path = format!("/volumes/{}?force={}", encode(name), args.force as u8);
        let result = async {
            let response = ctx
                .client
                .send(http::Method::DELETE, &path, None, None)
                .await?;
            let response = client::Client::check(response).await?;
            client::Client::read_body(response).await
        }
        .await;
        match result {
            Ok(_) => println!("{name}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
