//! `compose up` (and `compose create`): networks and volumes, images, containers in
//! dependency order; then either detach (`-d`, `--wait`) or follow every container's
//! output with `name | ` prefixes until they all exit or Ctrl-C stops them.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::convergence::{self, Options as ConvergeOptions};
use super::logs::{self, Follow};
use super::project::{Loaded, Options};
use super::resources;
use super::state::{self, Container};
use crate::client::{self, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Detached mode: Run containers in the background
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Build images before starting containers
    #[arg(long = "build")]
    pub build: bool,
    /// Don't build an image, even if it's policy
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long = "force-recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long = "no-recreate")]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present
    #[arg(long = "scale", value_name = "SERVICE=NUM")]
    pub scale: Vec<String>,
    /// Wait for services to be running|healthy. Implies detached mode
    #[arg(long = "wait")]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy
    #[arg(long = "wait-timeout", value_name = "int")]
    pub wait_timeout: Option<u64>,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Don't start the services after creating them
    #[arg(long = "no-start")]
    pub no_start: bool,
    /// Use this timeout in seconds for container shutdown when attached or when containers are already running
    #[arg(short = 't', long = "timeout", value_name = "int")]
    pub timeout: Option<i64>,
    /// Pull image before running ("always"|"missing"|"never")
    #[arg(long = "pull", value_name = "string")]
    pub pull: Option<String>,
    /// Pull without printing progress information
    #[arg(long = "quiet-pull")]
    pub quiet_pull: bool,
    /// Stops all containers if any container was stopped. Incompatible with -d
    #[arg(long = "abort-on-container-exit")]
    pub abort_on_container_exit: bool,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Show timestamps
    #[arg(long = "timestamps")]
    pub timestamps: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Build images before starting containers
    #[arg(long = "build")]
    pub build: bool,
    /// Don't build an image, even if it's policy
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long = "force-recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them
    #[arg(long = "no-recreate")]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances
    #[arg(long = "scale", value_name = "SERVICE=NUM")]
    pub scale: Vec<String>,
    /// Pull image before running ("always"|"missing"|"never")
    #[arg(long = "pull", value_name = "string")]
    pub pull: Option<String>,
    pub services: Vec<String>,
}

fn parse_scale(list: &[String]) -> client::Result<BTreeMap<String, u32>> {
    list.iter()
        .map(|s| {
            let (name, n) = s.split_once('=').ok_or_else(|| {
                ClientError::Other(anyhow::anyhow!(
                    "invalid --scale {s:?}: expected SERVICE=NUM"
                ))
            })?;
            let n: u32 = n.parse().map_err(|_| {
                ClientError::Other(anyhow::anyhow!(
                    "invalid --scale {s:?}: {n:?} is not a number"
                ))
            })?;
            Ok((name.to_string(), n))
        })
        .collect()
}

/// Loads the project and brings the targeted services to their state; returns the
/// loaded project, the services asked for and the containers.
async fn bring_up(
    ctx: &mut Context,
    options: &Options,
    services: &[String],
    remove_orphans: bool,
    converge: &ConvergeOptions,
) -> client::Result<(Loaded, Vec<String>, Vec<Container>)> {
    let mut loaded = options.load()?;
    let selected = loaded.select(services)?;
    for name in converge.scale.keys() {
        loaded.service(name)?;
    }
    let targets = if converge.no_deps {
        selected.iter().cloned().collect()
    } else {
        loaded.with_dependencies(&selected)
    };
    let order: Vec<String> = berth_compose::start_order(&loaded.project.services)
        .map_err(super::project::model_error)?
        .into_iter()
        .filter(|s| targets.contains(s))
        .collect();
    let project = &loaded.project;
    let existing = state::containers(&mut ctx.client, &project.name, true).await?;
    let orphans = convergence::orphans(project, &existing);
    if !orphans.is_empty() {
        if remove_orphans {
            for c in &orphans {
                convergence::stop_container(&mut ctx.client, c, 10).await?;
                convergence::remove_container(&mut ctx.client, c, false).await?;
            }
        } else {
            let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
            eprintln!(
                "WARN[0000] Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
                names.join(" ")
            );
        }
    }
    resources::ensure_networks(&mut ctx.client, project, &order).await?;
    resources::ensure_volumes(&mut ctx.client, project, &order).await?;
    let ids = convergence::ensure_images(ctx, project, &order, converge).await?;
    let outcome = convergence::converge(ctx, project, &order, &ids, converge).await?;
    Ok((loaded, selected, outcome.containers))
}

