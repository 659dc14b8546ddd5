//! `compose start|stop|restart|kill|pause|unpause`: the verb applied to the project's
//! containers (of the services named, else all), in dependency order (reverse for stop).

use clap::Args;

use super::convergence::{self, stop_timeout};
use super::project::{Loaded, Options};
use super::resources::event;
use super::state::{self, Container};
use crate::client::{self, encode, ClientError};
use crate::commands::container::post_allow_not_modified;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct ServicesArgs {
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TimeoutArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout", value_name = "int")]
    pub timeout: Option<i64>,
    /// Don't restart dependent services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// SIGNAL to send to the container
    #[arg(
        short = 's',
        long = "signal",
        value_name = "string",
        default_value = "SIGKILL"
    )]
    pub signal: String,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    pub services: Vec<String>,
}

/// The containers of `services` in start order (`reverse` for stopping), with the
/// loaded project when files are there.
async fn targets(
    ctx: &mut Context,
    options: &Options,
    services: &[String],
    reverse: bool,
) -> client::Result<(Option<Loaded>, Vec<Container>)> {
    let loaded = options.load().ok();
    let name = match &loaded {
        Some(l) => l.project.name.clone(),
        None => options.project_name()?,
    };
    if let Some(l) = &loaded {
        for s in services {
            if !l.knows(s) {
                return Err(ClientError::Other(anyhow::anyhow!("no such service: {s}")));
            }
        }
    }
    let mut list = state::of_services(
        state::containers(&mut ctx.client, &name, true).await?,
        services,
        false,
    );
    if let Some(l) = &loaded {
        let order = berth_compose::start_order(&l.project.services).unwrap_or_default();
        let rank = |s: &str| order.iter().position(|o| o == s).unwrap_or(usize::MAX);
        list.sort_by_key(|c| (rank(&c.service), c.number));
    }
    if reverse {
        list.reverse();
    }
    Ok((loaded, list))
}

pub async fn start(ctx: &mut Context, options: &Options, args: ServicesArgs) -> client::Result<u8> {
    let (_, list) = targets(ctx, options, &args.services, false).await?;
    for c in list.iter().filter(|c| !c.running()) {
        convergence::start_container(&mut ctx.client, c).await?;
    }
    Ok(0)
}

pub async fn stop(ctx: &mut Context, options: &Options, args: TimeoutArgs) -> client::Result<u8> {
    let (loaded, list) = targets(ctx, options, &args.services, true).await?;
    // Dependents first, each wave of services at once.
    let waves = loaded
        .as_ref()
        .map(|l| berth_compose::stop_waves(&l.project.services))
        .unwrap_or_default();
    let mut by_wave: std::collections::BTreeMap<usize, Vec<&Container>> = Default::default();
    for c in &list {
        by_wave
            .entry(waves.get(&c.service).copied().unwrap_or(0))
            .or_default()
            .push(c);
    }
    for group in by_wave.values() {
        let stops = group.iter().map(|c| {
            let mut client = ctx.client.sibling();
            let service = loaded
                .as_ref()
                .and_then(|l| l.project.services.get(&c.service));
            let timeout = stop_timeout(service, args.timeout);
            async move { convergence::stop_container(&mut client, c, timeout).await }
        });
        for r in futures_util::future::join_all(stops).await {
            r?;
        }
    }
    Ok(0)
}

pub async fn restart(
    ctx: &mut Context,
    options: &Options,
    args: TimeoutArgs,
) -> client::Result<u8> {
    let (loaded, list) = targets(ctx, options, &args.services, false).await?;
    for c in &list {
        let service = loaded
            .as_ref()
            .and_then(|l| l.project.services.get(&c.service));
        let t = stop_timeout(service, args.timeout);
        event("Container", &c.name, "Restarting");
        post_allow_not_modified(
            &mut ctx.client,
            &format!("/containers/{}/restart?t={t}", c.id),
        )
        .await?;
        event("Container", &c.name, "Started");
    }
    Ok(0)
}

pub async fn kill(ctx: &mut Context, options: &Options, args: KillArgs) -> client::Result<u8> {
    let (_, list) = targets(ctx, options, &args.services, true).await?;
    let mut failed = false;
    for c in list.iter().filter(|c| c.running()) {
        event("Container", &c.name, "Killing");
        match ctx
            .client
            .post_json(
                &format!("/containers/{}/kill?signal={}", c.id, encode(&args.signal)),
                None,
            )
            .await
        {
            Ok(_) => event("Container", &c.name, "Killed"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(u8::from(failed))
}

pub async fn pause(
    ctx: &mut Context,
    options: &Options,
    args: ServicesArgs,
    pause: bool,
) -> client::Result<u8> {
    let (_, list) = targets(ctx, options, &args.services, false).await?;
    let (verb, done) = if pause {
        ("pause", "Paused")
    } else {
        ("unpause", "Unpaused")
    };
    for c in &list {
        if pause != (c.state == "running") {
            continue;
        }
        ctx.client
            .post_json(&format!("/containers/{}/{verb}", c.id), None)
            .await?;
        event("Container", &c.name, done);
    }
    Ok(0)
}
