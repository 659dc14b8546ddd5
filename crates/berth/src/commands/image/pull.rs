//! `berth pull`: `POST /images/create?fromImage=&tag=` with the stored credentials,
//! progress bars on a terminal, then the full reference (docker 20+ prints it).

use clap::Args;

use crate::client::{self, encode, ClientError};
use crate::commands::container::pull::Reference;
use crate::commands::Context;
use crate::progress;

use super::auth;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Skip image verification
    #[arg(long = "disable-content-trust", default_value_t = true, hide = true)]
    pub disable_content_trust: bool,
    /// Set platform if server is multi-platform capable
    #[arg(
        long = "platform",
        value_name = "string",
        env = "DOCKER_DEFAULT_PLATFORM"
    )]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
}

/// A name with an explicit tag or digest?
fn has_tag_or_digest(name: &str) -> bool {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    name.contains('@') || name[slash..].contains(':')
}

pub async fn run(ctx: &mut Context, args: PullArgs) -> client::Result<u8> {
    let explicit = has_tag_or_digest(&args.name);
    if args.all_tags && explicit {
        return Err(ClientError::Usage(
            "tag can't be used with --all-tags/-a".to_string(),
        ));
    }
    let reference = Reference::parse(&args.name);
    if !explicit && !args.all_tags && !args.quiet {
        println!("Using default tag: latest");
    }
    let mut path = format!("/images/create?fromImage={}", encode(&reference.name));
    if !args.all_tags {
        path.push_str(&format!("&tag={}", encode(&reference.tag)));
    }
    if let Some(platform) = args.platform.as_deref().filter(|p| !p.is_empty()) {
        path.push_str(&format!("&platform={}", encode(platform)));
    }
    ctx.client
        .set_registry_auth(Some(auth::header_for_image(&args.name)));
    let response = ctx.client.send(http::Method::POST, &path, None, None).await;
    ctx.client.set_registry_auth(None);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    progress::display_stream(response?, Box::new(std::io::stdout()), terminal, args.quiet).await?;
    if args.all_tags {
        println!("{}", reference.name);
    } else if reference.digest {
        println!("{}@{}", reference.name, reference.tag);
    } else {
        println!("{}:{}", reference.name, reference.tag);
    }
    Ok(0)
}
