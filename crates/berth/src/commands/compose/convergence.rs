//! Bringing services to their declared state (`up`, `create`, `start`, `run`'s
//! dependencies): images present, then per service in dependency order (services whose
//! dependencies are met run at the same time) containers created, recreated when their
//! configuration or image changed, started, and scaled to the replica count.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use berth_compose::{config_hash, Condition, Project, Service};
use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::watch;

use super::build;
use super::create::{self, Instance};
use super::resources::event;
use super::state::{self, Container};
use crate::client::{self, encode, Client, ClientError};
use crate::commands::container::{is_not_found, post_allow_not_modified};
use crate::commands::Context;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub force_recreate: bool,
    pub no_recreate: bool,
    /// Create only (`compose create`).
    pub no_start: bool,
    /// `--build`: build images of services with `build:` first.
    pub build: bool,
    /// `--no-build`: fail rather than build a missing image.
    pub no_build: bool,
    /// `--pull always|missing|never`.
    pub pull: Option<String>,
    pub scale: BTreeMap<String, u32>,
    /// Stop timeout for recreated containers (`-t`).
    pub timeout: Option<i64>,
    /// Services whose dependencies are not waited for (`--no-deps`).
    pub no_deps: bool,
    pub quiet_pull: bool,
}

/// What `up` ends with: the containers of the services, in start order.
pub struct Outcome {
    pub containers: Vec<Container>,
}

fn other(message: String) -> ClientError {
    ClientError::Other(anyhow::anyhow!(message))
}

/// The stop timeout of a service's containers in seconds (`stop_grace_period`, else 10).
pub fn stop_timeout(service: Option<&Service>, flag: Option<i64>) -> i64 {
    flag.or_else(|| {
        service
            .and_then(|s| s.stop_grace_period.as_deref())
            .map(|t| berth_compose::nanos(t) / 1_000_000_000)
    })
    .unwrap_or(10)
}

/// Makes sure each service's image exists (build or pull); returns image IDs by service.
pub async fn ensure_images(
    ctx: &mut Context,
    project: &Project,
    services: &[String],
    options: &Options,
) -> client::Result<BTreeMap<String, String>> {
    let mut ids = BTreeMap::new();
    for name in services {
        let service = &project.services[name];
        let image = service.image_name(&project.name);
        if service.build.is_some() && options.build {
            build::build_service(ctx, project, service, &build::BuildOptions::default()).await?;
        }
        let always = options.pull.as_deref() == Some("always")
            || service.pull_policy.as_deref() == Some("always");
        if always && service.build.is_none() {
            super::pull::pull_image(ctx, &image, service.platform.as_deref(), options.quiet_pull)
                .await?;
        }
        let id = match inspect_image(&mut ctx.client, &image).await? {
            Some(id) => id,
            None => {
                if let Some(_build) = &service.build {
                    if options.no_build {
                        return Err(other(format!(
                            "image {image} for service {name} does not exist and --no-build was given"
                        )));
                    }
                    build::build_service(ctx, project, service, &build::BuildOptions::default())
                        .await?;
                } else if options.pull.as_deref() == Some("never")
                    || service.pull_policy.as_deref() == Some("never")
                {
                    return Err(other(format!(
                        "image {image} for service {name} is missing and pull is never"
                    )));
                } else {
                    super::pull::pull_image(
                        ctx,
                        &image,
                        service.platform.as_deref(),
                        options.quiet_pull,
                    )
                    .await?;
                }
                inspect_image(&mut ctx.client, &image)
                    .await?
                    .ok_or_else(|| other(format!("No such image: {image}")))?
            }
        };
        ids.insert(name.clone(), id);
    }
    Ok(ids)
}

