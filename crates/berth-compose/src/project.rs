//! Loading a project: files → environment → YAML → interpolation → merge → model, then
//! the checks across services (references to networks, volumes and services, cycles).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::dotenv::{self, Env};
use crate::error::{invalid, Error, Result};
use crate::files::{default_project_name, find_files, normalize_project_name};
use crate::interpolate::{self, Lookup};
use crate::model::{Ipam, IpamPool, MountType, Network, Project, Volume};
use crate::values::{bool_value, check_keys, object, opt_string, string_map};
use crate::{graph, merge, service, yaml};

/// What the command line says about the project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in order (`-` is not supported).
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    /// The working directory the command runs in.
    pub working_dir: PathBuf,
    /// The process environment.
    pub os_env: BTreeMap<String, String>,
}

struct Vars<'a> {
    env: &'a Env,
    warnings: RefCell<BTreeSet<String>>,
}

impl Lookup for Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn warn_unset(&self, name: &str) {
        self.warnings.borrow_mut().insert(format!(
            "The \"{name}\" variable is not set. Defaulting to a blank string."
        ));
    }
}

/// The loaded project and the warnings met on the way (unset variables).
pub fn load(options: &LoadOptions) -> Result<(Project, Vec<String>)> {
    let cwd = &options.working_dir;
    // `.env` of the working (or project) folder may set COMPOSE_FILE and friends.
    let env_dir = options
        .project_directory
        .as_ref()
        .map(|d| crate::values::absolute(cwd, &d.display().to_string()))
        .unwrap_or_else(|| cwd.clone());
    let mut env = read_env_files(options, &env_dir)?;
    let files: Vec<PathBuf> = if !options.files.is_empty() {
        options
            .files
            .iter()
            .map(|f| crate::values::absolute(cwd, &f.display().to_string()))
            .collect()
    } else if let Some(list) = env.get("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        let separator = env
            .get("COMPOSE_PATH_SEPARATOR")
            .cloned()
            .unwrap_or_else(|| ":".into());
        list.split(separator.as_str())
            .map(|f| crate::values::absolute(&env_dir, f))
            .collect()
    } else {
        find_files(&env_dir)?
    };
    let project_dir = match &options.project_directory {
        Some(_) => env_dir.clone(),
        None => files[0]
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.clone()),
    };
    if project_dir != env_dir && options.env_files.is_empty() {
        env = read_env_files(options, &project_dir)?;
    }
    let vars = Vars {
        env: &env,
        warnings: RefCell::new(BTreeSet::new()),
    };
    let mut merged: Option<Value> = None;
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
        let mut tree = yaml::parse(file, &text)?;
        let tree = shape(&mut tree, file)?;
        interpolate::tree(tree, "", &vars)?;
        let tree = std::mem::take(tree);
        match &mut merged {
            None => merged = Some(tree),
            Some(base) => merge::files(base, tree),
        }
    }
    let merged = merged.unwrap_or(Value::Object(Map::new()));
    let top = object(&merged, "(root)")?;
    check_keys(
        top,
        &[
            "version", "name", "services", "networks", "volumes", "secrets", "configs", "include",
        ],
        "(root)",
    )?;
    if top.contains_key("include") {
        return Err(invalid(
            "(root)",
            "include is not supported by berth compose",
        ));
    }
    let name = match options.project_name.clone().or_else(|| {
        env.get("COMPOSE_PROJECT_NAME")
            .cloned()
            .filter(|n| !n.is_empty())
    }) {
        Some(n) => n,
        None => match opt_string(top.get("name"), "name")? {
            Some(n) => n,
            None => default_project_name(&project_dir),
        },
    };
    let normalized = normalize_project_name(&name);
    if normalized.is_empty() || normalized != name.to_lowercase() && options.project_name.is_some()
    {
        return Err(invalid(
            "project name",
            format!("{name:?} must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit"),
        ));
    }
    let name = normalized;

    let mut services = BTreeMap::new();
    let ctx = service::Context {
        base: &project_dir,
        env: &env,
    };
    if let Some(list) = top.get("services").filter(|v| !v.is_null()) {
        for (service_name, value) in object(list, "services")? {
            service::check_name(service_name)?;
            services.insert(
                service_name.clone(),
                service::parse(service_name, value, &ctx)?,
            );
        }
    }
    let mut networks = BTreeMap::new();
    if let Some(list) = top.get("networks").filter(|v| !v.is_null()) {
        for (key, value) in object(list, "networks")? {
            networks.insert(key.clone(), parse_network(&name, key, value)?);
        }
    }
    let mut volumes = BTreeMap::new();
    if let Some(list) = top.get("volumes").filter(|v| !v.is_null()) {
        for (key, value) in object(list, "volumes")? {
            volumes.insert(key.clone(), parse_volume(&name, key, value)?);
        }
    }

    let mut profiles: BTreeSet<String> = options.profiles.iter().cloned().collect();
    if let Some(list) = env.get("COMPOSE_PROFILES") {
        profiles.extend(
            list.split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    }
    let (enabled, disabled): (BTreeMap<_, _>, BTreeMap<_, _>) =
        services.into_iter().partition(|(_, s)| {
            s.profiles.is_empty() || s.profiles.iter().any(|p| profiles.contains(p) || p == "*")
        });
    let mut services = enabled;

    // Services without networks join `default`, which exists implicitly.
    for s in services.values_mut() {
        if s.network_mode.is_none() && s.networks.is_empty() {
            s.networks.insert("default".into(), Default::default());
        }
    }
    if services
        .values()
        .any(|s| s.networks.contains_key("default"))
        && !networks.contains_key("default")
    {
        networks.insert(
            "default".into(),
            Network {
                name: format!("{name}_default"),
                ..Network::default()
            },
        );
    }
    check_references(&services, &disabled, &networks, &volumes)?;
    graph::check_cycles(&services)?;
    let warnings = vars.warnings.into_inner().into_iter().collect();
    Ok((
        Project {
            name,
            working_dir: project_dir,
            config_files: files,
            services,
            networks,
            volumes,
            disabled,
        },
        warnings,
    ))
}

