//! The command line: docker's global flags, commands and help layout.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::build::{prune::BuilderPruneArgs, BuildArgs};
use crate::commands::container::{
    attach::AttachArgs, commit::CommitArgs, cp::CpArgs, create::CreateArgs, diff::DiffArgs,
    exec::ExecArgs, export::ExportArgs, inspect::ContainerInspectArgs, kill::KillArgs,
    logs::LogsArgs, pause::PauseArgs, port::PortArgs, prune::ContainerPruneArgs, ps::PsArgs,
    rename::RenameArgs, restart::RestartArgs, rm::RmArgs, run::RunArgs, start::StartArgs,
    stats::StatsArgs, stop::StopArgs, top::TopArgs, unpause::UnpauseArgs, update::UpdateArgs,
    wait::WaitArgs,
};
use crate::commands::image::{
    history::HistoryArgs, import::ImportArgs, inspect::InspectArgs, load::LoadArgs,
    login::LoginArgs, login::LogoutArgs, ls::ImagesArgs, prune::PruneArgs, pull::PullArgs,
    push::PushArgs, rm::RmiArgs, save::SaveArgs, search::SearchArgs, tag::TagArgs,
};
use crate::commands::network::{
    connect::NetworkConnectArgs, create::NetworkCreateArgs, disconnect::NetworkDisconnectArgs,
    inspect::NetworkInspectArgs, ls::NetworkLsArgs, prune::NetworkPruneArgs, rm::NetworkRmArgs,
};
use crate::commands::volume::{
    create::VolumeCreateArgs, inspect::VolumeInspectArgs, ls::VolumeLsArgs, prune::VolumePruneArgs,
    rm::VolumeRmArgs,
};
use crate::commands::{
    events::EventsArgs, info::InfoArgs, system_df::DfArgs, version::VersionArgs,
};

/// Docker's top-level help, grouped as `docker --help` groups it.
const ROOT_HELP: &str = "\
Usage:  berth [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
  run         Create and run a new container from an image
  exec        Execute a command in a running container
  ps          List containers
  images      List images
  pull        Download an image from a registry
  push        Upload an image to a registry
  version     Show the Berth version information
  info        Display system-wide information

Management Commands:
  builder     Manage builds
  compose     Define and run multi-container applications
  container   Manage containers
  image       Manage images
  network     Manage networks
  system      Manage Berth
  volume      Manage volumes

Commands:
  attach      Attach local standard input, output, and error streams to a running container
  build       Build an image from a Dockerfile
  commit      Create a new image from a container's changes
  cp          Copy files/folders between a container and the local filesystem
  create      Create a new container
  diff        Inspect changes to files or directories on a container's filesystem
  events      Get real time events from the server
  export      Export a container's filesystem as a tar archive
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Return low-level information on Berth objects
  kill        Kill one or more running containers
  load        Load an image from a tar archive or STDIN
  login       Log in to a registry
  logout      Log out from a registry
  logs        Fetch the logs of a container
  pause       Pause all processes within one or more containers
  port        List port mappings or a specific mapping for the container
  rename      Rename a container
  restart     Restart one or more containers
  rm          Remove one or more containers
  rmi         Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  search      Search Docker Hub for images
  start       Start one or more stopped containers
  stats       Display a live stream of container(s) resource usage statistics
  stop        Stop one or more running containers
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  update      Update configuration of one or more containers
  wait        Block until one or more containers stop, then print their exit codes

Global Options:
{options}

Run 'berth COMMAND --help' for more information on a command.
";

