//! `compose pull`: pulls the images of the services (not those only built).

use clap::Args;

use super::project::Options;
use super::resources::event;
use crate::client;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Pull without printing progress information
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Ignore images that can be built
    #[arg(long = "ignore-buildable")]
    pub ignore_buildable: bool,
    /// Pull what it can and ignores images with pull failures
    #[arg(long = "ignore-pull-failures")]
    pub ignore_pull_failures: bool,
    pub services: Vec<String>,
}

/// Pulls one image with the CLI's progress output.
pub async fn pull_image(
    ctx: &mut Context,
    image: &str,
    platform: Option<&str>,
    quiet: bool,
) -> client::Result<()> {
    crate::commands::container::pull::pull(ctx, image, platform, quiet).await
}

pub async fn run(ctx: &mut Context, options: &Options, args: PullArgs) -> client::Result<u8> {
    let mut loaded = options.load()?;
    let names = loaded.select(&args.services)?;
    let mut failed = false;
    for name in names {
        let service = loaded.service(&name)?.clone();
        let Some(image) = &service.image else {
            continue;
        };
        if service.build.is_some() && args.ignore_buildable {
            continue;
        }
        event("Image", image, "Pulling");
        match pull_image(ctx, image, service.platform.as_deref(), args.quiet).await {
            Ok(()) => event("Image", image, "Pulled"),
            Err(e) if args.ignore_pull_failures || service.build.is_some() => {
                eprintln!("{e}");
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(u8::from(failed))
}