/// `--env-file` files, else `<dir>/.env` when present, under the process environment
/// (which wins, as in Compose).
fn read_env_files(options: &LoadOptions, dir: &Path) -> Result<Env> {
    let mut env = Env::new();
    let os = &options.os_env;
    let lookup = |k: &str| os.get(k).cloned();
    let files: Vec<PathBuf> = if options.env_files.is_empty() {
        let default = dir.join(".env");
        if default.is_file() {
            vec![default]
        } else {
            Vec::new()
        }
    } else {
        options
            .env_files
            .iter()
            .map(|f| crate::values::absolute(&options.working_dir, &f.display().to_string()))
            .collect()
    };
    for file in files {
        for (k, v) in dotenv::read(&file, &lookup)? {
            if let Some(v) = v {
                env.insert(k, v);
            }
        }
    }
    for (k, v) in os {
        env.insert(k.clone(), v.clone());
    }
    Ok(env)
}

/// Turns a version-1 file (services at the top level) into the current layout and
/// returns the tree to work on.
fn shape<'a>(tree: &'a mut Value, file: &Path) -> Result<&'a mut Value> {
    if tree.is_null() {
        *tree = Value::Object(Map::new());
    }
    let Value::Object(map) = tree else {
        return Err(Error::Yaml {
            path: file.to_path_buf(),
            message: "the top level must be a mapping".into(),
        });
    };
    let current = [
        "version", "services", "name", "networks", "volumes", "secrets", "configs", "include",
    ];
    let v1 = !map.is_empty()
        && map
            .keys()
            .all(|k| !current.contains(&k.as_str()) && !k.starts_with("x-"));
    if v1 {
        let services = std::mem::take(map);
        map.insert("services".into(), Value::Object(services));
    }
    Ok(tree)
}

