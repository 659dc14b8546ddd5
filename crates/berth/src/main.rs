//! berth: the Docker-compatible command line for berthd (and any Docker Engine API).

mod cli;
mod client;
mod commands;
mod output;
mod progress;
mod timespec;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::NetworkCommand;
use crate::cli::{
    BuilderCommand, Cli, Command, ContainerCommand, ImageCommand, SystemCommand, VolumeCommand,
};
use crate::client::{ClientError, ConnectionFlags};
use crate::commands::container;
use crate::commands::image;
use crate::commands::Context;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                // docker exits 125 when it cannot understand the command line.
                _ => 125,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if cli.global.version {
        println!(
            "Berth version {}, build {}",
            berth_api::build_info::VERSION,
            berth_api::build_info::GIT_COMMIT
        );
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        return ExitCode::SUCCESS;
    };
    let flags = ConnectionFlags {
        host: cli.global.host.clone(),
        tls: cli.global.tls,
        tlsverify: cli.global.tlsverify,
        tlscacert: cli.global.tlscacert.clone(),
        tlscert: cli.global.tlscert.clone(),
        tlskey: cli.global.tlskey.clone(),
        config_dir: cli.global.config.clone(),
    };
    // One thread is plenty for a CLI and keeps start-up cheap.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("berth: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        let mut ctx = Context::new(&flags)?;
        run(&mut ctx, command).await
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(exit_code_for(&e))
        }
    }
}

