//! `POST /containers/create`: validate, merge the image's defaults, record.

use std::collections::BTreeMap;

use berth_api::types::container::{CreateRequest, CreateResponse, RestartPolicy};
use berth_api::ApiError;

use super::record::{Record, State, ZERO_TIME};
use super::{container_dirs, names, now_rfc3339, Container};
use crate::Engine;

/// Docker refuses smaller memory limits: the runtime itself needs some.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

impl Engine {
    pub async fn container_create(
        &self,
        name: Option<&str>,
        mut request: CreateRequest,
    ) -> Result<CreateResponse, ApiError> {
        validate_host_config(&request)?;
        let image_name = request.config.image.clone();
        if image_name.is_empty() {
            return Err(ApiError::invalid(
                "No image specified: config.Image is empty",
            ));
        }
        let store = self.image_store();
        let lookup = image_name.clone();
        let image = crate::images::blocking(move || {
            store.resolve(&lookup).map_err(|e| match e.kind() {
                berth_api::ErrorKind::NotFound => {
                    ApiError::not_found(format!("No such image: {}", familiar_with_tag(&lookup)))
                }
                _ => e.into(),
            })
        })
        .await?;
        merge_image_defaults(&mut request, &image.config);
        let (path, args) = command_line(&request)?;
        // Every mount is checked before anything (a volume, a name) is created.
        let mount_plan = crate::volumes::mounts::plan(&request, &self.containers)?;

        let engine_config = self.config();
        let log = request
            .host_config
            .log_config
            .get_or_insert_with(Default::default);
        // As dockerd: the daemon's driver when none is given, and the daemon's options
        // for keys the container does not set when the drivers agree.
        if log.kind.is_empty() {
            log.kind = engine_config.log_driver.clone();
        }
        if log.kind == engine_config.log_driver {
            for (key, value) in &engine_config.log_opts {
                log.config
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
            }
        }
        validate_log_config(log)?;
        match request.host_config.network_mode.as_str() {
            "" | "default" | "bridge" | "host" | "none" => {}
            mode if mode.starts_with("container:") => {}
            network => {
                self.networks.get(network)?;
            }
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => {
                let name = names::validate(n)?;
                self.containers.reserve_name(&name, &id)?;
                name
            }
            None => self.generated_name(&id),
        };
        if request.host_config.network_mode.is_empty() {
            request.host_config.network_mode = "bridge".into();
        }
        let links = match super::links::resolve(
            &self.containers,
            &request.host_config.network_mode,
            request.host_config.links.as_deref().unwrap_or_default(),
        ) {
            Ok(links) => links,
            Err(e) => {
                self.containers.release_name(&name);
                return Err(e);
            }
        };
        if request.config.hostname.is_empty() && !is_host_mode(&request.host_config.network_mode) {
            request.config.hostname = id[..12].to_string();
        }
        let (dir, state_dir) =
            container_dirs(&engine_config.data_root, &engine_config.exec_root, &id);
        let mount_points = match self.volumes_attach(&id, mount_plan) {
            Ok(mounts) => mounts,
            Err(e) => {
                self.containers.release_name(&name);
                return Err(e);
            }
        };
        let record = Record {
            log_path: dir.join(format!("{id}-json.log")),
            id: id.clone(),
            name: name.clone(),
            created: now_rfc3339(),
            image_name,
            image_id: image.id.as_str().to_string(),
            path,
            args,
            config: request.config,
            host_config: request.host_config,
            networking_config: request.networking_config,
            state: State {
                started_at: ZERO_TIME.into(),
                finished_at: ZERO_TIME.into(),
                ..State::default()
            },
            mount_points,
            links,
        };
        let prepared = std::fs::create_dir_all(dir.join("upper"))
            .and_then(|()| std::fs::create_dir_all(dir.join("work")))
            .and_then(|()| std::fs::create_dir_all(dir.join("rootfs")))
            .and_then(|()| record.save(&dir));
        if let Err(e) = prepared {
            let _ = std::fs::remove_dir_all(&dir);
            self.volumes_detach(&id, &record.mount_points, true);
            self.containers.release_name(&name);
            return Err(ApiError::system(format!("creating container {id}: {e}")));
        }
        let container = Container::new(record, dir, state_dir);
        self.containers.insert(container.clone());
        self.container_event(&container.snapshot(), "create", &[]);
        Ok(CreateResponse {
            id,
            warnings: Vec::new(),
        })
    }