fn parse_network(project: &str, key: &str, value: &Value) -> Result<Network> {
    let place = format!("networks.{key}");
    let empty = Map::new();
    let map = match value {
        Value::Null => &empty,
        other => object(other, &place)?,
    };
    check_keys(
        map,
        &[
            "name",
            "driver",
            "driver_opts",
            "external",
            "internal",
            "attachable",
            "enable_ipv6",
            "ipam",
            "labels",
        ],
        &place,
    )?;
    let (external, external_name) = external(map.get("external"), &place)?;
    let given = opt_string(map.get("name"), &format!("{place}.name"))?.or(external_name);
    let mut network = Network {
        name: given.unwrap_or_else(|| {
            if external {
                key.to_string()
            } else {
                format!("{project}_{key}")
            }
        }),
        driver: opt_string(map.get("driver"), &place)?,
        driver_opts: string_map(map.get("driver_opts"), &format!("{place}.driver_opts"))?,
        external,
        internal: bool_value(map.get("internal"), &place)?.unwrap_or(false),
        attachable: bool_value(map.get("attachable"), &place)?.unwrap_or(false),
        enable_ipv6: bool_value(map.get("enable_ipv6"), &place)?.unwrap_or(false),
        ipam: None,
        labels: string_map(map.get("labels"), &format!("{place}.labels"))?,
    };
    if let Some(ipam) = map.get("ipam") {
        let at = format!("{place}.ipam");
        let ipam = object(ipam, &at)?;
        check_keys(ipam, &["driver", "config", "options"], &at)?;
        let mut out = Ipam {
            driver: opt_string(ipam.get("driver"), &at)?,
            config: Vec::new(),
        };
        if let Some(Value::Array(pools)) = ipam.get("config") {
            for (i, pool) in pools.iter().enumerate() {
                let at = format!("{at}.config[{i}]");
                let pool = object(pool, &at)?;
                check_keys(
                    pool,
                    &["subnet", "ip_range", "gateway", "aux_addresses"],
                    &at,
                )?;
                out.config.push(IpamPool {
                    subnet: opt_string(pool.get("subnet"), &at)?,
                    ip_range: opt_string(pool.get("ip_range"), &at)?,
                    gateway: opt_string(pool.get("gateway"), &at)?,
                });
            }
        }
        network.ipam = Some(out);
    }
    Ok(network)
}

fn parse_volume(project: &str, key: &str, value: &Value) -> Result<Volume> {
    let place = format!("volumes.{key}");
    let empty = Map::new();
    let map = match value {
        Value::Null => &empty,
        other => object(other, &place)?,
    };
    check_keys(
        map,
        &["name", "driver", "driver_opts", "external", "labels"],
        &place,
    )?;
    let (external, external_name) = external(map.get("external"), &place)?;
    let given = opt_string(map.get("name"), &format!("{place}.name"))?.or(external_name);
    Ok(Volume {
        name: given.unwrap_or_else(|| {
            if external {
                key.to_string()
            } else {
                format!("{project}_{key}")
            }
        }),
        driver: opt_string(map.get("driver"), &place)?,
        driver_opts: string_map(map.get("driver_opts"), &format!("{place}.driver_opts"))?,
        external,
        labels: string_map(map.get("labels"), &format!("{place}.labels"))?,
    })
}

/// `external: true` or the old `external: {name: x}`.
fn external(value: Option<&Value>, place: &str) -> Result<(bool, Option<String>)> {
    match value {
        Some(Value::Object(m)) => {
            check_keys(m, &["name"], &format!("{place}.external"))?;
            Ok((true, opt_string(m.get("name"), place)?))
        }
        other => Ok((
            bool_value(other, &format!("{place}.external"))?.unwrap_or(false),
            None,
        )),
    }
}

fn check_references(
    services: &BTreeMap<String, crate::model::Service>,
    disabled: &BTreeMap<String, crate::model::Service>,
    networks: &BTreeMap<String, Network>,
    volumes: &BTreeMap<String, Volume>,
) -> Result<()> {
    for (name, s) in services {
        for network in s.networks.keys() {
            if !networks.contains_key(network) {
                return Err(invalid(
                    format!("service {name:?}"),
                    format!("refers to undefined network {network}"),
                ));
            }
        }
        for mount in &s.volumes {
            if let (MountType::Volume, Some(source)) = (mount.kind, &mount.source) {
                if !volumes.contains_key(source) {
                    return Err(invalid(
                        format!("service {name:?}"),
                        format!("refers to undefined volume {source}"),
                    ));
                }
            }
        }
        for dep in graph::dependencies(s) {
            if !services.contains_key(&dep) {
                let why = if disabled.contains_key(&dep) {
                    "which is disabled by its profiles"
                } else {
                    "which is not defined"
                };
                if s.depends_on.get(&dep).is_some_and(|d| !d.required) {
                    continue;
                }
                return Err(invalid(
                    format!("service {name:?}"),
                    format!("depends on service {dep:?}, {why}"),
                ));
            }
        }
    }
    Ok(())
}
