//! Loading the project for a command: the global flags turned into `LoadOptions`, the
//! model loaded (warnings printed), and service names from the command line checked.

use std::collections::BTreeSet;
use std::path::PathBuf;

use berth_compose::{LoadOptions, Project, Service};

use super::ComposeArgs;
use crate::client::{self, ClientError};

#[derive(Debug, Clone)]
pub struct Options {
    pub load: LoadOptions,
    /// Whether output may use colours.
    pub ansi: Option<bool>,
}

impl Options {
    pub fn from_args(args: &ComposeArgs) -> Options {
        let working_dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let os_env = std::env::vars().collect();
        Options {
            load: LoadOptions {
                files: args.files.clone(),
                project_name: args.project_name.clone(),
                project_directory: args.project_directory.clone(),
                env_files: args.env_file.clone(),
                profiles: args.profile.clone(),
                working_dir,
                os_env,
            },
            ansi: match args.ansi.as_str() {
                "never" => Some(false),
                "always" => Some(true),
                _ => None,
            },
        }
    }

    /// Colours when asked, or when stdout is a terminal and NO_COLOR is unset.
    pub fn colours(&self) -> bool {
        self.ansi.unwrap_or_else(|| {
            std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none()
        })
    }

    /// Loads the project (printing warnings about unset variables).
    pub fn load(&self) -> client::Result<Loaded> {
        let (project, warnings) = berth_compose::load(&self.load).map_err(model_error)?;
        for w in warnings {
            eprintln!("WARN[0000] {w}");
        }
        Ok(Loaded { project })
    }

    /// The project name without reading files when `-p` or COMPOSE_PROJECT_NAME says it
    /// (commands such as `down` and `ps` work from labels); else from the files.
    pub fn project_name(&self) -> client::Result<String> {
        if let Some(name) = &self.load.project_name {
            return Ok(berth_compose::normalize_project_name(name));
        }
        Ok(self.load()?.project.name)
    }
}

pub fn model_error(e: berth_compose::Error) -> ClientError {
    ClientError::Other(anyhow::anyhow!("{e}"))
}

pub struct Loaded {
    pub project: Project,
}

impl Loaded {
    /// Services named on the command line (all when none), refusing unknown names.
    /// A service disabled by its profiles is enabled when named explicitly.
    pub fn select(&mut self, names: &[String]) -> client::Result<Vec<String>> {
        if names.is_empty() {
            return Ok(self.project.services.keys().cloned().collect());
        }
        for name in names {
            if !self.project.services.contains_key(name) {
                match self.project.disabled.remove(name) {
                    Some(mut s) => {
                        if s.network_mode.is_none() && s.networks.is_empty() {
                            s.networks.insert("default".into(), Default::default());
                        }
                        self.project.services.insert(name.clone(), s);
                    }
                    None => {
                        return Err(ClientError::Other(anyhow::anyhow!(
                            "no such service: {name}"
                        )))
                    }
                }
            }
        }
        Ok(names.to_vec())
    }

    /// `names` and every service they depend on, transitively.
    pub fn with_dependencies(&self, names: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = names.to_vec();
        while let Some(name) = todo.pop() {
            if !out.insert(name.clone()) {
                continue;
            }
            if let Some(s) = self.project.services.get(&name) {
                todo.extend(berth_compose::dependencies(s));
            }
        }
        out.retain(|n| self.project.services.contains_key(n));
        out
    }

    pub fn service(&self, name: &str) -> client::Result<&Service> {
        self.project
            .services
            .get(name)
            .ok_or_else(|| ClientError::Other(anyhow::anyhow!("no such service: {name}")))
    }

    /// Whether `name` is a service of the file (enabled or not).
    pub fn knows(&self, name: &str) -> bool {
        self.project.services.contains_key(name) || self.project.disabled.contains_key(name)
    }
}
