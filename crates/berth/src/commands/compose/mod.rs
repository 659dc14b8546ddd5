//! `berth compose`: multi-container projects from Compose files. The model (files,
//! interpolation, merging, validation, config hash) lives in `berth-compose`; this module
//! holds the command line and the Engine API calls, one file per verb.

mod build;
mod config;
mod convergence;
mod create;
mod down;
mod events;
mod exec;
mod images;
mod lifecycle;
mod logs;
mod ls;
mod port;
mod project;
mod ps;
mod pull;
mod push;
mod resources;
mod rm;
mod run;
mod state;
mod top;
mod up;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::client;
use crate::commands::Context;

/// Labels Compose puts on what it creates; other tools (and `up` itself) find the
/// project's objects by them.
pub mod labels {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const NUMBER: &str = "com.docker.compose.container-number";
    pub const HASH: &str = "com.docker.compose.config-hash";
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    pub const VERSION: &str = "com.docker.compose.version";
    pub const IMAGE: &str = "com.docker.compose.image";
    pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
    pub const NETWORK: &str = "com.docker.compose.network";
    pub const VOLUME: &str = "com.docker.compose.volume";
}

/// The Compose version Berth writes in `com.docker.compose.version`.
pub const COMPOSE_VERSION: &str = "2.29.0";

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Compose configuration files
    #[arg(short = 'f', long = "file", value_name = "stringArray")]
    pub files: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name", value_name = "string")]
    pub project_name: Option<String>,
    /// Specify an alternate working directory (default: the path of the first Compose file)
    #[arg(long = "project-directory", value_name = "string")]
    pub project_directory: Option<PathBuf>,
    /// Specify an alternate environment file
    #[arg(long = "env-file", value_name = "stringArray")]
    pub env_file: Vec<PathBuf>,
    /// Specify a profile to enable
    #[arg(long = "profile", value_name = "stringArray")]
    pub profile: Vec<String>,
    /// Control when to print ANSI control characters ("never"|"always"|"auto")
    #[arg(long = "ansi", value_name = "string", default_value = "auto")]
    pub ansi: String,
    /// Set type of progress output (auto, tty, plain, quiet)
    #[arg(long = "progress", value_name = "string")]
    pub progress: Option<String>,
    #[command(subcommand)]
    pub command: ComposeCommand,
}

#[derive(Debug, Subcommand)]
pub enum ComposeCommand {
    /// Build or rebuild services
    Build(build::BuildArgs),
    /// Parse, resolve and render compose file in canonical format
    Config(config::ConfigArgs),
    /// Creates containers for a service
    Create(up::CreateArgs),
    /// Stop and remove containers, networks
    Down(down::DownArgs),
    /// Receive real time events from containers
    Events(events::EventsArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// List images used by the created containers
    Images(images::ImagesArgs),
    /// Force stop service containers
    Kill(lifecycle::KillArgs),
    /// View output from containers
    Logs(logs::LogsArgs),
    /// List running compose projects
    Ls(ls::LsArgs),
    /// Pause services
    Pause(lifecycle::ServicesArgs),
    /// Print the public port for a port binding
    Port(port::PortArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// Pull service images
    Pull(pull::PullArgs),
    /// Push service images
    Push(push::PushArgs),
    /// Restart service containers
    Restart(lifecycle::TimeoutArgs),
    /// Removes stopped service containers
    Rm(rm::RmArgs),
    /// Run a one-off command on a service
    Run(run::RunArgs),
    /// Start services
    Start(lifecycle::ServicesArgs),
    /// Stop services
    Stop(lifecycle::TimeoutArgs),
    /// Display the running processes
    Top(top::TopArgs),
    /// Unpause services
    Unpause(lifecycle::ServicesArgs),
    /// Create and start containers
    Up(up::UpArgs),
    /// Show the Docker Compose version information
    Version(VersionArgs),
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Shows only Compose's version number
    #[arg(long = "short")]
    pub short: bool,
    /// Format the output. Values: [pretty | json]
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
}

pub async fn run(ctx: &mut Context, args: ComposeArgs) -> client::Result<u8> {
    let options = project::Options::from_args(&args);
    match args.command {
        ComposeCommand::Config(a) => config::run(&options, a),
        ComposeCommand::Version(a) => {
            if a.short {
                println!("{COMPOSE_VERSION}");
            } else if a.format.as_deref() == Some("json") {
                println!("{{\"version\":\"v{COMPOSE_VERSION}\"}}");
            } else {
                println!("Berth Compose version v{COMPOSE_VERSION}");
            }
            Ok(0)
        }
        ComposeCommand::Ls(a) => ls::run(ctx, a).await,
        ComposeCommand::Build(a) => build::run(ctx, &options, a).await,
        ComposeCommand::Create(a) => up::create(ctx, &options, a).await,
        ComposeCommand::Down(a) => down::run(ctx, &options, a).await,
        ComposeCommand::Events(a) => events::run(ctx, &options, a).await,
        ComposeCommand::Exec(a) => exec::run(ctx, &options, a).await,
        ComposeCommand::Images(a) => images::run(ctx, &options, a).await,
        ComposeCommand::Kill(a) => lifecycle::kill(ctx, &options, a).await,
        ComposeCommand::Logs(a) => logs::run(ctx, &options, a).await,
        ComposeCommand::Pause(a) => lifecycle::pause(ctx, &options, a, true).await,
        ComposeCommand::Unpause(a) => lifecycle::pause(ctx, &options, a, false).await,
        ComposeCommand::Port(a) => port::run(ctx, &options, a).await,
        ComposeCommand::Ps(a) => ps::run(ctx, &options, a).await,
        ComposeCommand::Pull(a) => pull::run(ctx, &options, a).await,
        ComposeCommand::Push(a) => push::run(ctx, &options, a).await,
        ComposeCommand::Restart(a) => lifecycle::restart(ctx, &options, a).await,
        ComposeCommand::Rm(a) => rm::run(ctx, &options, a).await,
        ComposeCommand::Run(a) => run::run(ctx, &options, a).await,
        ComposeCommand::Start(a) => lifecycle::start(ctx, &options, a).await,
        ComposeCommand::Stop(a) => lifecycle::stop(ctx, &options, a).await,
        ComposeCommand::Top(a) => top::run(ctx, &options, a).await,
        ComposeCommand::Up(a) => up::run(ctx, &options, a).await,
    }
}
