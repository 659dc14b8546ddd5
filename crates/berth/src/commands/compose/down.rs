//! `compose down`: stops and removes the project's containers (dependents first), then
//! its networks, with `-v` its volumes, with `--rmi` its images.

use clap::Args;

use super::convergence::{self, orphans, stop_timeout};
use super::project::Options;
use super::resources;
use super::state;
use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    /// Remove images used by services. "local" remove only images that don't have a custom tag ("local"|"all")
    #[arg(long = "rmi", value_name = "string")]
    pub rmi: Option<String>,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout", value_name = "int")]
    pub timeout: Option<i64>,
    pub services: Vec<String>,
}

pub async fn run(ctx: &mut Context, options: &Options, args: DownArgs) -> client::Result<u8> {
    if let Some(rmi) = &args.rmi {
        if rmi != "all" && rmi != "local" {
            return Err(ClientError::Other(anyhow::anyhow!(
                "invalid --rmi option {rmi:?}: use \"all\" or \"local\""
            )));
        }
    }
    // Without files, `-p NAME` still finds the project's objects by label.
    let loaded = match options.load() {
        Ok(l) => Some(l),
        Err(e) if options.load.project_name.is_some() => {
            let _ = e;
            None
        }
        Err(e) => return Err(e),
    };
    let project_name = match &loaded {
        Some(l) => l.project.name.clone(),
        None => options.project_name()?,
    };
    ctx.client.negotiated_version().await?;
    let all = state::containers(&mut ctx.client, &project_name, true).await?;
    let mut targets = state::of_services(all.clone(), &args.services, true);
    if let Some(l) = &loaded {
        let orphan_list = orphans(&l.project, &all);
        if !orphan_list.is_empty() && !args.remove_orphans {
            let names: Vec<&str> = orphan_list.iter().map(|c| c.name.as_str()).collect();
            eprintln!(
                "WARN[0000] Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
                names.join(" ")
            );
            targets.retain(|c| !orphan_list.iter().any(|o| o.id == c.id));
        }
    }
    // Dependents first, in waves that stop together; one-off containers before all.
    let waves = match &loaded {
        Some(l) => {
            let mut all_services = l.project.services.clone();
            all_services.extend(l.project.disabled.clone());
            berth_compose::stop_waves(&all_services)
        }
        None => Default::default(),
    };
    let wave_of = |c: &super::state::Container| -> i64 {
        if c.oneoff {
            -1
        } else {
            waves.get(&c.service).map(|w| *w as i64).unwrap_or(0)
        }
    };
    targets.sort_by_key(|c| wave_of(c));
    // Each container is removed as soon as it is stopped; a wave starts stopping once
    // every container of the wave before it has stopped.
    let wave_list: Vec<i64> = {
        let mut w: Vec<i64> = targets.iter().map(&wave_of).collect();
        w.dedup();
        w
    };
    let mut left: std::collections::BTreeMap<i64, std::cell::Cell<usize>> = Default::default();
    let mut done = std::collections::BTreeMap::new();
    for c in &targets {
        let count = left
            .entry(wave_of(c))
            .or_insert_with(|| std::cell::Cell::new(0));
        count.set(count.get() + 1);
    }
    for w in &wave_list {
        done.insert(*w, tokio::sync::watch::channel(false));
    }
    let tasks = targets.iter().map(|c| {
        let mut client = ctx.client.sibling();
        let volumes = args.volumes;
        let service = loaded
            .as_ref()
            .and_then(|l| l.project.services.get(&c.service));
        let timeout = stop_timeout(service, args.timeout);
        let wave = wave_of(c);
        let previous = wave_list
            .iter()
            .take_while(|w| **w < wave)
            .last()
            .map(|w| done[w].1.clone());
        let (finished, counter) = (&done[&wave].0, &left[&wave]);
        async move {
            if let Some(mut rx) = previous {
                let _ = rx.wait_for(|stopped| *stopped).await;
            }
            let stopped = convergence::stop_container(&mut client, c, timeout).await;
            counter.set(counter.get() - 1);
            if counter.get() == 0 {
                let _ = finished.send(true);
            }
            stopped?;
            convergence::remove_container(&mut client, c, volumes).await
        }
    });
    let mut failed = false;
    for r in futures_util::future::join_all(tasks).await {
        if let Err(e) = r {
            eprintln!("{e}");
            failed = true;
        }
    }
    if args.services.is_empty() {
        failed |= !resources::remove_networks(&mut ctx.client, &project_name).await?;
        if args.volumes {
            failed |= !resources::remove_volumes(&mut ctx.client, &project_name).await?;
        }
    }
    if let (Some(rmi), Some(l)) = (&args.rmi, &loaded) {
        let mut seen = Vec::new();
        for s in l.project.services.values() {
            if rmi == "local" && s.image.is_some() {
                continue;
            }
            let image = s.image_name(&l.project.name);
            if seen.contains(&image) {
                continue;
            }
            seen.push(image.clone());
            let response = ctx
                .client
                .send(
                    http::Method::DELETE,
                    &format!("/images/{}", encode(&image)),
                    None,
                    None,
                )
                .await?;
            match Client::check(response).await {
                Ok(_) => resources::event("Image", &image, "Removed"),
                Err(e) if crate::commands::container::is_not_found(&e) => {}
                Err(e) => {
                    eprintln!("{e}");
                    failed = true;
                }
            }
        }
    }
    Ok(u8::from(failed))
}
