//! `compose config`: the resolved model as YAML (or one of its lists).

use clap::Args;

use super::project::Options;
use crate::client::{self, ClientError};

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the service names, one per line
    #[arg(long = "services")]
    pub services: bool,
    /// Print the volume names, one per line
    #[arg(long = "volumes")]
    pub volumes: bool,
    /// Print the network names, one per line
    #[arg(long = "networks")]
    pub networks: bool,
    /// Print the profile names, one per line
    #[arg(long = "profiles")]
    pub profiles: bool,
    /// Print the image names, one per line
    #[arg(long = "images")]
    pub images: bool,
    /// Print the service config hash, one per line ("*" for all)
    #[arg(long = "hash", value_name = "string")]
    pub hash: Option<String>,
    /// Only validate the configuration, don't print anything
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Format the output. Values: [yaml | json]
    #[arg(long = "format", value_name = "string", default_value = "yaml")]
    pub format: String,
    /// Save to file (default to stdout)
    #[arg(short = 'o', long = "output", value_name = "string")]
    pub output: Option<std::path::PathBuf>,
    pub service_names: Vec<String>,
}

pub fn run(options: &Options, args: ConfigArgs) -> client::Result<u8> {
    let mut loaded = options.load()?;
    if !args.service_names.is_empty() {
        let keep = loaded.select(&args.service_names)?;
        let keep = loaded.with_dependencies(&keep);
        loaded
            .project
            .services
            .retain(|name, _| keep.contains(name));
    }
    let project = &loaded.project;
    let mut out = String::new();
    if args.services {
        for name in project.services.keys() {
            out.push_str(name);
            out.push('\n');
        }
    } else if args.volumes {
        for name in project.volumes.keys() {
            out.push_str(name);
            out.push('\n');
        }
    } else if args.networks {
        for name in project.networks.keys() {
            out.push_str(name);
            out.push('\n');
        }
    } else if args.profiles {
        let mut all: Vec<&String> = project
            .services
            .values()
            .chain(project.disabled.values())
            .flat_map(|s| s.profiles.iter())
            .collect();
        all.sort();
        all.dedup();
        for p in all {
            out.push_str(p);
            out.push('\n');
        }
    } else if args.images {
        for s in project.services.values() {
            out.push_str(&s.image_name(&project.name));
            out.push('\n');
        }
    } else if let Some(which) = &args.hash {
        for (name, s) in &project.services {
            if which == "*" || which.split(',').any(|w| w == name) {
                out.push_str(&format!("{name} {}\n", berth_compose::config_hash(s)));
            }
        }
    } else if args.quiet {
        return Ok(0);
    } else if args.format == "json" {
        out = serde_json::to_string_pretty(project).map_err(|e| ClientError::Other(e.into()))?;
        out.push('\n');
    } else {
        out = serde_yaml::to_string(project).map_err(|e| ClientError::Other(e.into()))?;
    }
    match &args.output {
        Some(path) => std::fs::write(path, out)
            .map_err(|e| ClientError::Other(anyhow::anyhow!("{}: {e}", path.display())))?,
        None => print!("{out}"),
    }
    Ok(0)
}
