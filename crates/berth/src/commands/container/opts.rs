//! The `run`/`create` flag set (docker's names, help and defaults) and its conversion into
//! the `POST /containers/create` body: `Config`, `HostConfig` and `NetworkingConfig`.
//!
//! Values are taken as text and validated here rather than by clap, so that bad input
//! gets docker's wording (`invalid argument "x" for "-m, --memory" flag: ...`).

use std::collections::BTreeMap;

use clap::{ArgAction, Args};
use serde_json::{json, Map, Value};

use super::parse;

/// Why the flags could not be turned into a create body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptError {
    /// A flag's value is malformed: printed with the usage line, as pflag does.
    Flag {
        flag: &'static str,
        value: String,
        message: String,
    },
    /// Anything else docker reports as `docker: <message>`.
    Invalid(String),
}

impl std::fmt::Display for OptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptError::Flag {
                flag,
                value,
                message,
            } => write!(
                f,
                "invalid argument \"{value}\" for \"{flag}\" flag: {message}"
            ),
            OptError::Invalid(message) => write!(f, "{message}"),
        }
    }
}

fn flag_error(flag: &'static str, value: &str, message: impl Into<String>) -> OptError {
    OptError::Flag {
        flag,
        value: value.to_string(),
        message: message.into(),
    }
}

/// Flags shared by `run` and `create`.
#[derive(Debug, Args, Clone, Default)]
pub struct ContainerFlags {
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list")]
    pub add_host: Vec<String>,
    /// Add an annotation to the container (passed through to the OCI runtime)
    #[arg(long = "annotation", value_name = "map")]
    pub annotation: Vec<String>,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long = "attach", value_name = "list")]
    pub attach: Vec<String>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16")]
    pub blkio_weight: Option<String>,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", value_name = "string")]
    pub cgroup_parent: Option<String>,
    /// Cgroup namespace to use (host|private)
    #[arg(long = "cgroupns", value_name = "string")]
    pub cgroupns: Option<String>,
    /// Write the container ID to the file
    #[arg(long = "cidfile", value_name = "string")]
    pub cidfile: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int")]
    pub cpu_quota: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<String>,
    /// Number of CPUs
    #[arg(long = "cpus", value_name = "decimal")]
    pub cpus: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Add a host device to the container
    #[arg(long = "device", value_name = "list")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long = "device-cgroup-rule", value_name = "list")]
    pub device_cgroup_rule: Vec<String>,
    /// Set custom DNS servers
    #[arg(long = "dns", value_name = "list")]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt", value_name = "list")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "list")]
    pub dns_search: Vec<String>,
    /// Container NIS domain name
    #[arg(long = "domainname", value_name = "string")]
    pub domainname: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long = "entrypoint", value_name = "string", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long = "expose", value_name = "list")]
    pub expose: Vec<String>,
    /// Add additional groups to join
    #[arg(long = "group-add", value_name = "list")]
    pub group_add: Vec<String>,
    /// Command to run to check health
    #[arg(long = "health-cmd", value_name = "string")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long = "health-interval", value_name = "duration")]
    pub health_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long = "health-retries", value_name = "int")]
    pub health_retries: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-interval", value_name = "duration")]
    pub health_start_interval: Option<String>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-period", value_name = "duration")]
    pub health_start_period: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long = "health-timeout", value_name = "duration")]
    pub health_timeout: Option<String>,
    /// Print usage
    #[arg(long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Container host name
    #[arg(short = 'h', long = "hostname", value_name = "string")]
    pub hostname: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long = "init", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub init: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long = "ip", value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long = "ip6", value_name = "string")]
    pub ip6: Option<String>,
    /// IPC mode to use
    #[arg(long = "ipc", value_name = "string")]
    pub ipc: Option<String>,
    /// Container isolation technology
    #[arg(long = "isolation", value_name = "string")]
    pub isolation: Option<String>,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "list")]
    pub label_file: Vec<String>,
    /// Add link to another container
    #[arg(long = "link", value_name = "list")]
    pub link: Vec<String>,
    /// Container IPv4/IPv6 link-local addresses
    #[arg(long = "link-local-ip", value_name = "list")]
    pub link_local_ip: Vec<String>,
    /// Logging driver for the container
    #[arg(long = "log-driver", value_name = "string")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt", value_name = "list")]
    pub log_opt: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address", value_name = "string")]
    pub mac_address: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long = "memory", value_name = "bytes")]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(
        long = "memory-swappiness",
        value_name = "int",
        allow_hyphen_values = true
    )]
    pub memory_swappiness: Option<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "mount")]
    pub mount: Vec<String>,
    /// Assign a name to the container
    #[arg(long = "name", value_name = "string")]
    pub name: Option<String>,
    /// Connect a container to a network
    #[arg(long = "network", alias = "net", value_name = "network")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias", value_name = "list")]
    pub network_alias: Vec<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub no_healthcheck: Option<String>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub oom_kill_disable: Option<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", value_name = "int", allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,
    /// PID namespace to use
    #[arg(long = "pid", value_name = "string")]
    pub pid: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long = "platform", value_name = "string")]
    pub platform: Option<String>,
    /// Give extended privileges to this container
    #[arg(long = "privileged", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub privileged: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long = "pull", value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub read_only: Option<String>,
    /// Restart policy to apply when a container exits (default "no")
    #[arg(long = "restart", value_name = "string")]
    pub restart: Option<String>,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long = "rm", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub rm: Option<String>,
    /// Runtime to use for this container
    #[arg(long = "runtime", value_name = "string")]
    pub runtime: Option<String>,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "bytes")]
    pub shm_size: Option<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "int", allow_hyphen_values = true)]
    pub stop_timeout: Option<String>,
    /// Storage driver options for the container
    #[arg(long = "storage-opt", value_name = "list")]
    pub storage_opt: Vec<String>,
    /// Sysctl options (default map[])
    #[arg(long = "sysctl", value_name = "map")]
    pub sysctl: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs", value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Ulimit options (default [])
    #[arg(long = "ulimit", value_name = "ulimit")]
    pub ulimit: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// User namespace to use
    #[arg(long = "userns", value_name = "string")]
    pub userns: Option<String>,
    /// UTS namespace to use
    #[arg(long = "uts", value_name = "string")]
    pub uts: Option<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver", value_name = "string")]
    pub volume_driver: Option<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "list")]
    pub volumes_from: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        hide = true,
        value_name = "IMAGE"
    )]
    pub args: Vec<String>,
}