const COMMAND_HELP: &str = "Usage:  {usage}\n\n{about}\n\n{all-args}{after-help}";

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    about = "A self-sufficient runtime for containers",
    disable_version_flag = true,
    help_template = ROOT_HELP,
    subcommand_required = false,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalFlags,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalFlags {
    /// Location of client config files
    #[arg(long = "config", value_name = "string")]
    pub config: Option<PathBuf>,

    /// Enable debug mode
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,

    /// Daemon socket to connect to
    #[arg(short = 'H', long = "host", value_name = "list")]
    pub host: Option<String>,

    /// Set the logging level ("debug", "info", "warn", "error", "fatal")
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

    /// Trust certs signed only by this CA
    #[arg(long = "tlscacert", value_name = "string")]
    pub tlscacert: Option<PathBuf>,

    /// Path to TLS certificate file
    #[arg(long = "tlscert", value_name = "string")]
    pub tlscert: Option<PathBuf>,

    /// Path to TLS key file
    #[arg(long = "tlskey", value_name = "string")]
    pub tlskey: Option<PathBuf>,

    /// Use TLS and verify the remote
    #[arg(long = "tlsverify")]
    pub tlsverify: bool,

    /// Print version information and quit
    #[arg(short = 'v', long = "version")]
    pub version: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the Berth version information
    #[command(help_template = COMMAND_HELP, override_usage = "berth version [OPTIONS]")]
    Version(VersionArgs),
    /// Display system-wide information
    #[command(help_template = COMMAND_HELP, override_usage = "berth info [OPTIONS]")]
    Info(InfoArgs),
    /// Get real time events from the server
    #[command(help_template = COMMAND_HELP, override_usage = "berth events [OPTIONS]")]
    Events(EventsArgs),
    /// List images
    #[command(help_template = COMMAND_HELP, override_usage = "berth images [OPTIONS] [REPOSITORY[:TAG]]")]
    Images(ImagesArgs),
    /// Show the history of an image
    #[command(help_template = COMMAND_HELP, override_usage = "berth history [OPTIONS] IMAGE")]
    History(HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    #[command(help_template = COMMAND_HELP, override_usage = "berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]")]
    Import(ImportArgs),
    /// Return low-level information on Berth objects
    #[command(help_template = COMMAND_HELP, override_usage = "berth inspect [OPTIONS] NAME|ID [NAME|ID...]")]
    Inspect(InspectArgs),
    /// Load an image from a tar archive or STDIN
    #[command(help_template = COMMAND_HELP, override_usage = "berth load [OPTIONS]")]
    Load(LoadArgs),
    /// Remove one or more images
    #[command(help_template = COMMAND_HELP, override_usage = "berth rmi [OPTIONS] IMAGE [IMAGE...]")]
    Rmi(RmiArgs),
    /// Download an image from a registry
    #[command(help_template = COMMAND_HELP, override_usage = "berth pull [OPTIONS] NAME[:TAG|@DIGEST]")]
    Pull(PullArgs),
    /// Log in to a registry
    #[command(help_template = COMMAND_HELP, override_usage = "berth login [OPTIONS] [SERVER]")]
    Login(LoginArgs),
    /// Log out from a registry
    #[command(help_template = COMMAND_HELP, override_usage = "berth logout [SERVER]")]
    Logout(LogoutArgs),
    /// Search Docker Hub for images
    #[command(help_template = COMMAND_HELP, override_usage = "berth search [OPTIONS] TERM")]
    Search(SearchArgs),
    /// Upload an image to a registry
    #[command(help_template = COMMAND_HELP, override_usage = "berth push [OPTIONS] NAME[:TAG]")]
    Push(PushArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    #[command(help_template = COMMAND_HELP, override_usage = "berth save [OPTIONS] IMAGE [IMAGE...]")]
    Save(SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[command(help_template = COMMAND_HELP, override_usage = "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")]
    Tag(TagArgs),
    /// Define and run multi-container applications
    #[command(name = "compose")]
    Compose(crate::commands::compose::ComposeArgs),
    /// Manage images
    #[command(
        subcommand,
        help_template = "Usage:  berth image COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth image COMMAND --help' for more information on a command.\n"
    )]
    Image(ImageCommand),
    /// Create and run a new container from an image
    #[command(disable_help_flag = true, help_template = COMMAND_HELP, override_usage = "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Run(RunArgs),
    /// Create a new container
    #[command(disable_help_flag = true, help_template = COMMAND_HELP, override_usage = "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Create(CreateArgs),
    /// List containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth ps [OPTIONS]")]
    Ps(PsArgs),
    /// Start one or more stopped containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth start [OPTIONS] CONTAINER [CONTAINER...]")]
    Start(StartArgs),
    /// Stop one or more running containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth stop [OPTIONS] CONTAINER [CONTAINER...]")]
    Stop(StopArgs),
    /// Restart one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth restart [OPTIONS] CONTAINER [CONTAINER...]")]
    Restart(RestartArgs),
    /// Kill one or more running containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth kill [OPTIONS] CONTAINER [CONTAINER...]")]
    Kill(KillArgs),
    /// Remove one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth rm [OPTIONS] CONTAINER [CONTAINER...]")]
    Rm(RmArgs),
    /// Block until one or more containers stop, then print their exit codes
    #[command(help_template = COMMAND_HELP, override_usage = "berth wait CONTAINER [CONTAINER...]")]
    Wait(WaitArgs),
    /// Fetch the logs of a container
    #[command(help_template = COMMAND_HELP, override_usage = "berth logs [OPTIONS] CONTAINER")]
    Logs(LogsArgs),
    /// Attach local standard input, output, and error streams to a running container
    #[command(help_template = COMMAND_HELP, override_usage = "berth attach [OPTIONS] CONTAINER")]
    Attach(AttachArgs),
    /// Rename a container
    #[command(help_template = COMMAND_HELP, override_usage = "berth rename CONTAINER NEW_NAME")]
    Rename(RenameArgs),
    /// Pause all processes within one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth pause CONTAINER [CONTAINER...]")]
    Pause(PauseArgs),
    /// Unpause all processes within one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth unpause CONTAINER [CONTAINER...]")]
    Unpause(UnpauseArgs),
    /// List port mappings or a specific mapping for the container
    #[command(help_template = COMMAND_HELP, override_usage = "berth port CONTAINER [PRIVATE_PORT[/PROTO]]")]
    Port(PortArgs),
    /// Display the running processes of a container
    #[command(help_template = COMMAND_HELP, override_usage = "berth top CONTAINER [ps OPTIONS]")]
    Top(TopArgs),
    /// Execute a command in a running container
    #[command(help_template = COMMAND_HELP, override_usage = "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
    Exec(ExecArgs),
    /// Copy files/folders between a container and the local filesystem
    #[command(help_template = COMMAND_HELP, override_usage = "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")]
    Cp(CpArgs),
    /// Display a live stream of container(s) resource usage statistics
    #[command(help_template = COMMAND_HELP, override_usage = "berth stats [OPTIONS] [CONTAINER...]")]
    Stats(StatsArgs),
    /// Inspect changes to files or directories on a container's filesystem
    #[command(help_template = COMMAND_HELP, override_usage = "berth diff CONTAINER")]
    Diff(DiffArgs),
    /// Create a new image from a container's changes
    #[command(help_template = COMMAND_HELP, override_usage = "berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")]
    Commit(CommitArgs),
    /// Export a container's filesystem as a tar archive
    #[command(help_template = COMMAND_HELP, override_usage = "berth export [OPTIONS] CONTAINER")]
    Export(ExportArgs),
    /// Update configuration of one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth update [OPTIONS] CONTAINER [CONTAINER...]")]
    Update(UpdateArgs),
    /// Build an image from a Dockerfile
    #[command(help_template = COMMAND_HELP, override_usage = "berth build [OPTIONS] PATH | URL | -")]
    Build(BuildArgs),
    /// Manage builds
    #[command(
        subcommand,
        help_template = "Usage:  berth builder COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth builder COMMAND --help' for more information on a command.\n"
    )]
    Builder(BuilderCommand),
    /// Manage containers
    #[command(
        subcommand,
        help_template = "Usage:  berth container COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth container COMMAND --help' for more information on a command.\n"
    )]
    Container(ContainerCommand),
    /// Manage Berth
    #[command(
        subcommand,
        help_template = "Usage:  berth system COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth system COMMAND --help' for more information on a command.\n"
    )]
    System(SystemCommand),
    /// Manage networks
    #[command(
        subcommand,
        help_template = "Usage:  berth network COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth network COMMAND --help' for more information on a command.\n"
    )]
    Network(NetworkCommand),
    /// Manage volumes
    #[command(
        subcommand,
        help_template = "Usage:  berth volume COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth volume COMMAND --help' for more information on a command.\n"
    )]
    Volume(VolumeCommand),
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum BuilderCommand {
    /// Build an image from a Dockerfile
    #[command(help_template = COMMAND_HELP, override_usage = "berth builder build [OPTIONS] PATH | URL | -")]
    Build(BuildArgs),
    /// Remove build cache
    #[command(help_template = COMMAND_HELP, override_usage = "berth builder prune")]
    Prune(BuilderPruneArgs),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show docker disk usage
    #[command(help_template = COMMAND_HELP, override_usage = "berth system df [OPTIONS]")]
    Df(DfArgs),
    /// Get real time events from the server
    #[command(help_template = COMMAND_HELP, override_usage = "berth system events [OPTIONS]")]
    Events(EventsArgs),
    /// Display system-wide information
    #[command(help_template = COMMAND_HELP, override_usage = "berth system info [OPTIONS]")]
    Info(InfoArgs),
    /// Remove unused data
    #[command(help_template = COMMAND_HELP, override_usage = "berth system prune [OPTIONS]")]
    Prune(crate::commands::system_prune::SystemPruneArgs),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Show the history of an image
    #[command(help_template = COMMAND_HELP, override_usage = "berth image history [OPTIONS] IMAGE")]
    History(HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    #[command(help_template = COMMAND_HELP, override_usage = "berth image import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]")]
    Import(ImportArgs),
    /// Display detailed information on one or more images
    #[command(help_template = COMMAND_HELP, override_usage = "berth image inspect [OPTIONS] IMAGE [IMAGE...]")]
    Inspect(InspectArgs),
    /// Load an image from a tar archive or STDIN
    #[command(help_template = COMMAND_HELP, override_usage = "berth image load [OPTIONS]")]
    Load(LoadArgs),
    /// List images
    #[command(visible_alias = "list", help_template = COMMAND_HELP, override_usage = "berth image ls [OPTIONS] [REPOSITORY[:TAG]]")]
    Ls(ImagesArgs),
    /// Download an image from a registry
    #[command(help_template = COMMAND_HELP, override_usage = "berth image pull [OPTIONS] NAME[:TAG|@DIGEST]")]
    Pull(PullArgs),
    /// Upload an image to a registry
    #[command(help_template = COMMAND_HELP, override_usage = "berth image push [OPTIONS] NAME[:TAG]")]
    Push(PushArgs),
    /// Remove unused images
    #[command(help_template = COMMAND_HELP, override_usage = "berth image prune [OPTIONS]")]
    Prune(PruneArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove", help_template = COMMAND_HELP, override_usage = "berth image rm [OPTIONS] IMAGE [IMAGE...]")]
    Rm(RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    #[command(help_template = COMMAND_HELP, override_usage = "berth image save [OPTIONS] IMAGE [IMAGE...]")]
    Save(SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[command(help_template = COMMAND_HELP, override_usage = "berth image tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")]
    Tag(TagArgs),
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    #[command(help_template = COMMAND_HELP, override_usage = "berth container attach [OPTIONS] CONTAINER")]
    Attach(AttachArgs),
    /// Create a new image from a container's changes
    #[command(help_template = COMMAND_HELP, override_usage = "berth container commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")]
    Commit(CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    #[command(help_template = COMMAND_HELP, override_usage = "berth container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth container cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")]
    Cp(CpArgs),
    /// Create a new container
    #[command(disable_help_flag = true, help_template = COMMAND_HELP, override_usage = "berth container create [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Create(CreateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    #[command(help_template = COMMAND_HELP, override_usage = "berth container diff CONTAINER")]
    Diff(DiffArgs),
    /// Execute a command in a running container
    #[command(help_template = COMMAND_HELP, override_usage = "berth container exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
    Exec(ExecArgs),
    /// Export a container's filesystem as a tar archive
    #[command(help_template = COMMAND_HELP, override_usage = "berth container export [OPTIONS] CONTAINER")]
    Export(ExportArgs),
    /// Display detailed information on one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container inspect [OPTIONS] CONTAINER [CONTAINER...]")]
    Inspect(ContainerInspectArgs),
    /// Kill one or more running containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container kill [OPTIONS] CONTAINER [CONTAINER...]")]
    Kill(KillArgs),
    /// Fetch the logs of a container
    #[command(help_template = COMMAND_HELP, override_usage = "berth container logs [OPTIONS] CONTAINER")]
    Logs(LogsArgs),
    /// List containers
    #[command(visible_aliases = ["list", "ps"], help_template = COMMAND_HELP, override_usage = "berth container ls [OPTIONS]")]
    Ls(PsArgs),
    /// Pause all processes within one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container pause CONTAINER [CONTAINER...]")]
    Pause(PauseArgs),
    /// List port mappings or a specific mapping for the container
    #[command(help_template = COMMAND_HELP, override_usage = "berth container port CONTAINER [PRIVATE_PORT[/PROTO]]")]
    Port(PortArgs),
    /// Remove all stopped containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container prune [OPTIONS]")]
    Prune(ContainerPruneArgs),
    /// Rename a container
    #[command(help_template = COMMAND_HELP, override_usage = "berth container rename CONTAINER NEW_NAME")]
    Rename(RenameArgs),
    /// Restart one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container restart [OPTIONS] CONTAINER [CONTAINER...]")]
    Restart(RestartArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove", help_template = COMMAND_HELP, override_usage = "berth container rm [OPTIONS] CONTAINER [CONTAINER...]")]
    Rm(RmArgs),
    /// Create and run a new container from an image
    #[command(disable_help_flag = true, help_template = COMMAND_HELP, override_usage = "berth container run [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Run(RunArgs),
    /// Start one or more stopped containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container start [OPTIONS] CONTAINER [CONTAINER...]")]
    Start(StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    #[command(help_template = COMMAND_HELP, override_usage = "berth container stats [OPTIONS] [CONTAINER...]")]
    Stats(StatsArgs),
    /// Stop one or more running containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container stop [OPTIONS] CONTAINER [CONTAINER...]")]
    Stop(StopArgs),
    /// Display the running processes of a container
    #[command(help_template = COMMAND_HELP, override_usage = "berth container top CONTAINER [ps OPTIONS]")]
    Top(TopArgs),
    /// Unpause all processes within one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container unpause CONTAINER [CONTAINER...]")]
    Unpause(UnpauseArgs),
    /// Update configuration of one or more containers
    #[command(help_template = COMMAND_HELP, override_usage = "berth container update [OPTIONS] CONTAINER [CONTAINER...]")]
    Update(UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    #[command(help_template = COMMAND_HELP, override_usage = "berth container wait CONTAINER [CONTAINER...]")]
    Wait(WaitArgs),
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    #[command(help_template = COMMAND_HELP, override_usage = "berth volume create [OPTIONS] [VOLUME]")]
    Create(VolumeCreateArgs),
    /// Display detailed information on one or more volumes
    #[command(help_template = COMMAND_HELP, override_usage = "berth volume inspect [OPTIONS] VOLUME [VOLUME...]")]
    Inspect(VolumeInspectArgs),
    /// List volumes
    #[command(visible_alias = "list", help_template = COMMAND_HELP, override_usage = "berth volume ls [OPTIONS]")]
    Ls(VolumeLsArgs),
    /// Remove unused local volumes
    #[command(help_template = COMMAND_HELP, override_usage = "berth volume prune [OPTIONS]")]
    Prune(VolumePruneArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove", help_template = COMMAND_HELP, override_usage = "berth volume rm [OPTIONS] VOLUME [VOLUME...]")]
    Rm(VolumeRmArgs),
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Connect a container to a network
    #[command(help_template = COMMAND_HELP, override_usage = "berth network connect [OPTIONS] NETWORK CONTAINER")]
    Connect(NetworkConnectArgs),
    /// Create a network
    #[command(help_template = COMMAND_HELP, override_usage = "berth network create [OPTIONS] NETWORK")]
    Create(NetworkCreateArgs),
    /// Disconnect a container from a network
    #[command(help_template = COMMAND_HELP, override_usage = "berth network disconnect [OPTIONS] NETWORK CONTAINER")]
    Disconnect(NetworkDisconnectArgs),
    /// Display detailed information on one or more networks
    #[command(help_template = COMMAND_HELP, override_usage = "berth network inspect [OPTIONS] NETWORK [NETWORK...]")]
    Inspect(NetworkInspectArgs),
    /// List networks
    #[command(visible_alias = "list", help_template = COMMAND_HELP, override_usage = "berth network ls [OPTIONS]")]
    Ls(NetworkLsArgs),
    /// Remove all unused networks
    #[command(help_template = COMMAND_HELP, override_usage = "berth network prune [OPTIONS]")]
    Prune(NetworkPruneArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove", help_template = COMMAND_HELP, override_usage = "berth network rm NETWORK [NETWORK...]")]
    Rm(NetworkRmArgs),
}
