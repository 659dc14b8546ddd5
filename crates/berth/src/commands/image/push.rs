//! `berth push`: `POST /images/{name}/push?tag=` with the stored credentials.

use clap::Args;

use crate::client::{self, encode, ClientError};
use crate::commands::container::pull::Reference;
use crate::commands::Context;
use crate::progress;

use super::auth;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Skip image signing
    #[arg(long = "disable-content-trust", default_value_t = true, hide = true)]
    pub disable_content_trust: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
}

pub async fn run(ctx: &mut Context, args: PushArgs) -> client::Result<u8> {
    let slash = args.name.rfind('/').map_or(0, |i| i + 1);
    let explicit = args.name[slash..].contains(':');
    if args.name.contains('@') {
        return Err(ClientError::Usage(
            "cannot push a digest reference".to_string(),
        ));
    }
    if args.all_tags && explicit {
        return Err(ClientError::Usage(
            "tag can't be used with --all-tags/-a".to_string(),
        ));
    }
    let reference = Reference::parse(&args.name);
    if !explicit && !args.all_tags && !args.quiet {
        println!("Using default tag: latest");
    }
    let mut path = format!("/images/{}/push", reference.name);
    if !args.all_tags {
        path.push_str(&format!("?tag={}", encode(&reference.tag)));
    }
    ctx.client
        .set_registry_auth(Some(auth::header_for_image(&args.name)));
    let response = ctx.client.send(http::Method::POST, &path, None, None).await;
    ctx.client.set_registry_auth(None);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    progress::display_stream(response?, Box::new(std::io::stdout()), terminal, args.quiet).await?;
    if args.quiet {
        println!("{}", args.name);
    }
    Ok(0)
}