/// How `run`/`create` should fetch a missing image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Missing,
    Always,
    Never,
}

/// The parsed flags: the create body and what the CLI itself needs.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: Option<String>,
    pub image: String,
    pub platform: Option<String>,
    pub pull: PullPolicy,
    pub quiet: bool,
    pub cidfile: Option<String>,
    pub config: Map<String, Value>,
    pub host_config: Map<String, Value>,
    pub networking: Value,
    /// `-a` given explicitly (docker refuses it with `-d`).
    pub explicit_attach: bool,
}

impl ContainerSpec {
    pub fn tty(&self) -> bool {
        self.config.get("Tty").and_then(Value::as_bool) == Some(true)
    }

    pub fn attach(&self, stream: &str) -> bool {
        self.config.get(stream).and_then(Value::as_bool) == Some(true)
    }

    pub fn auto_remove(&self) -> bool {
        self.host_config.get("AutoRemove").and_then(Value::as_bool) == Some(true)
    }

    /// The `POST /containers/create` body.
    pub fn body(&self) -> Value {
        let mut body = self.config.clone();
        body.insert(
            "HostConfig".to_string(),
            Value::Object(self.host_config.clone()),
        );
        body.insert("NetworkingConfig".to_string(), self.networking.clone());
        Value::Object(body)
    }
}

fn bool_flag(flag: &'static str, value: &Option<String>) -> Result<bool, OptError> {
    match value {
        None => Ok(false),
        Some(v) => parse::parse_bool(v).ok_or_else(|| {
            flag_error(
                flag,
                v,
                format!("strconv.ParseBool: parsing \"{v}\": invalid syntax"),
            )
        }),
    }
}

fn int_flag(flag: &'static str, value: &Option<String>) -> Result<Option<i64>, OptError> {
    value
        .as_deref()
        .map(|v| parse::parse_int(v).map_err(|e| flag_error(flag, v, e)))
        .transpose()
}

fn mem_flag(flag: &'static str, value: &Option<String>) -> Result<i64, OptError> {
    match value.as_deref() {
        None | Some("") => Ok(0),
        Some(v) => {
            berth_format::units::ram_in_bytes(v).map_err(|e| flag_error(flag, v, e.to_string()))
        }
    }
}

fn duration_flag(flag: &'static str, value: &Option<String>) -> Result<i64, OptError> {
    match value.as_deref() {
        None => Ok(0),
        Some(v) => parse::parse_duration(v).map_err(|e| flag_error(flag, v, e)),
    }
}