pub async fn inspect_image(client: &mut Client, image: &str) -> client::Result<Option<String>> {
    match client
        .get_json(&format!("/images/{}/json", encode(image)))
        .await
    {
        Ok(v) => Ok(v.get("Id").and_then(Value::as_str).map(str::to_string)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Progress {
    Pending,
    Done,
    Failed,
}

/// Converges `services` (already in start order; their images present).
pub async fn converge(
    ctx: &mut Context,
    project: &Project,
    services: &[String],
    image_ids: &BTreeMap<String, String>,
    options: &Options,
) -> client::Result<Outcome> {
    ctx.client.negotiated_version().await?;
    let existing = state::containers(&mut ctx.client, &project.name, true).await?;
    let service_containers: BTreeMap<String, String> = project
        .services
        .values()
        .map(|s| (s.name.clone(), create::container_name(&project.name, s, 1)))
        .collect();
    let selected: BTreeSet<&String> = services.iter().collect();
    let mut senders = BTreeMap::new();
    let mut receivers = BTreeMap::new();
    for name in services {
        let (tx, rx) = watch::channel(Progress::Pending);
        senders.insert(name.clone(), tx);
        receivers.insert(name.clone(), rx);
    }
    let tasks = services.iter().map(|name| {
        let service = &project.services[name];
        let mut client = ctx.client.sibling();
        let tx = senders.remove(name).expect("one sender per service");
        let deps: Vec<(String, Option<Condition>, watch::Receiver<Progress>)> = if options.no_deps {
            Vec::new()
        } else {
            berth_compose::dependencies(service)
                .into_iter()
                .filter(|d| selected.contains(d))
                .map(|d| {
                    let condition = service.depends_on.get(&d).map(|x| x.condition);
                    let rx = receivers[&d].clone();
                    (d, condition, rx)
                })
                .collect()
        };
        let mine: Vec<Container> = existing
            .iter()
            .filter(|c| !c.oneoff && c.service == *name)
            .cloned()
            .collect();
        let instance_base = (
            service_containers.clone(),
            image_ids.get(name).cloned().unwrap_or_default(),
        );
        async move {
            let result = async {
                let (names, image_id) = instance_base;
                // Containers are created (or recreated) before the dependencies are
                // ready, unless they need another service's container to exist; only
                // the start waits.
                let early = service
                    .network_mode
                    .as_deref()
                    .is_none_or(|m| !m.starts_with("service:"))
                    && service.volumes_from.is_empty();
                let mut prepared = None;
                if early {
                    prepared = Some(
                        prepare_service(
                            &mut client,
                            project,
                            service,
                            mine.clone(),
                            &names,
                            &image_id,
                            options,
                        )
                        .await?,
                    );
                }
                for (dep, condition, mut rx) in deps {
                    let state = rx
                        .wait_for(|p| *p != Progress::Pending)
                        .await
                        .map(|p| p.clone())
                        .unwrap_or(Progress::Failed);
                    if state == Progress::Failed {
                        return Err(other(format!("dependency failed to start: service {dep}")));
                    }
                    if let Some(condition) = condition {
                        wait_condition(&mut client, project, &dep, condition).await?;
                    }
                }
                let prepared = match prepared {
                    Some(p) => p,
                    None => {
                        prepare_service(
                            &mut client,
                            project,
                            service,
                            mine,
                            &names,
                            &image_id,
                            options,
                        )
                        .await?
                    }
                };
                start_prepared(&client, prepared, options).await
            }
            .await;
            let _ = tx.send(if result.is_ok() {
                Progress::Done
            } else {
                Progress::Failed
            });
            result
        }
    });
    let results = join_all(tasks).await;
    let mut containers = Vec::new();
    let mut first_error = None;
    for r in results {
        match r {
            Ok(list) => containers.extend(list),
            Err(e) => {
                if first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(Outcome { containers })
}

/// Waits until `dep`'s containers meet `condition`.
async fn wait_condition(
    client: &mut Client,
    project: &Project,
    dep: &str,
    condition: Condition,
) -> client::Result<()> {
    if condition == Condition::ServiceStarted {
        return Ok(());
    }
    let list = state::of_services(
        state::containers(client, &project.name, true).await?,
        &[dep.to_string()],
        false,
    );
    for c in list {
        match condition {
            Condition::ServiceHealthy => loop {
                let info = client
                    .get_json(&format!("/containers/{}/json", c.id))
                    .await?;
                let health = info
                    .pointer("/State/Health/Status")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                match health.as_deref() {
                    Some("healthy") => {
                        event("Container", &c.name, "Healthy");
                        break;
                    }
                    Some("unhealthy") => {
                        return Err(other(format!(
                            "dependency failed to start: container {} is unhealthy",
                            c.name
                        )))
                    }
                    Some(_) => {}
                    None => {
                        return Err(other(format!(
                        "dependency failed to start: container {} has no healthcheck configured",
                        c.name
                    )))
                    }
                }
                if info.pointer("/State/Running").and_then(Value::as_bool) == Some(false) {
                    return Err(other(format!(
                        "dependency failed to start: container {} exited",
                        c.name
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            },
            Condition::ServiceCompletedSuccessfully => {
                let answer = client
                    .post_json(
                        &format!("/containers/{}/wait?condition=not-running", c.id),
                        None,
                    )
                    .await?;
                let code = answer
                    .get("StatusCode")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                if code != 0 {
                    return Err(other(format!(
                        "service \"{dep}\" didn't complete successfully: exit {code}"
                    )));
                }
                event("Container", &c.name, "Exited");
            }
            Condition::ServiceStarted => {}
        }
    }
    Ok(())
}

/// Creates, recreates and removes the service's containers to match the file, without
/// starting anything; says which containers to start.
async fn prepare_service(
    client: &mut Client,
    project: &Project,
    service: &Service,
    mut mine: Vec<Container>,
    service_containers: &BTreeMap<String, String>,
    image_id: &str,
    options: &Options,
) -> client::Result<Vec<(Container, bool)>> {
    let hash = config_hash(service);
    let scale = options
        .scale
        .get(&service.name)
        .copied()
        .unwrap_or(service.scale);
    if scale > 1 && service.container_name.is_some() {
        return Err(other(format!(
            "services.{}: can't set container_name and scale the service to {scale}",
            service.name
        )));
    }
    let timeout = stop_timeout(Some(service), options.timeout);
    mine.sort_by_key(|c| c.number);
    // Scale down: the highest numbers go first.
    while mine.len() > scale as usize {
        let c = mine.pop().expect("non-empty");
        stop_container(client, &c, timeout).await?;
        remove_container(client, &c, false).await?;
    }
    let instance = |name: String, number: u32| Instance {
        project,
        service,
        name,
        number,
        oneoff: false,
        image_id: image_id.to_string(),
        service_containers: service_containers.clone(),
    };
    let mut out = Vec::new();
    for c in mine.iter() {
        let changed = c.hash != hash || (!c.image_label.is_empty() && c.image_label != *image_id);
        let recreate = !options.no_recreate && (options.force_recreate || changed);
        if recreate {
            event("Container", &c.name, "Recreate");
            stop_container(client, c, timeout).await?;
            remove_container(client, c, false).await?;
            let new = create_container(client, &instance(c.name.clone(), c.number), &hash).await?;
            event("Container", &c.name, "Recreated");
            out.push((new, true));
        } else {
            out.push((c.clone(), !c.running()));
        }
    }
    let taken: BTreeSet<u32> = mine.iter().map(|c| c.number).collect();
    let mut number = 0;
    while out.len() < scale as usize {
        number += 1;
        if taken.contains(&number) {
            continue;
        }
        let name = create::container_name(&project.name, service, number);
        event("Container", &name, "Creating");
        let new = create_container(client, &instance(name.clone(), number), &hash).await?;
        event("Container", &name, "Created");
        out.push((new, true));
    }
    Ok(out)
}

/// Starts what `prepare_service` said (replicas at once), unless `--no-start`.
async fn start_prepared(
    client: &Client,
    prepared: Vec<(Container, bool)>,
    options: &Options,
) -> client::Result<Vec<Container>> {
    if !options.no_start {
        let starts = prepared.iter().map(|(c, start)| {
            let mut client = client.sibling();
            async move {
                if *start {
                    start_container(&mut client, c).await
                } else {
                    event("Container", &c.name, "Running");
                    Ok(())
                }
            }
        });
        for r in join_all(starts).await {
            r?;
        }
    }
    Ok(prepared.into_iter().map(|(c, _)| c).collect())
}

async fn create_container(
    client: &mut Client,
    i: &Instance<'_>,
    hash: &str,
) -> client::Result<Container> {
    let body = create::body(i, hash);
    let answer = client
        .post_json(
            &format!("/containers/create?name={}", encode(&i.name)),
            Some(&body),
        )
        .await?;
    let id = answer
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Ok(Container {
        id,
        name: i.name.clone(),
        service: i.service.name.clone(),
        number: i.number,
        oneoff: i.oneoff,
        hash: hash.to_string(),
        image_label: i.image_id.clone(),
        state: "created".into(),
        summary: Value::Null,
    })
}

pub async fn start_container(client: &mut Client, c: &Container) -> client::Result<()> {
    event("Container", &c.name, "Starting");
    post_allow_not_modified(client, &format!("/containers/{}/start", c.id)).await?;
    event("Container", &c.name, "Started");
    Ok(())
}

pub async fn stop_container(
    client: &mut Client,
    c: &Container,
    timeout: i64,
) -> client::Result<()> {
    if !c.running() && c.state != "paused" {
        return Ok(());
    }
    event("Container", &c.name, "Stopping");
    match post_allow_not_modified(client, &format!("/containers/{}/stop?t={timeout}", c.id)).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e),
    }
    event("Container", &c.name, "Stopped");
    Ok(())
}

pub async fn remove_container(
    client: &mut Client,
    c: &Container,
    volumes: bool,
) -> client::Result<()> {
    event("Container", &c.name, "Removing");
    let response = client
        .send(
            http::Method::DELETE,
            &format!("/containers/{}?force=1&v={}", c.id, u8::from(volumes)),
            None,
            None,
        )
        .await?;
    match Client::check(response).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e),
    }
    event("Container", &c.name, "Removed");
    Ok(())
}

/// Whether a container label says it belongs to a service of the file.
pub fn orphans(project: &Project, list: &[Container]) -> Vec<Container> {
    list.iter()
        .filter(|c| {
            !c.oneoff
                && !project.services.contains_key(&c.service)
                && !project.disabled.contains_key(&c.service)
        })
        .cloned()
        .collect()
}

pub fn label_of(c: &Container, key: &str) -> String {
    c.summary
        .get("Labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}
