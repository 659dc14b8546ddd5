//! `berth network rm`.

use clap::Args;

use crate::client::{self, encode, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct NetworkRmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// NETWORK
    #[arg(required = true, value_name = "NETWORK")]
    pub networks: Vec<String>,
}

/// Removes each network in turn, printing its name; prints every failure and exits 1 if
/// any failed, as docker.
pub async fn run(ctx: &mut Context, args: NetworkRmArgs) -> client::Result<u8> {
    let mut errors = Vec::new();
    for name in &args.networks {
        let path = format!("/networks/{}", encode(name));
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
            Err(ClientError::Daemon { status, .. })
                if args.force && status == http::StatusCode::NOT_FOUND => {}
            Err(e @ ClientError::Daemon { .. }) => errors.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        eprintln!("{}", errors.join("\n"));
        return Ok(1);
    }
    Ok(0)
}