pub async fn create(ctx: &mut Context, options: &Options, args: CreateArgs) -> client::Result<u8> {
    let converge = ConvergeOptions {
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        no_start: true,
        build: args.build,
        no_build: args.no_build,
        pull: args.pull,
        scale: parse_scale(&args.scale)?,
        ..ConvergeOptions::default()
    };
    bring_up(ctx, options, &args.services, args.remove_orphans, &converge).await?;
    Ok(0)
}

pub async fn run(ctx: &mut Context, options: &Options, args: UpArgs) -> client::Result<u8> {
    if args.detach && args.abort_on_container_exit {
        return Err(ClientError::Other(anyhow::anyhow!(
            "--abort-on-container-exit and --detach are incompatible"
        )));
    }
    let converge = ConvergeOptions {
        force_recreate: args.force_recreate,
        no_recreate: args.no_recreate,
        no_start: args.no_start,
        build: args.build,
        no_build: args.no_build,
        pull: args.pull.clone(),
        scale: parse_scale(&args.scale)?,
        timeout: args.timeout,
        no_deps: args.no_deps,
        quiet_pull: args.quiet_pull,
    };
    let started_at = chrono::Utc::now().timestamp();
    let (loaded, _selected, containers) =
        bring_up(ctx, options, &args.services, args.remove_orphans, &converge).await?;
    if args.no_start {
        return Ok(0);
    }
    if args.wait {
        return wait_ready(ctx, &loaded, &containers, args.wait_timeout).await;
    }
    if args.detach {
        return Ok(0);
    }
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    println!("Attaching to {}", names.join(", "));
    let follow = Follow {
        colours: options.colours() && !args.no_color,
        prefix: !args.no_log_prefix,
        timestamps: args.timestamps,
        since: Some(started_at),
        tail: None,
        exit_messages: true,
    };
    let base = ctx.client.sibling();
    let all = logs::follow_all(&base, &containers, &follow, args.abort_on_container_exit);
    tokio::pin!(all);
    tokio::select! {
        _ = &mut all => {
            if args.abort_on_container_exit {
                eprintln!("Aborting on container exit...");
                stop_all(ctx, &loaded, &containers, args.timeout).await?;
            }
            Ok(0)
        }
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
            let stop = stop_all(ctx, &loaded, &containers, args.timeout);
            tokio::select! {
                r = stop => { r?; }
                _ = tokio::signal::ctrl_c() => {
                    for c in &containers {
                        let _ = ctx.client.post_json(&format!("/containers/{}/kill", c.id), None).await;
                    }
                }
            }
            Ok(130)
        }
    }
}

/// Stops the containers, in reverse start order.
async fn stop_all(
    ctx: &mut Context,
    loaded: &Loaded,
    containers: &[Container],
    timeout: Option<i64>,
) -> client::Result<()> {
    let fresh = state::containers(&mut ctx.client, &loaded.project.name, false).await?;
    for c in containers.iter().rev() {
        if let Some(now) = fresh.iter().find(|f| f.id == c.id) {
            let t = convergence::stop_timeout(loaded.project.services.get(&c.service), timeout);
            convergence::stop_container(&mut ctx.client, now, t).await?;
        }
    }
    Ok(())
}

/// `--wait`: polls until each container runs (and is healthy when it has a healthcheck).
async fn wait_ready(
    ctx: &mut Context,
    _loaded: &Loaded,
    containers: &[Container],
    timeout: Option<u64>,
) -> client::Result<u8> {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + Duration::from_secs(t));
    for c in containers {
        loop {
            let info = ctx
                .client
                .get_json(&format!("/containers/{}/json", c.id))
                .await?;
            let running = info.pointer("/State/Running").and_then(Value::as_bool) == Some(true);
            let health = info.pointer("/State/Health/Status").and_then(Value::as_str);
            let status = info
                .pointer("/State/Status")
                .and_then(Value::as_str)
                .unwrap_or("");
            match (running, health) {
                (true, None) | (true, Some("healthy")) => {
                    resources::event(
                        "Container",
                        &c.name,
                        if health.is_some() {
                            "Healthy"
                        } else {
                            "Running"
                        },
                    );
                    break;
                }
                (_, Some("unhealthy")) => {
                    return Err(ClientError::Other(anyhow::anyhow!(
                        "container {} is unhealthy",
                        c.name
                    )))
                }
                (false, _) if status == "exited" || status == "dead" => {
                    let code = info
                        .pointer("/State/ExitCode")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    if code != 0 {
                        return Err(ClientError::Other(anyhow::anyhow!(
                            "container {} exited ({code})",
                            c.name
                        )));
                    }
                    break;
                }
                _ => {}
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() > d) {
                return Err(ClientError::Other(anyhow::anyhow!(
                    "timeout waiting for container {} to be ready",
                    c.name
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(0)
}