fn string_list(values: &[String]) -> Value {
    if values.is_empty() {
        Value::Null
    } else {
        json!(values)
    }
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn is_user_defined_network(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// One `--network` value: a name, or docker 28's `name=x,alias=y,ip=...` form.
#[derive(Debug, Clone, Default)]
struct NetworkAttachment {
    target: String,
    aliases: Vec<String>,
    ipv4: String,
    ipv6: String,
    mac: String,
    driver_opts: BTreeMap<String, String>,
    link_local: Vec<String>,
    links: Vec<String>,
    gw_priority: i64,
}

fn parse_network(value: &str) -> Result<NetworkAttachment, OptError> {
    let mut attachment = NetworkAttachment::default();
    if !value.contains('=') {
        attachment.target = value.to_string();
        return Ok(attachment);
    }
    for field in value.split(',') {
        let Some((key, val)) = field.split_once('=') else {
            return Err(flag_error(
                "--network",
                value,
                format!("invalid field '{field}' must be a key=value pair"),
            ));
        };
        match key.to_ascii_lowercase().as_str() {
            "name" => attachment.target = val.to_string(),
            "alias" => attachment.aliases.push(val.to_string()),
            "ip" => attachment.ipv4 = val.to_string(),
            "ip6" => attachment.ipv6 = val.to_string(),
            "mac-address" => attachment.mac = val.to_string(),
            "link-local-ip" => attachment.link_local.push(val.to_string()),
            "driver-opt" => {
                let (k, v) = val.split_once('=').unwrap_or((val, ""));
                attachment.driver_opts.insert(k.to_string(), v.to_string());
            }
            "gw-priority" => {
                attachment.gw_priority =
                    parse::parse_int(val).map_err(|e| flag_error("--network", value, e))?
            }
            _ => {
                return Err(flag_error(
                    "--network",
                    value,
                    format!("invalid field key {key}"),
                ))
            }
        }
    }
    Ok(attachment)
}

fn endpoint_settings(attachment: &NetworkAttachment) -> Result<Option<Value>, OptError> {
    if attachment.target.trim().is_empty() {
        return Err(OptError::Invalid("no name set for network".to_string()));
    }
    if !is_user_defined_network(&attachment.target) {
        if !attachment.aliases.is_empty() {
            return Err(OptError::Invalid(
                "network-scoped aliases are only supported for user-defined networks".to_string(),
            ));
        }
        if !attachment.links.is_empty() {
            return Err(OptError::Invalid(
                "links are only supported for user-defined networks".to_string(),
            ));
        }
    }
    if !attachment.mac.is_empty() && !parse::valid_mac(attachment.mac.trim()) {
        return Err(OptError::Invalid(format!(
            "{} is not a valid mac address",
            attachment.mac
        )));
    }
    let empty = attachment.aliases.is_empty()
        && attachment.links.is_empty()
        && attachment.ipv4.is_empty()
        && attachment.ipv6.is_empty()
        && attachment.link_local.is_empty()
        && attachment.mac.is_empty()
        && attachment.driver_opts.is_empty()
        && attachment.gw_priority == 0;
    let ipam = if attachment.ipv4.is_empty()
        && attachment.ipv6.is_empty()
        && attachment.link_local.is_empty()
    {
        Value::Null
    } else {
        let mut ipam = Map::new();
        if !attachment.ipv4.is_empty() {
            ipam.insert("IPv4Address".into(), json!(attachment.ipv4));
        }
        if !attachment.ipv6.is_empty() {
            ipam.insert("IPv6Address".into(), json!(attachment.ipv6));
        }
        if !attachment.link_local.is_empty() {
            ipam.insert("LinkLocalIPs".into(), json!(attachment.link_local));
        }
        Value::Object(ipam)
    };
    let settings = json!({
        "IPAMConfig": ipam,
        "Links": string_list(&attachment.links),
        "Aliases": string_list(&attachment.aliases),
        "MacAddress": attachment.mac,
        "DriverOpts": if attachment.driver_opts.is_empty() { Value::Null } else { string_map(&attachment.driver_opts) },
        "GwPriority": attachment.gw_priority,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    });
    Ok(if empty { None } else { Some(settings) })
}

impl ContainerFlags {
    /// Turns the flags into a create body, validating like docker's `parse()`.
    /// `detach` is `run -d`: nothing is attached then (`create` records the streams a later
    /// `start -a` would attach, as docker does).
    pub fn to_spec(&self, detach: bool) -> Result<ContainerSpec, OptError> {
        let f = self;
        let image = f.args.first().cloned().unwrap_or_default();
        let cmd: Vec<String> = f.args.iter().skip(1).cloned().collect();

        // Attach streams.
        let mut attach_stdin = false;
        let mut attach_stdout = false;
        let mut attach_stderr = false;
        for stream in &f.attach {
            match stream.to_ascii_lowercase().as_str() {
                "stdin" => attach_stdin = true,
                "stdout" => attach_stdout = true,
                "stderr" => attach_stderr = true,
                _ => {
                    return Err(flag_error(
                        "-a, --attach",
                        stream,
                        "valid streams are STDIN, STDOUT and STDERR",
                    ))
                }
            }
        }
        if f.interactive {
            attach_stdin = true;
        }
        if f.attach.is_empty() {
            attach_stdout = true;
            attach_stderr = true;
        }

        // Sizes and numbers.
        let memory = mem_flag("-m, --memory", &f.memory)?;
        let memory_reservation = mem_flag("--memory-reservation", &f.memory_reservation)?;
        let memory_swap = match f.memory_swap.as_deref() {
            Some("-1") => -1,
            _ => mem_flag("--memory-swap", &f.memory_swap)?,
        };
        let shm_size = mem_flag("--shm-size", &f.shm_size)?;
        let memory_swappiness =
            int_flag("--memory-swappiness", &f.memory_swappiness)?.unwrap_or(-1);
        let cpu_shares = int_flag("-c, --cpu-shares", &f.cpu_shares)?.unwrap_or(0);
        let cpu_period = int_flag("--cpu-period", &f.cpu_period)?.unwrap_or(0);
        let cpu_quota = int_flag("--cpu-quota", &f.cpu_quota)?.unwrap_or(0);
        let oom_score_adj = int_flag("--oom-score-adj", &f.oom_score_adj)?.unwrap_or(0);
        let pids_limit = int_flag("--pids-limit", &f.pids_limit)?;
        let stop_timeout = int_flag("--stop-timeout", &f.stop_timeout)?;
        let nano_cpus = match f.cpus.as_deref() {
            None | Some("") => 0,
            Some(v) => parse::parse_cpus(v).map_err(|e| flag_error("--cpus", v, e))?,
        };
        let blkio_weight = match f.blkio_weight.as_deref() {
            None => 0,
            Some(v) => parse::parse_uint(v, 16).map_err(|e| flag_error("--blkio-weight", v, e))?,
        };
        let ulimits =
            parse::ulimits(&f.ulimit).map_err(|(value, e)| flag_error("--ulimit", &value, e))?;

        // Lists validated per value.
        let mut extra_hosts = Vec::new();
        for host in &f.add_host {
            extra_hosts.push(
                parse::validate_extra_host(host).map_err(|e| flag_error("--add-host", host, e))?,
            );
        }
        let mut dns = Vec::new();
        for server in &f.dns {
            dns.push(parse::validate_ip(server).map_err(|e| flag_error("--dns", server, e))?);
        }
        for sysctl in &f.sysctl {
            parse::validate_sysctl(sysctl).map_err(|e| flag_error("--sysctl", sysctl, e))?;
        }
        for link in &f.link {
            parse::validate_link(link).map_err(|e| flag_error("--link", link, e))?;
        }
        let mut mounts = Vec::new();
        for mount in &f.mount {
            mounts.push(parse::parse_mount(mount).map_err(|e| flag_error("--mount", mount, e))?);
        }
        let env = parse::env(&f.env_file, &f.env).map_err(|(flag, e)| match flag {
            Some(value) => flag_error("-e, --env", &value, e),
            None => OptError::Invalid(e),
        })?;
        let labels = parse::labels(&f.label_file, &f.label).map_err(OptError::Invalid)?;

        // Health check.
        let health_interval = duration_flag("--health-interval", &f.health_interval)?;
        let health_timeout = duration_flag("--health-timeout", &f.health_timeout)?;
        let health_start_period = duration_flag("--health-start-period", &f.health_start_period)?;
        let health_start_interval =
            duration_flag("--health-start-interval", &f.health_start_interval)?;
        let health_retries = int_flag("--health-retries", &f.health_retries)?.unwrap_or(0);
        let no_healthcheck = bool_flag("--no-healthcheck", &f.no_healthcheck)?;
        let health_cmd = f.health_cmd.clone().unwrap_or_default();
        let have_health = !health_cmd.is_empty()
            || health_interval != 0
            || health_timeout != 0
            || health_start_period != 0
            || health_start_interval != 0
            || health_retries != 0;
        let healthcheck = if no_healthcheck {
            if have_health {
                return Err(OptError::Invalid(
                    "--no-healthcheck conflicts with --health-* options".to_string(),
                ));
            }
            Some(json!({"Test": ["NONE"]}))
        } else if have_health {
            for (value, name) in [
                (health_interval, "--health-interval"),
                (health_timeout, "--health-timeout"),
                (health_start_period, "--health-start-period"),
                (health_start_interval, "--health-start-interval"),
            ] {
                if value < 0 {
                    return Err(OptError::Invalid(format!("{name} cannot be negative")));
                }
            }
            if health_retries < 0 {
                return Err(OptError::Invalid(
                    "--health-retries cannot be negative".to_string(),
                ));
            }
            let mut check = Map::new();
            if !health_cmd.is_empty() {
                check.insert("Test".into(), json!(["CMD-SHELL", health_cmd]));
            }
            check.insert("Interval".into(), json!(health_interval));
            check.insert("Timeout".into(), json!(health_timeout));
            check.insert("StartPeriod".into(), json!(health_start_period));
            if health_start_interval != 0 {
                check.insert("StartInterval".into(), json!(health_start_interval));
            }
            check.insert("Retries".into(), json!(health_retries));
            Some(Value::Object(check))
        } else {
            None
        };

        // Ports and volumes.
        let (exposed, port_bindings) =
            parse::ports(&f.publish, &f.expose).map_err(OptError::Invalid)?;
        let (binds, anonymous_volumes) = parse::volumes(&f.volume).map_err(OptError::Invalid)?;

        // Devices.
        let mut devices = Vec::new();
        for device in &f.device {
            parse::validate_device(device).map_err(OptError::Invalid)?;
            devices.push(parse::parse_device(device).map_err(OptError::Invalid)?);
        }

        // Namespaces.
        let pid = f.pid.clone().unwrap_or_default();
        if !(pid.is_empty()
            || pid == "host"
            || pid
                .strip_prefix("container:")
                .is_some_and(|c| !c.is_empty()))
        {
            return Err(OptError::Invalid("--pid: invalid PID mode".to_string()));
        }
        let uts = f.uts.clone().unwrap_or_default();
        if !(uts.is_empty() || uts == "host") {
            return Err(OptError::Invalid("--uts: invalid UTS mode".to_string()));
        }
        let userns = f.userns.clone().unwrap_or_default();
        if !(userns.is_empty() || userns == "host") {
            return Err(OptError::Invalid("--userns: invalid USER mode".to_string()));
        }
        let cgroupns = f.cgroupns.clone().unwrap_or_default();
        if !(cgroupns.is_empty() || cgroupns == "host" || cgroupns == "private") {
            return Err(OptError::Invalid(
                "--cgroupns: invalid CGROUP mode".to_string(),
            ));
        }

        if let Some(mac) = &f.mac_address {
            if !parse::valid_mac(mac) {
                return Err(OptError::Invalid(format!(
                    "{mac} is not a valid mac address"
                )));
            }
        }

        let security_opt = parse::security_opts(&f.security_opt).map_err(OptError::Invalid)?;
        let (cap_add, cap_drop) = parse::effective_caps(&f.cap_add, &f.cap_drop);

        // Restart policy and --rm.
        let restart = f.restart.clone().unwrap_or_else(|| "no".to_string());
        let (restart_name, restart_max) =
            parse::parse_restart_policy(&restart).map_err(OptError::Invalid)?;
        let auto_remove = bool_flag("--rm", &f.rm)?;
        if auto_remove && !(restart_name.is_empty() || restart_name == "no") {
            return Err(OptError::Invalid(
                "conflicting options: cannot specify both --restart and --rm".to_string(),
            ));
        }

        // Logging.
        let log_driver = f.log_driver.clone().unwrap_or_default();
        let log_opts = parse::kv_map(&f.log_opt);
        if log_driver == "none" && !log_opts.is_empty() {
            return Err(OptError::Invalid(format!(
                "invalid logging opts for driver {log_driver}"
            )));
        }

        let pull = match f.pull.as_str() {
            "missing" => PullPolicy::Missing,
            "always" => PullPolicy::Always,
            "never" => PullPolicy::Never,
            other => {
                return Err(OptError::Invalid(format!(
                    "invalid pull option: '{other}': must be one of \"always\", \"missing\" or \"never\""
                )))
            }
        };

        // Entrypoint: `--entrypoint ""` resets the image's.
        let entrypoint = match f.entrypoint.as_deref() {
            None => Value::Null,
            Some(e) => json!([e]),
        };

        let tmpfs: BTreeMap<String, String> = f
            .tmpfs
            .iter()
            .map(|t| {
                let (k, v) = t.split_once(':').unwrap_or((t, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        let sysctls: BTreeMap<String, String> = parse::kv_map(&f.sysctl);
        let storage_opt: BTreeMap<String, String> = parse::kv_map(&f.storage_opt);
        let annotations: BTreeMap<String, String> = parse::kv_map(&f.annotation);

        // Networks.
        let mut networks = Vec::new();
        for value in &f.network {
            networks.push(parse_network(value)?);
        }
        let mut endpoints = Map::new();
        let single = networks.len() == 1;
        if networks.is_empty() {
            networks.push(NetworkAttachment {
                target: "default".to_string(),
                ..Default::default()
            });
        }
        let mut has_user_defined = false;
        let mut has_builtin = false;
        let implicit_default = f.network.is_empty();
        for (i, attachment) in networks.iter_mut().enumerate() {
            if is_user_defined_network(&attachment.target) {
                has_user_defined = true;
            } else {
                has_builtin = true;
            }
            if i == 0 {
                apply_container_options(attachment, f)?;
            }
            let settings = endpoint_settings(attachment)?;
            if endpoints.contains_key(&attachment.target) {
                return Err(OptError::Invalid(format!(
                    "network \"{}\" is specified multiple times",
                    attachment.target
                )));
            }
            let settings = match settings {
                Some(s) => s,
                None if i == 0 && single => continue,
                None => empty_endpoint(),
            };
            endpoints.insert(attachment.target.clone(), settings);
        }
        if implicit_default && !endpoints.contains_key("default") {
            endpoints.insert("default".to_string(), empty_endpoint());
        }
        if has_user_defined && has_builtin {
            return Err(OptError::Invalid(
                "conflicting options: cannot attach both user-defined and non-user-defined network-modes".to_string(),
            ));
        }
        let network_mode = networks[0].target.clone();

        // Config.
        let mut config = Map::new();
        config.insert(
            "Hostname".into(),
            json!(f.hostname.clone().unwrap_or_default()),
        );
        config.insert(
            "Domainname".into(),
            json!(f.domainname.clone().unwrap_or_default()),
        );
        config.insert("User".into(), json!(f.user.clone().unwrap_or_default()));
        config.insert("AttachStdin".into(), json!(attach_stdin && !detach));
        config.insert("AttachStdout".into(), json!(attach_stdout && !detach));
        config.insert("AttachStderr".into(), json!(attach_stderr && !detach));
        if !exposed.is_empty() {
            config.insert(
                "ExposedPorts".into(),
                Value::Object(exposed.into_iter().collect()),
            );
        }
        config.insert("Tty".into(), json!(f.tty));
        config.insert("OpenStdin".into(), json!(f.interactive));
        config.insert(
            "StdinOnce".into(),
            json!(f.interactive && attach_stdin && !detach),
        );
        config.insert("Env".into(), string_list(&env));
        config.insert("Cmd".into(), string_list(&cmd));
        if let Some(check) = healthcheck {
            config.insert("Healthcheck".into(), check);
        }
        config.insert("Image".into(), json!(image));
        config.insert(
            "Volumes".into(),
            Value::Object(anonymous_volumes.into_iter().collect()),
        );
        config.insert(
            "WorkingDir".into(),
            json!(f.workdir.clone().unwrap_or_default()),
        );
        config.insert("Entrypoint".into(), entrypoint);
        if let Some(mac) = f.mac_address.as_ref().filter(|m| !m.is_empty()) {
            config.insert("MacAddress".into(), json!(mac));
        }
        config.insert("OnBuild".into(), Value::Null);
        config.insert("Labels".into(), Value::Object(labels));
        if let Some(signal) = f.stop_signal.as_ref().filter(|s| !s.is_empty()) {
            config.insert("StopSignal".into(), json!(signal));
        }
        if let Some(timeout) = stop_timeout {
            config.insert("StopTimeout".into(), json!(timeout));
        }

        // HostConfig.
        let mut host = Map::new();
        host.insert("Binds".into(), string_list(&binds));
        host.insert(
            "ContainerIDFile".into(),
            json!(f.cidfile.clone().unwrap_or_default()),
        );
        host.insert(
            "LogConfig".into(),
            json!({"Type": log_driver, "Config": string_map(&log_opts)}),
        );
        host.insert("NetworkMode".into(), json!(network_mode));
        host.insert(
            "PortBindings".into(),
            Value::Object(
                port_bindings
                    .into_iter()
                    .map(|(k, v)| (k, Value::Array(v)))
                    .collect(),
            ),
        );
        host.insert(
            "RestartPolicy".into(),
            json!({"Name": restart_name, "MaximumRetryCount": restart_max}),
        );
        host.insert("AutoRemove".into(), json!(auto_remove));
        host.insert(
            "VolumeDriver".into(),
            json!(f.volume_driver.clone().unwrap_or_default()),
        );
        host.insert("VolumesFrom".into(), string_list(&f.volumes_from));
        host.insert("ConsoleSize".into(), json!([0, 0]));
        if !annotations.is_empty() {
            host.insert("Annotations".into(), string_map(&annotations));
        }
        host.insert("CapAdd".into(), string_list(&cap_add));
        host.insert("CapDrop".into(), string_list(&cap_drop));
        host.insert("CgroupnsMode".into(), json!(cgroupns));
        host.insert("Dns".into(), json!(dns));
        host.insert("DnsOptions".into(), json!(f.dns_option));
        host.insert("DnsSearch".into(), json!(f.dns_search));
        host.insert("ExtraHosts".into(), string_list(&extra_hosts));
        host.insert("GroupAdd".into(), string_list(&f.group_add));
        host.insert("IpcMode".into(), json!(f.ipc.clone().unwrap_or_default()));
        host.insert("Cgroup".into(), json!(""));
        host.insert("Links".into(), string_list(&f.link));
        host.insert("OomScoreAdj".into(), json!(oom_score_adj));
        host.insert("PidMode".into(), json!(pid));
        host.insert(
            "Privileged".into(),
            json!(bool_flag("--privileged", &f.privileged)?),
        );
        host.insert("PublishAllPorts".into(), json!(f.publish_all));
        host.insert(
            "ReadonlyRootfs".into(),
            json!(bool_flag("--read-only", &f.read_only)?),
        );
        host.insert("SecurityOpt".into(), string_list(&security_opt));
        if !storage_opt.is_empty() {
            host.insert("StorageOpt".into(), string_map(&storage_opt));
        }
        if !tmpfs.is_empty() {
            host.insert("Tmpfs".into(), string_map(&tmpfs));
        }
        host.insert("UTSMode".into(), json!(uts));
        host.insert("UsernsMode".into(), json!(userns));
        host.insert("ShmSize".into(), json!(shm_size));
        if !sysctls.is_empty() {
            host.insert("Sysctls".into(), string_map(&sysctls));
        }
        if let Some(runtime) = f.runtime.as_ref().filter(|r| !r.is_empty()) {
            host.insert("Runtime".into(), json!(runtime));
        }
        host.insert(
            "Isolation".into(),
            json!(f.isolation.clone().unwrap_or_default()),
        );
        host.insert("CpuShares".into(), json!(cpu_shares));
        host.insert("Memory".into(), json!(memory));
        host.insert("NanoCpus".into(), json!(nano_cpus));
        host.insert(
            "CgroupParent".into(),
            json!(f.cgroup_parent.clone().unwrap_or_default()),
        );
        host.insert("BlkioWeight".into(), json!(blkio_weight));
        for key in [
            "BlkioWeightDevice",
            "BlkioDeviceReadBps",
            "BlkioDeviceWriteBps",
            "BlkioDeviceReadIOps",
            "BlkioDeviceWriteIOps",
        ] {
            host.insert(key.into(), json!([]));
        }
        host.insert("CpuPeriod".into(), json!(cpu_period));
        host.insert("CpuQuota".into(), json!(cpu_quota));
        host.insert("CpuRealtimePeriod".into(), json!(0));
        host.insert("CpuRealtimeRuntime".into(), json!(0));
        host.insert(
            "CpusetCpus".into(),
            json!(f.cpuset_cpus.clone().unwrap_or_default()),
        );
        host.insert(
            "CpusetMems".into(),
            json!(f.cpuset_mems.clone().unwrap_or_default()),
        );
        host.insert("Devices".into(), json!(devices));
        host.insert(
            "DeviceCgroupRules".into(),
            string_list(&f.device_cgroup_rule),
        );
        host.insert("DeviceRequests".into(), Value::Null);
        host.insert("MemoryReservation".into(), json!(memory_reservation));
        host.insert("MemorySwap".into(), json!(memory_swap));
        host.insert("MemorySwappiness".into(), json!(memory_swappiness));
        host.insert(
            "OomKillDisable".into(),
            json!(bool_flag("--oom-kill-disable", &f.oom_kill_disable)?),
        );
        host.insert("PidsLimit".into(), json!(pids_limit.unwrap_or(0)));
        host.insert("Ulimits".into(), json!(ulimits));
        // Windows-only resources, sent as zero like docker's client does.
        for key in [
            "CpuCount",
            "CpuPercent",
            "IOMaximumIOps",
            "IOMaximumBandwidth",
        ] {
            host.insert(key.into(), json!(0));
        }
        if !mounts.is_empty() {
            host.insert("Mounts".into(), json!(mounts));
        }
        host.insert("MaskedPaths".into(), Value::Null);
        host.insert("ReadonlyPaths".into(), Value::Null);
        if f.init.is_some() {
            host.insert("Init".into(), json!(bool_flag("--init", &f.init)?));
        }

        Ok(ContainerSpec {
            name: f.name.clone(),
            image,
            platform: f.platform.clone().filter(|p| !p.is_empty()),
            pull,
            quiet: f.quiet,
            cidfile: f.cidfile.clone().filter(|c| !c.is_empty()),
            config,
            host_config: host,
            networking: json!({"EndpointsConfig": Value::Object(endpoints)}),
            explicit_attach: !f.attach.is_empty(),
        })
    }
}

fn empty_endpoint() -> Value {
    json!({
        "IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "",
        "DriverOpts": null, "GwPriority": 0, "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null,
    })
}

/// The classic flags (`--network-alias`, `--link`, `--ip`, ...) apply to the first network.
fn apply_container_options(n: &mut NetworkAttachment, f: &ContainerFlags) -> Result<(), OptError> {
    let conflict = |what: &str| {
        Err(OptError::Invalid(format!(
            "conflicting options: cannot specify both {what}"
        )))
    };
    let ip = f.ip.clone().unwrap_or_default();
    let ip6 = f.ip6.clone().unwrap_or_default();
    let mac = f.mac_address.clone().unwrap_or_default();
    if !n.aliases.is_empty() && !f.network_alias.is_empty() {
        return conflict("--network-alias and per-network alias");
    }
    if !n.ipv4.is_empty() && !ip.is_empty() {
        return conflict("--ip and per-network IPv4 address");
    }
    if !n.ipv6.is_empty() && !ip6.is_empty() {
        return conflict("--ip6 and per-network IPv6 address");
    }
    if !n.mac.is_empty() && !mac.is_empty() {
        return conflict("--mac-address and per-network MAC address");
    }
    if !n.link_local.is_empty() && !f.link_local_ip.is_empty() {
        return conflict("--link-local-ip and per-network link-local IP addresses");
    }
    if !f.network_alias.is_empty() {
        n.aliases = f.network_alias.clone();
    }
    if is_user_defined_network(&n.target) && !f.link.is_empty() {
        n.links = f.link.clone();
    }
    if !ip.is_empty() {
        n.ipv4 = ip;
    }
    if !ip6.is_empty() {
        n.ipv6 = ip6;
    }
    if !mac.is_empty() {
        n.mac = mac;
    }
    if !f.link_local_ip.is_empty() {
        n.link_local = f.link_local_ip.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    #[command(disable_help_flag = true)]
    struct Cmd {
        #[arg(short = 'd', long = "detach")]
        detach: bool,
        #[command(flatten)]
        flags: ContainerFlags,
    }

    fn parse(args: &[&str]) -> (bool, ContainerFlags) {
        let cmd = Cmd::try_parse_from(std::iter::once("run").chain(args.iter().copied())).unwrap();
        (cmd.detach, cmd.flags)
    }

    fn spec(args: &[&str]) -> Result<ContainerSpec, OptError> {
        let (detach, flags) = parse(args);
        flags.to_spec(detach)
    }

    #[test]
    fn command_line_shapes() {
        let (detach, f) = parse(&["-itd", "--rm", "busybox", "sh", "-c", "echo -l"]);
        assert!(detach && f.interactive && f.tty);
        assert_eq!(f.rm.as_deref(), Some("true"));
        assert_eq!(f.args, ["busybox", "sh", "-c", "echo -l"]);
        // Flags after the image belong to the command.
        let (_, f) = parse(&["busybox", "-l", "x"]);
        assert_eq!(f.args, ["busybox", "-l", "x"]);
        assert!(f.label.is_empty());
        let (_, f) = parse(&["--rm=false", "busybox"]);
        assert_eq!(f.rm.as_deref(), Some("false"));
        let (_, f) = parse(&["--memory-swap", "-1", "-e", "A=1", "--env=B=2", "busybox"]);
        assert_eq!(f.memory_swap.as_deref(), Some("-1"));
        assert_eq!(f.env, ["A=1", "B=2"]);
    }

    #[test]
    fn default_body_matches_docker() {
        let s = spec(&["busybox"]).unwrap();
        let body = s.body();
        assert_eq!(body["Image"], "busybox");
        assert_eq!(body["AttachStdout"], true);
        assert_eq!(body["AttachStdin"], false);
        assert_eq!(body["Cmd"], Value::Null);
        assert_eq!(body["Labels"], json!({}));
        assert_eq!(body["HostConfig"]["NetworkMode"], "default");
        assert_eq!(
            body["HostConfig"]["RestartPolicy"],
            json!({"Name": "no", "MaximumRetryCount": 0})
        );
        assert!(body["NetworkingConfig"]["EndpointsConfig"]["default"].is_object());
        assert!(body["HostConfig"].get("Init").is_none());
        let s = spec(&["-i", "busybox"]).unwrap();
        assert_eq!(s.config["StdinOnce"], true);
        assert_eq!(s.config["OpenStdin"], true);
        // run -d never attaches.
        let s = Cmd::try_parse_from(["run", "-i", "busybox"])
            .unwrap()
            .flags
            .to_spec(true)
            .unwrap();
        assert_eq!(s.config["AttachStdin"], false);
        assert_eq!(s.config["StdinOnce"], false);
    }

    #[test]
    fn full_body() {
        let s = spec(&[
            "--name",
            "full",
            "-t",
            "-e",
            "X=1",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            "--entrypoint",
            "/bin/sh",
            "--init",
            "--restart",
            "on-failure:3",
            "-l",
            "a=b",
            "-h",
            "myhost",
            "--read-only",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "MKNOD",
            "--ulimit",
            "nofile=1024:2048",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--shm-size",
            "64m",
            "--pid",
            "host",
            "--network",
            "none",
            "-p",
            "8080:80",
            "-p",
            "127.0.0.1:9000-9001:90-91/udp",
            "-P",
            "--expose",
            "7000-7001",
            "-v",
            "/tmp:/data:ro",
            "-v",
            "/anon",
            "--tmpfs",
            "/run:rw,size=1m",
            "-m",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "1.5",
            "--pids-limit",
            "50",
            "--oom-kill-disable",
            "--stop-signal",
            "SIGINT",
            "--stop-timeout",
            "5",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=1m",
            "--device",
            "/dev/null:/dev/mynull:rw",
            "--health-cmd",
            "true",
            "--health-interval",
            "5s",
            "busybox",
            "-c",
            "echo hi",
        ])
        .unwrap();
        let b = s.body();
        let h = &b["HostConfig"];
        assert_eq!(s.name.as_deref(), Some("full"));
        assert_eq!(b["Cmd"], json!(["-c", "echo hi"]));
        assert_eq!(b["Entrypoint"], json!(["/bin/sh"]));
        assert_eq!(b["Tty"], true);
        assert_eq!(b["Healthcheck"]["Test"], json!(["CMD-SHELL", "true"]));
        assert_eq!(b["Healthcheck"]["Interval"], 5_000_000_000i64);
        assert_eq!(b["Volumes"], json!({"/anon": {}}));
        assert_eq!(b["StopTimeout"], 5);
        assert_eq!(
            b["ExposedPorts"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["7000/tcp", "7001/tcp", "80/tcp", "90/udp", "91/udp"]
        );
        assert_eq!(h["Binds"], json!(["/tmp:/data:ro"]));
        assert_eq!(
            h["PortBindings"]["90/udp"],
            json!([{"HostIp": "127.0.0.1", "HostPort": "9000"}])
        );
        assert_eq!(
            h["RestartPolicy"],
            json!({"Name": "on-failure", "MaximumRetryCount": 3})
        );
        assert_eq!(h["CapAdd"], json!(["CAP_NET_ADMIN"]));
        assert_eq!(h["Memory"], 67108864);
        assert_eq!(h["MemorySwap"], 134217728);
        assert_eq!(h["NanoCpus"], 1_500_000_000i64);
        assert_eq!(h["ShmSize"], 67108864);
        assert_eq!(
            h["Ulimits"],
            json!([{"Name": "nofile", "Hard": 2048, "Soft": 1024}])
        );
        assert_eq!(h["Tmpfs"], json!({"/run": "rw,size=1m"}));
        assert_eq!(h["Init"], true);
        assert_eq!(h["OomKillDisable"], true);
        assert_eq!(h["PidsLimit"], 50);
        assert_eq!(h["NetworkMode"], "none");
        assert_eq!(
            h["LogConfig"],
            json!({"Type": "json-file", "Config": {"max-size": "1m"}})
        );
        assert_eq!(b["NetworkingConfig"], json!({"EndpointsConfig": {}}));
    }

    #[test]
    fn user_network_endpoint() {
        let s = spec(&[
            "--network",
            "mynet",
            "--network-alias",
            "al",
            "--ip",
            "172.17.0.5",
            "--link",
            "a:b",
            "busybox",
        ])
        .unwrap();
        let ep = &s.networking["EndpointsConfig"]["mynet"];
        assert_eq!(ep["Aliases"], json!(["al"]));
        assert_eq!(ep["Links"], json!(["a:b"]));
        assert_eq!(ep["IPAMConfig"], json!({"IPv4Address": "172.17.0.5"}));
        assert_eq!(
            spec(&["--network-alias", "x", "busybox"])
                .unwrap_err()
                .to_string(),
            "network-scoped aliases are only supported for user-defined networks"
        );
        assert_eq!(
            spec(&["--network", "host", "--network", "mynet", "busybox"]).unwrap_err().to_string(),
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
        );
    }

    #[test]
    fn docker_error_messages() {
        let err = |args: &[&str]| spec(args).unwrap_err().to_string();
        assert_eq!(
            err(&["-m", "x", "busybox"]),
            "invalid argument \"x\" for \"-m, --memory\" flag: invalid size: 'x'"
        );
        assert_eq!(
            err(&["--memory-reservation", "1q", "busybox"]),
            "invalid argument \"1q\" for \"--memory-reservation\" flag: invalid suffix: 'q'"
        );
        assert_eq!(
            err(&["--rm", "--restart", "always", "busybox"]),
            "conflicting options: cannot specify both --restart and --rm"
        );
        assert!(spec(&["--rm", "--restart", "no", "busybox"]).is_ok());
        assert_eq!(
            err(&["--ulimit", "nofile", "busybox"]),
            "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile"
        );
        assert_eq!(
            err(&["-a", "bogus", "busybox"]),
            "invalid argument \"bogus\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
        );
        assert_eq!(err(&["-p", "abc", "busybox"]), "invalid containerPort: abc");
        assert_eq!(
            err(&["--pid", "bogus", "busybox"]),
            "--pid: invalid PID mode"
        );
        assert_eq!(
            err(&["--uts", "bogus", "busybox"]),
            "--uts: invalid UTS mode"
        );
        assert_eq!(
            err(&["--health-cmd", "x", "--no-healthcheck", "busybox"]),
            "--no-healthcheck conflicts with --health-* options"
        );
        assert_eq!(
            err(&["--pull", "sometimes", "busybox"]),
            "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""
        );
        assert_eq!(
            err(&["--cpus", "abc", "busybox"]),
            "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"
        );
        assert_eq!(
            err(&["--stop-timeout", "x", "busybox"]),
            "invalid argument \"x\" for \"--stop-timeout\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err(&["--health-interval", "1", "busybox"]),
            "invalid argument \"1\" for \"--health-interval\" flag: time: missing unit in duration \"1\""
        );
        assert_eq!(
            err(&["-e", "=x", "busybox"]),
            "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x"
        );
        assert_eq!(
            err(&["--env-file", "/nonexistent", "busybox"]),
            "open /nonexistent: no such file or directory"
        );
        assert_eq!(
            err(&["--mac-address", "zz", "busybox"]),
            "zz is not a valid mac address"
        );
        assert_eq!(
            err(&["--mount", "src=/x", "busybox"]),
            "invalid argument \"src=/x\" for \"--mount\" flag: target is required"
        );
        assert_eq!(
            err(&["-v", ":/x", "busybox"]),
            "invalid spec: :/x: empty section between colons"
        );
        assert_eq!(
            err(&["--device", ":/x", "busybox"]),
            "bad format for path: :/x"
        );
    }
}