    fn generated_name(&self, id: &str) -> String {
        for attempt in 0..10 {
            let name = format!("/{}", names::generate(attempt));
            if self.containers.reserve_name(&name, id).is_ok() {
                return name;
            }
        }
        let name = format!("/{}", &id[..12]);
        let _ = self.containers.reserve_name(&name, id);
        name
    }

    /// Publishes a container event with docker's attributes: image, name, the
    /// container's labels, plus `extra`.
    pub(crate) fn container_event(&self, record: &Record, action: &str, extra: &[(&str, String)]) {
        let mut attributes: BTreeMap<String, String> =
            record.config.labels.clone().unwrap_or_default();
        attributes.insert("image".into(), record.image_name.clone());
        attributes.insert("name".into(), record.bare_name().to_string());
        for (k, v) in extra {
            attributes.insert((*k).to_string(), v.clone());
        }
        self.events
            .publish("container", action, &record.id, attributes);
    }
}

fn is_host_mode(network_mode: &str) -> bool {
    network_mode == "host"
}

/// `busybox` → `busybox:latest`, as moby names a missing image.
fn familiar_with_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// The logging driver and its options, with docker's messages (`ValidateLogOpt`).
fn validate_log_config(log: &berth_api::types::container::LogConfig) -> Result<(), ApiError> {
    match log.kind.as_str() {
        "json-file" | "none" | "local" => Ok(()),
        "syslog" => validate_syslog_opts(&log.config).map_err(ApiError::invalid),
        other => Err(ApiError::invalid(format!(
            "failed to create container: logging driver \"{other}\" is not supported; use json-file, syslog or none"
        ))),
    }
}

/// dockerd's syslog option checks: known keys, the address (a unix socket must exist),
/// the facility and the format.
fn validate_syslog_opts(config: &BTreeMap<String, String>) -> Result<(), String> {
    const KEYS: &[&str] = &[
        "env",
        "env-regex",
        "labels",
        "labels-regex",
        "syslog-address",
        "syslog-facility",
        "syslog-tls-ca-cert",
        "syslog-tls-cert",
        "syslog-tls-key",
        "syslog-tls-skip-verify",
        "tag",
        "syslog-format",
    ];
    if let Some(key) = config.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown log opt '{key}' for syslog log driver"));
    }
    let get = |key: &str| config.get(key).map(String::as_str).unwrap_or("");
    use berth_shim::SyslogAddress;
    match SyslogAddress::parse(get("syslog-address"))? {
        SyslogAddress::Unix(path) | SyslogAddress::Unixgram(path) => {
            if let Err(e) = std::fs::metadata(&path) {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                    std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                    _ => e.to_string(),
                };
                return Err(format!("stat {}: {why}", path.display()));
            }
        }
        SyslogAddress::TcpTls(_) => {
            return Err("syslog-address: tcp+tls is not supported by berth".into())
        }
        _ => {}
    }
    berth_shim::options::parse_facility(get("syslog-facility"))?;
    berth_shim::SyslogFormat::parse(get("syslog-format"))?;
    Ok(())
}

