//! Command-line flags, named as dockerd names them.

use std::path::PathBuf;

use clap::Parser;

pub const DEFAULT_SOCKET: &str = "unix:///var/run/berth.sock";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_EXEC_ROOT: &str = "/run/berth";
pub const DEFAULT_PIDFILE: &str = "/var/run/berthd.pid";

#[derive(Debug, Parser)]
#[command(
    name = "berthd",
    version,
    about = "A self-sufficient runtime for containers: serves the Docker Engine API",
    override_usage = "berthd [OPTIONS]"
)]
pub struct Flags {
    /// Daemon socket(s) to connect to (unix://PATH, tcp://HOST:PORT)
    #[arg(short = 'H', long = "host", value_name = "list")]
    pub hosts: Vec<String>,

    /// Root directory of persistent Berth state
    #[arg(long = "data-root", value_name = "string", default_value = DEFAULT_DATA_ROOT)]
    pub data_root: PathBuf,

    /// Root directory for execution state files
    #[arg(long = "exec-root", value_name = "string", default_value = DEFAULT_EXEC_ROOT)]
    pub exec_root: PathBuf,

    /// Path to use for daemon PID file
    #[arg(short = 'p', long = "pidfile", value_name = "string", default_value = DEFAULT_PIDFILE)]
    pub pidfile: PathBuf,

    /// Daemon configuration file
    #[arg(long = "config-file", value_name = "string", default_value = DEFAULT_CONFIG_FILE)]
    pub config_file: PathBuf,

    /// Enable debug mode
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,

    /// Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")
    #[arg(
        short = 'l',
        long = "log-level",
        value_name = "string",
        default_value = "info"
    )]
    pub log_level: String,

    /// Use TLS; implied by --tlsverify
    #[arg(long = "tls")]
    pub tls: bool,

    /// Use TLS and verify the remote (clients must present a certificate signed by the CA)
    #[arg(long = "tlsverify")]
    pub tlsverify: bool,

    /// Trust certs signed only by this CA
    #[arg(long = "tlscacert", value_name = "string")]
    pub tlscacert: Option<PathBuf>,

    /// Path to TLS certificate file
    #[arg(long = "tlscert", value_name = "string")]
    pub tlscert: Option<PathBuf>,

    /// Path to TLS key file
    #[arg(long = "tlskey", value_name = "string")]
    pub tlskey: Option<PathBuf>,

    /// Group for the unix socket
    #[arg(
        short = 'G',
        long = "group",
        value_name = "string",
        default_value = "docker"
    )]
    pub group: String,

    /// Set key=value labels to the daemon
    #[arg(long = "label", value_name = "list")]
    pub labels: Vec<String>,

    /// DNS server to use
    #[arg(long = "dns", value_name = "list")]
    pub dns: Vec<String>,

    /// Enable live restore of containers when the daemon stops
    #[arg(long = "live-restore")]
    pub live_restore: bool,

    /// Enable addition of iptables rules
    #[arg(long = "iptables", value_name = "bool", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub iptables: bool,

    /// Preferred registry mirror
    #[arg(long = "registry-mirror", value_name = "list")]
    pub registry_mirrors: Vec<String>,

    /// Enable insecure registry communication
    #[arg(long = "insecure-registry", value_name = "list")]
    pub insecure_registries: Vec<String>,

    /// Folder of per-registry certificates (<dir>/<host:port>/ca.crt, client.cert, client.key)
    #[arg(
        long = "registry-certs-dir",
        value_name = "path",
        default_value = "/etc/berth/certs.d"
    )]
    pub registry_certs_dir: PathBuf,

    /// Attach containers to a network bridge ("none" disables the default network)
    #[arg(
        short = 'b',
        long = "bridge",
        value_name = "string",
        default_value = "berth0"
    )]
    pub bridge: String,

    /// Network bridge IP (gateway address and prefix, e.g. 10.1.0.1/16)
    #[arg(long = "bip", value_name = "string")]
    pub bip: Option<String>,

    /// IPv4 subnet for fixed IPs
    #[arg(long = "fixed-cidr", value_name = "string")]
    pub fixed_cidr: Option<String>,

    /// Set the containers network MTU
    #[arg(long = "mtu", value_name = "int")]
    pub mtu: Option<u32>,

    /// Enable inter-container communication
    #[arg(long = "icc", value_name = "bool", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub icc: bool,

    /// Enable net.ipv4.ip_forward
    #[arg(long = "ip-forward", value_name = "bool", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub ip_forward: bool,

    /// Prefix of Berth's firewall chains (lets several daemons share a host)
    #[arg(
        long = "firewall-chain-prefix",
        value_name = "string",
        default_value = "BERTH"
    )]
    pub firewall_prefix: String,

    /// Default driver for container logs
    #[arg(
        long = "log-driver",
        value_name = "string",
        default_value = "json-file"
    )]
    pub log_driver: String,
}
