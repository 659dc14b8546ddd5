//! `compose push`: pushes the images of services that have both `image` and `build`
//! (or every service's image, as Compose does).

use clap::Args;

use super::project::Options;
use super::resources::event;
use crate::client::{self, encode, Client};
use crate::commands::container::pull::Reference;
use crate::commands::image::auth;
use crate::commands::Context;
use crate::progress;

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push what it can and ignores images with push failures
    #[arg(long = "ignore-push-failures")]
    pub ignore_push_failures: bool,
    /// Push without printing progress information
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    pub services: Vec<String>,
}

/// `POST /images/{name}/push?tag=` with the stored credentials of its registry.
pub async fn push_image(client: &mut Client, image: &str, quiet: bool) -> client::Result<()> {
    let reference = Reference::parse(image);
    let path = format!(
        "/images/{}/push?tag={}",
        encode(&reference.name),
        encode(&reference.tag)
    );
    client.set_registry_auth(Some(auth::header_for_image(image)));
    let response = client.send(http::Method::POST, &path, None, None).await;
    client.set_registry_auth(None);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    progress::display_stream(response?, Box::new(std::io::stderr()), terminal, quiet).await?;
    Ok(())
}

pub async fn run(ctx: &mut Context, options: &Options, args: PushArgs) -> client::Result<u8> {
    let mut loaded = options.load()?;
    let names = loaded.select(&args.services)?;
    let mut failed = false;
    for name in names {
        let service = loaded.service(&name)?;
        let Some(image) = service.image.clone() else {
            continue;
        };
        event("Image", &image, "Pushing");
        match push_image(&mut ctx.client, &image, args.quiet).await {
            Ok(()) => event("Image", &image, "Pushed"),
            Err(e) => {
                eprintln!("{e}");
                failed |= !args.ignore_push_failures;
            }
        }
    }
    Ok(u8::from(failed))
}