async fn run(ctx: &mut Context, command: Command) -> client::Result<u8> {
    match command {
        Command::Version(args) => commands::version::run(ctx, args).await,
        Command::Build(args) | Command::Builder(BuilderCommand::Build(args)) => {
            commands::build::run(ctx, args).await
        }
        Command::Builder(BuilderCommand::Prune(args)) => {
            commands::build::prune::run(ctx, args).await
        }
        Command::Compose(args) => commands::compose::run(ctx, args).await,
        Command::Info(args) | Command::System(SystemCommand::Info(args)) => {
            commands::info::run(ctx, args).await
        }
        Command::Events(args) | Command::System(SystemCommand::Events(args)) => {
            commands::events::run(ctx, args).await
        }
        Command::System(SystemCommand::Prune(args)) => commands::system_prune::run(ctx, args).await,
        Command::System(SystemCommand::Df(args)) => commands::system_df::run(ctx, args).await,
        Command::Images(args) | Command::Image(ImageCommand::Ls(args)) => {
            image::ls::run(ctx, args).await
        }
        Command::History(args) | Command::Image(ImageCommand::History(args)) => {
            image::history::run(ctx, args).await
        }
        Command::Import(args) | Command::Image(ImageCommand::Import(args)) => {
            image::import::run(ctx, args).await
        }
        Command::Inspect(args) => container::inspect::run(ctx, args).await,
        Command::Image(ImageCommand::Inspect(args)) => image::inspect::run(ctx, args).await,
        Command::Pull(args) | Command::Image(ImageCommand::Pull(args)) => {
            image::pull::run(ctx, args).await
        }
        Command::Push(args) | Command::Image(ImageCommand::Push(args)) => {
            image::push::run(ctx, args).await
        }
        Command::Login(args) => image::login::login(ctx, args).await,
        Command::Logout(args) => image::login::logout(ctx, args).await,
        Command::Search(args) => image::search::run(ctx, args).await,
        Command::Load(args) | Command::Image(ImageCommand::Load(args)) => {
            image::load::run(ctx, args).await
        }
        Command::Rmi(args) | Command::Image(ImageCommand::Rm(args)) => {
            image::rm::run(ctx, args).await
        }
        Command::Save(args) | Command::Image(ImageCommand::Save(args)) => {
            image::save::run(ctx, args).await
        }
        Command::Tag(args) | Command::Image(ImageCommand::Tag(args)) => {
            image::tag::run(ctx, args).await
        }
        Command::Image(ImageCommand::Prune(args)) => image::prune::run(ctx, args).await,
        Command::Network(NetworkCommand::Connect(args)) => {
            commands::network::connect::run(ctx, args).await
        }
        Command::Network(NetworkCommand::Create(args)) => {
            commands::network::create::run(ctx, args).await
        }
        Command::Network(NetworkCommand::Disconnect(args)) => {
            commands::network::disconnect::run(ctx, args).await
        }
        Command::Network(NetworkCommand::Inspect(args)) => {
            commands::network::inspect::run(ctx, args).await
        }
        Command::Network(NetworkCommand::Ls(args)) => commands::network::ls::run(ctx, args).await,
        Command::Network(NetworkCommand::Prune(args)) => {
            commands::network::prune::run(ctx, args).await
        }
        Command::Network(NetworkCommand::Rm(args)) => commands::network::rm::run(ctx, args).await,
        Command::Volume(VolumeCommand::Create(args)) => {
            commands::volume::create::run(ctx, args).await
        }
        Command::Volume(VolumeCommand::Inspect(args)) => {
            commands::volume::inspect::run(ctx, args).await
        }
        Command::Volume(VolumeCommand::Ls(args)) => commands::volume::ls::run(ctx, args).await,
        Command::Volume(VolumeCommand::Prune(args)) => {
            commands::volume::prune::run(ctx, args).await
        }
        Command::Volume(VolumeCommand::Rm(args)) => commands::volume::rm::run(ctx, args).await,
        Command::Run(args) | Command::Container(ContainerCommand::Run(args)) => {
            container::run::run(ctx, args).await
        }
        Command::Create(args) | Command::Container(ContainerCommand::Create(args)) => {
            container::create::run(ctx, args).await
        }
        Command::Ps(args) | Command::Container(ContainerCommand::Ls(args)) => {
            container::ps::run(ctx, args).await
        }
        Command::Start(args) | Command::Container(ContainerCommand::Start(args)) => {
            container::start::run(ctx, args).await
        }
        Command::Stop(args) | Command::Container(ContainerCommand::Stop(args)) => {
            container::stop::run(ctx, args).await
        }
        Command::Restart(args) | Command::Container(ContainerCommand::Restart(args)) => {
            container::restart::run(ctx, args).await
        }
        Command::Kill(args) | Command::Container(ContainerCommand::Kill(args)) => {
            container::kill::run(ctx, args).await
        }
        Command::Rm(args) | Command::Container(ContainerCommand::Rm(args)) => {
            container::rm::run(ctx, args).await
        }
        Command::Wait(args) | Command::Container(ContainerCommand::Wait(args)) => {
            container::wait::run(ctx, args).await
        }
        Command::Logs(args) | Command::Container(ContainerCommand::Logs(args)) => {
            container::logs::run(ctx, args).await
        }
        Command::Attach(args) | Command::Container(ContainerCommand::Attach(args)) => {
            container::attach::run(ctx, args).await
        }
        Command::Rename(args) | Command::Container(ContainerCommand::Rename(args)) => {
            container::rename::run(ctx, args).await
        }
        Command::Pause(args) | Command::Container(ContainerCommand::Pause(args)) => {
            container::pause::run(ctx, args).await
        }
        Command::Unpause(args) | Command::Container(ContainerCommand::Unpause(args)) => {
            container::unpause::run(ctx, args).await
        }
        Command::Port(args) | Command::Container(ContainerCommand::Port(args)) => {
            container::port::run(ctx, args).await
        }
        Command::Top(args) | Command::Container(ContainerCommand::Top(args)) => {
            container::top::run(ctx, args).await
        }
        Command::Container(ContainerCommand::Inspect(args)) => {
            container::inspect::run_container(ctx, args).await
        }
        Command::Container(ContainerCommand::Prune(args)) => container::prune::run(ctx, args).await,
        Command::Exec(args) | Command::Container(ContainerCommand::Exec(args)) => {
            container::exec::run(ctx, args).await
        }
        Command::Cp(args) | Command::Container(ContainerCommand::Cp(args)) => {
            container::cp::run(ctx, args).await
        }
        Command::Stats(args) | Command::Container(ContainerCommand::Stats(args)) => {
            container::stats::run(ctx, args).await
        }
        Command::Diff(args) | Command::Container(ContainerCommand::Diff(args)) => {
            container::diff::run(ctx, args).await
        }
        Command::Commit(args) | Command::Container(ContainerCommand::Commit(args)) => {
            container::commit::run(ctx, args).await
        }
        Command::Export(args) | Command::Container(ContainerCommand::Export(args)) => {
            container::export::run(ctx, args).await
        }
        Command::Update(args) | Command::Container(ContainerCommand::Update(args)) => {
            container::update::run(ctx, args).await
        }
    }
}

/// docker exits 1 for daemon and connection errors outside `run`/`create`, which use 125.
fn exit_code_for(_error: &ClientError) -> u8 {
    1
}
