//! `compose run`: a one-off container of a service (`<project>-<service>-run-<hex>`,
//! labelled `oneoff=True`), its dependencies brought up first, attached like `berth run`.

use clap::Args;
use serde_json::{json, Map, Value};

use super::convergence::{self, Options as ConvergeOptions};
use super::create::{self, Instance};
use super::project::Options;
use super::resources;
use crate::client::{self, ClientError};
use crate::commands::container::opts::{ContainerSpec, PullPolicy};
use crate::commands::container::run::run_spec;
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long = "rm")]
    pub rm: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "stringArray")]
    pub env: Vec<String>,
    /// Add or override a label
    #[arg(short = 'l', long = "label", value_name = "stringArray")]
    pub label: Vec<String>,
    /// Override the entrypoint of the image
    #[arg(long = "entrypoint", value_name = "string")]
    pub entrypoint: Option<String>,
    /// Assign a name to the container
    #[arg(long = "name", value_name = "string")]
    pub name: Option<String>,
    /// Run as specified username or uid
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Disable pseudo-TTY allocation (default: auto-detected)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive", default_value_t = true)]
    pub interactive: bool,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish", value_name = "stringArray")]
    pub publish: Vec<String>,
    /// Run command with all service's ports enabled and mapped to the host
    #[arg(long = "service-ports")]
    pub service_ports: bool,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Build image before starting container
    #[arg(long = "build")]
    pub build: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Use the service's network aliases in the network(s) the container connects to
    #[arg(long = "use-aliases")]
    pub use_aliases: bool,
    /// Pull without printing progress information
    #[arg(long = "quiet-pull")]
    pub quiet_pull: bool,
    /// SERVICE [COMMAND] [ARGS...]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "SERVICE"
    )]
    pub args: Vec<String>,
}

fn other(message: String) -> ClientError {
    ClientError::Other(anyhow::anyhow!(message))
}

/// 12 hex digits that differ between runs.
fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    let mixed = mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{:012x}", mixed & 0xffff_ffff_ffff)
}

pub async fn run(ctx: &mut Context, options: &Options, args: RunArgs) -> client::Result<u8> {
    let service_name = args.args[0].clone();
    let command = &args.args[1..];
    let mut loaded = options.load()?;
    loaded.select(std::slice::from_ref(&service_name))?;
    let mut deps = loaded.with_dependencies(std::slice::from_ref(&service_name));
    deps.remove(&service_name);
    let order: Vec<String> = berth_compose::start_order(&loaded.project.services)
        .map_err(super::project::model_error)?
        .into_iter()
        .filter(|s| deps.contains(s))
        .collect();
    let project = &loaded.project;
    let mut all = order.clone();
    all.push(service_name.clone());
    resources::ensure_networks(&mut ctx.client, project, &all).await?;
    resources::ensure_volumes(&mut ctx.client, project, &all).await?;
    let converge = ConvergeOptions {
        build: args.build,
        quiet_pull: args.quiet_pull,
        no_recreate: true,
        ..ConvergeOptions::default()
    };
    if !args.no_deps && !order.is_empty() {
        let ids = convergence::ensure_images(ctx, project, &order, &converge).await?;
        convergence::converge(ctx, project, &order, &ids, &converge).await?;
    }
    let ids =
        convergence::ensure_images(ctx, project, std::slice::from_ref(&service_name), &converge)
            .await?;
    let service = loaded.service(&service_name)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-run-{}", project.name, service.name, run_suffix()));
    let instance = Instance {
        project,
        service,
        name: name.clone(),
        number: 1,
        oneoff: true,
        image_id: ids.get(&service_name).cloned().unwrap_or_default(),
        service_containers: project
            .services
            .values()
            .map(|s| (s.name.clone(), create::container_name(&project.name, s, 1)))
            .collect(),
    };
    let hash = berth_compose::config_hash(service);
    let Value::Object(mut config) = create::body(&instance, &hash) else {
        return Err(other("internal error: create body is not an object".into()));
    };
    let mut host: Map<String, Value> = match config.remove("HostConfig") {
        Some(Value::Object(h)) => h,
        _ => Map::new(),
    };
    let mut networking = config.remove("NetworkingConfig").unwrap_or(Value::Null);
    if args.use_aliases {
        if let Some(Value::Object(eps)) = networking.get_mut("EndpointsConfig") {
            for ep in eps.values_mut() {
                let mut aliases = vec![json!(service.name)];
                aliases.extend(
                    service
                        .networks
                        .values()
                        .flat_map(|n| n.aliases.iter().map(|a| json!(a))),
                );
                ep["Aliases"] = Value::Array(aliases);
            }
        }
    }
    if !command.is_empty() {
        config.insert("Cmd".into(), json!(command));
    }
    if let Some(e) = &args.entrypoint {
        let words = berth_compose::shell_split(e)
            .ok_or_else(|| other(format!("invalid --entrypoint {e:?}")))?;
        config.insert("Entrypoint".into(), json!(words));
        if command.is_empty() {
            config.insert("Cmd".into(), Value::Null);
        }
    }
    if !args.env.is_empty() {
        let mut env: Vec<Value> = config
            .get("Env")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for e in &args.env {
            let e = if e.contains('=') {
                e.clone()
            } else {
                match std::env::var(e) {
                    Ok(v) => format!("{e}={v}"),
                    Err(_) => continue,
                }
            };
            let key = e.split('=').next().unwrap_or("").to_string();
            env.retain(|x| x.as_str().and_then(|s| s.split('=').next()) != Some(key.as_str()));
            env.push(json!(e));
        }
        config.insert("Env".into(), Value::Array(env));
    }
    if let Some(Value::Object(labels)) = config.get_mut("Labels") {
        for l in &args.label {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            labels.insert(k.to_string(), json!(v));
        }
    }
    if let Some(u) = &args.user {
        config.insert("User".into(), json!(u));
    }
    if let Some(w) = &args.workdir {
        config.insert("WorkingDir".into(), json!(w));
    }
    let tty = !args.no_tty && std::io::IsTerminal::is_terminal(&std::io::stdin()) && !args.detach;
    let interactive = args.interactive && !args.detach;
    config.insert("Tty".into(), json!(tty || service.tty && !args.no_tty));
    config.insert("OpenStdin".into(), json!(interactive || service.stdin_open));
    config.insert("AttachStdin".into(), json!(interactive));
    config.insert("StdinOnce".into(), json!(interactive));
    config.insert("AttachStdout".into(), json!(!args.detach));
    config.insert("AttachStderr".into(), json!(!args.detach));
    // One-off containers publish ports only when asked, and never restart.
    if !args.service_ports {
        host.insert("PortBindings".into(), json!({}));
    }
    if !args.publish.is_empty() {
        let (exposed, bindings) = crate::commands::container::parse::ports(&args.publish, &[])
            .map_err(|e| other(format!("invalid --publish: {e}")))?;
        host.insert("PortBindings".into(), json!(bindings));
        let mut all_exposed: Map<String, Value> = config
            .get("ExposedPorts")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        all_exposed.extend(exposed);
        config.insert("ExposedPorts".into(), Value::Object(all_exposed));
    }
    host.remove("RestartPolicy");
    host.insert("AutoRemove".into(), json!(args.rm));
    let spec = ContainerSpec {
        name: Some(name),
        image: service.image_name(&project.name),
        platform: None,
        pull: PullPolicy::Never,
        quiet: true,
        cidfile: None,
        config,
        host_config: host,
        networking,
        explicit_attach: false,
    };
    run_spec(ctx, spec, args.detach, true, None).await
}
