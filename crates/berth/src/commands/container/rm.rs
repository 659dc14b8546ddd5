//! `berth rm`: removes containers (`-f` kills running ones first, `-v` also removes their
//! anonymous volumes, `-l` removes a legacy link instead).

use clap::Args;

use super::{for_each, is_not_found};
use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long = "link")]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    /// CONTAINER
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub async fn run(ctx: &mut Context, args: RmArgs) -> client::Result<u8> {
    let mut query = Vec::new();
    if args.volumes {
        query.push("v=1");
    }
    if args.link {
        query.push("link=1");
    }
    if args.force {
        query.push("force=1");
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    let results = for_each(ctx, &args.containers, |mut client, name| {
        let query = query.clone();
        async move {
            let name = name.trim_matches('/');
            if name.is_empty() {
                return Err(ClientError::Other(anyhow::anyhow!(
                    "container name cannot be empty"
                )));
            }
            let response = client
                .send(
                    http::Method::DELETE,
                    &format!("/containers/{}{query}", encode(name)),
                    None,
                    None,
                )
                .await?;
            let response = Client::check(response).await?;
            let _ = Client::read_body(response).await;
            Ok(())
        }
    })
    .await?;
    let mut failed = false;
    for (name, result) in args.containers.iter().zip(results) {
        match result {
            Ok(()) => println!("{name}"),
            // `rm -f` of something already gone is reported but is not a failure.
            Err(e) if args.force && is_not_found(&e) => eprintln!("{e}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(u8::from(failed))
}