fn validate_host_config(request: &CreateRequest) -> Result<(), ApiError> {
    let host = &request.host_config;
    if let Some(policy) = &host.restart_policy {
        validate_restart_policy(policy)?;
        if host.auto_remove && !matches!(policy.name.as_str(), "" | "no") {
            return Err(ApiError::invalid(
                "can't create 'AutoRemove' container with restart policy",
            ));
        }
    }
    if host.memory != 0 && host.memory < MIN_MEMORY {
        return Err(ApiError::invalid("Minimum memory limit allowed is 6MB"));
    }
    if host.memory > 0 && host.memory_swap > 0 && host.memory_swap < host.memory {
        return Err(ApiError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if host.nano_cpus < 0 || (host.nano_cpus > 0 && host.cpu_quota > 0) {
        return Err(ApiError::invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if host.nano_cpus > 0 {
        // moby: at least 0.01 CPU, at most the CPUs this process may run on.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
        if host.nano_cpus < 10_000_000 || host.nano_cpus > cpus * 1_000_000_000 {
            return Err(ApiError::invalid(format!(
                "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
            )));
        }
    }
    Ok(())
}

pub(crate) fn validate_restart_policy(policy: &RestartPolicy) -> Result<(), ApiError> {
    match policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {
            if policy.maximum_retry_count != 0 {
                return Err(ApiError::invalid(
                    "invalid restart policy: maximum retry count can only be used with 'on-failure'",
                ));
            }
        }
        "on-failure" => {
            if policy.maximum_retry_count < 0 {
                return Err(ApiError::invalid(
                    "invalid restart policy: maximum retry count cannot be negative",
                ));
            }
        }
        other => {
            return Err(ApiError::invalid(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            )))
        }
    }
    Ok(())
}

/// The image's config fills what the request leaves unset, as moby's merge does.
fn merge_image_defaults(request: &mut CreateRequest, image: &berth_image::ImageConfig) {
    let Some(defaults) = image.config.as_ref() else {
        return;
    };
    let config = &mut request.config;
    let user_entrypoint_reset = config.entrypoint.as_deref() == Some(&[String::new()][..]);
    if user_entrypoint_reset {
        config.entrypoint = Some(Vec::new());
    }
    if config.entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if config.cmd.as_ref().is_none_or(Vec::is_empty) {
            config.cmd = defaults.cmd.clone();
        }
        if config.entrypoint.is_none() {
            config.entrypoint = defaults.entrypoint.clone();
        }
    }
    let mut env: Vec<String> = defaults.env.clone().unwrap_or_default();
    for entry in config.env.clone().unwrap_or_default() {
        let key = entry.split('=').next().unwrap_or("").to_string();
        env.retain(|e| e.split('=').next() != Some(key.as_str()));
        env.push(entry);
    }
    config.env = Some(env);
    if config.working_dir.is_empty() {
        config.working_dir = defaults.working_dir.clone().unwrap_or_default();
    }
    if config.user.is_empty() {
        config.user = defaults.user.clone().unwrap_or_default();
    }
    if config.stop_signal.as_deref().is_none_or(str::is_empty) {
        config.stop_signal = defaults.stop_signal.clone();
    }
    super::health::merge(
        &mut config.healthcheck,
        defaults
            .healthcheck
            .as_ref()
            .and_then(|h| serde_json::from_value(h.clone()).ok()),
    );
    if let Some(ports) = &defaults.exposed_ports {
        let merged = config.exposed_ports.get_or_insert_with(BTreeMap::new);
        for (port, v) in ports {
            merged.entry(port.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(volumes) = &defaults.volumes {
        let merged = config.volumes.get_or_insert_with(BTreeMap::new);
        for (path, v) in volumes {
            merged.entry(path.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(labels) = &defaults.labels {
        let merged = config.labels.get_or_insert_with(BTreeMap::new);
        for (k, v) in labels {
            merged.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if config.shell.is_none() {
        config.shell = defaults.shell.clone();
    }
}

/// argv of the container: entrypoint followed by command.
fn command_line(request: &CreateRequest) -> Result<(String, Vec<String>), ApiError> {
    let mut argv: Vec<String> = request.config.entrypoint.clone().unwrap_or_default();
    argv.extend(request.config.cmd.clone().unwrap_or_default());
    if argv.is_empty() {
        return Err(ApiError::invalid("No command specified"));
    }
    let path = argv.remove(0);
    Ok((path, argv))
}

impl Engine {
    /// `POST /containers/{id}/rename?name=`.
    pub fn container_rename(&self, reference: &str, new_name: &str) -> Result<(), ApiError> {
        if new_name.is_empty() {
            return Err(ApiError::invalid("Neither old nor new names may be empty"));
        }
        let container = self.containers.get(reference)?;
        let name = names::validate(new_name)?;
        let old = container.snapshot().name;
        if old == name {
            return Err(ApiError::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        self.containers.reserve_name(&name, &container.id)?;
        if let Err(e) = container.update(|r| r.name = name.clone()) {
            self.containers.release_name(&name);
            return Err(e);
        }
        self.containers.release_name(&old);
        let record = container.snapshot();
        self.container_event(&record, "rename", &[("oldName", old)]);
        Ok(())
    }
}
