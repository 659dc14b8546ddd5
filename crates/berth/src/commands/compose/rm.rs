//! `compose rm`: removes the project's stopped containers (`-s` stops them first).

use std::io::BufRead;

use clap::Args;

use super::convergence;
use super::project::Options;
use super::state;
use crate::client;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Don't ask to confirm removal
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short = 's', long = "stop")]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    pub services: Vec<String>,
}

pub async fn run(ctx: &mut Context, options: &Options, args: RmArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let list = state::of_services(
        state::containers(&mut ctx.client, &project, true).await?,
        &args.services,
        false,
    );
    if args.stop {
        for c in list.iter().filter(|c| c.running()) {
            convergence::stop_container(&mut ctx.client, c, 10).await?;
        }
    }
    let list = state::of_services(
        state::containers(&mut ctx.client, &project, true).await?,
        &args.services,
        false,
    );
    let stopped: Vec<_> = list
        .into_iter()
        .filter(|c| !c.running() && c.state != "paused")
        .collect();
    if stopped.is_empty() {
        eprintln!("No stopped containers");
        return Ok(0);
    }
    if !args.force {
        let names: Vec<&str> = stopped.iter().map(|c| c.name.as_str()).collect();
        eprint!(
            "Going to remove {}\n? Are you sure? [y/N] ",
            names.join(", ")
        );
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    for c in &stopped {
        convergence::remove_container(&mut ctx.client, c, args.volumes).await?;
    }
    Ok(0)
}
