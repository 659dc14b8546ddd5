//! `compose exec`: `berth exec` in a service's container (replica `--index`, default 1).

use clap::Args;

use super::project::Options;
use super::state;
use crate::client::{self, ClientError};
use crate::commands::container::exec::{self as container_exec, ExecArgs as ContainerExecArgs};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: Run command in the background
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "stringArray")]
    pub env: Vec<String>,
    /// Index of the container if service has multiple replicas
    #[arg(long = "index", value_name = "int", default_value_t = 1)]
    pub index: u32,
    /// Disable pseudo-TTY allocation. By default `compose exec` allocates a TTY
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Give extended privileges to the process
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Run the command as this user
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Path to workdir directory for this command
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// SERVICE COMMAND [ARGS...]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "SERVICE"
    )]
    pub args: Vec<String>,
}

pub async fn run(ctx: &mut Context, options: &Options, args: ExecArgs) -> client::Result<u8> {
    let project = options.project_name()?;
    let service = &args.args[0];
    if args.args.len() < 2 {
        return Err(ClientError::Other(anyhow::anyhow!(
            "requires at least 2 arguments: SERVICE COMMAND"
        )));
    }
    let list = state::of_services(
        state::containers(&mut ctx.client, &project, false).await?,
        std::slice::from_ref(service),
        false,
    );
    let Some(container) = list.iter().find(|c| c.number == args.index) else {
        return Err(ClientError::Other(anyhow::anyhow!(
            "service \"{service}\" is not running"
        )));
    };
    let tty = !args.no_tty && std::io::IsTerminal::is_terminal(&std::io::stdin()) && !args.detach;
    let mut argv = vec![container.id.clone()];
    argv.extend(args.args[1..].iter().cloned());
    let exec = ContainerExecArgs {
        detach: args.detach,
        detach_keys: None,
        env: args.env.clone(),
        env_file: Vec::new(),
        interactive: !args.detach,
        privileged: args.privileged,
        tty,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        args: argv,
    };
    container_exec::run(ctx, exec).await
}
