//! The command line: docker's global flags, commands and help layout.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::image::{
    history::HistoryArgs, import::ImportArgs, inspect::InspectArgs, load::LoadArgs, ls::ImagesArgs,
    prune::PruneArgs, rm::RmiArgs, save::SaveArgs, tag::TagArgs,
};
use crate::commands::{
    events::EventsArgs, info::InfoArgs, system_df::DfArgs, version::VersionArgs,
};

/// Docker's top-level help, grouped as `docker --help` groups it.
const ROOT_HELP: &str = "\
Usage:  berth [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
  images      List images
  version     Show the Berth version information
  info        Display system-wide information

Management Commands:
  image       Manage images
  system      Manage Berth

Commands:
  events      Get real time events from the server
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Return low-level information on Berth objects
  load        Load an image from a tar archive or STDIN
  rmi         Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE

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
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    #[command(help_template = COMMAND_HELP, override_usage = "berth save [OPTIONS] IMAGE [IMAGE...]")]
    Save(SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[command(help_template = COMMAND_HELP, override_usage = "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")]
    Tag(TagArgs),
    /// Manage images
    #[command(
        subcommand,
        help_template = "Usage:  berth image COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth image COMMAND --help' for more information on a command.\n"
    )]
    Image(ImageCommand),
    /// Manage Berth
    #[command(
        subcommand,
        help_template = "Usage:  berth system COMMAND\n\n{about}\n\nCommands:\n{subcommands}\n\nRun 'berth system COMMAND --help' for more information on a command.\n"
    )]
    System(SystemCommand),
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
