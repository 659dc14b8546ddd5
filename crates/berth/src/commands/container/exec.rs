//! `berth exec`: runs a command in a running container (`POST /containers/{id}/exec`, then
//! `POST /exec/{id}/start`, hijacked unless `-d`), streams it like `attach`, and exits with
//! the command's code from `GET /exec/{id}/json`.

use clap::Args;
use serde_json::{json, Value};

use super::opts::OptError;
use super::stream::{detach_key_bytes, run_session, Session, SessionEnd};
use super::{config_file_value, inspect_container, parse, print_flag_error, tty};
use crate::client::{self, encode, ClientError};
use crate::commands::Context;

pub const USAGE: &str = "exec [OPTIONS] CONTAINER COMMAND [ARG...]";

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CONTAINER COMMAND"
    )]
    pub args: Vec<String>,
}

/// The `POST /containers/{id}/exec` body, or why the flags cannot make one (already
/// printed; the exit code to use).
fn exec_config(args: &ExecArgs, keys: Option<&str>) -> Result<Value, u8> {
    let env = match parse::env(&args.env_file, &args.env) {
        Ok(env) => env,
        Err((Some(value), message)) => {
            let error = OptError::Flag {
                flag: "-e, --env",
                value,
                message,
            };
            print_flag_error("exec", USAGE, &error);
            return Err(125);
        }
        Err((None, message)) => {
            eprintln!("{message}");
            return Err(1);
        }
    };
    let attach_output = !args.detach;
    let mut config = json!({
        "User": args.user.clone().unwrap_or_default(),
        "Privileged": args.privileged,
        "Tty": args.tty,
        "AttachStdin": attach_output && args.interactive,
        "AttachStdout": attach_output,
        "AttachStderr": attach_output,
        "DetachKeys": keys.unwrap_or_default(),
        "Env": env,
        "WorkingDir": args.workdir.clone().unwrap_or_default(),
        "Cmd": args.args[1..],
    });
    // Our terminal's size, when there is one (the daemon picks a default otherwise).
    if args.tty {
        if let Some((h, w)) = tty::size(1) {
            config["ConsoleSize"] = json!([h, w]);
        }
    }
    Ok(config)
}

pub async fn run(ctx: &mut Context, args: ExecArgs) -> client::Result<u8> {
    if args.args.len() < 2 {
        eprintln!(
            "berth: 'berth exec' requires at least 2 arguments\n\nUsage:  berth {USAGE}\n\n\
             See 'berth exec --help' for more information"
        );
        return Ok(1);
    }
    let container = args.args[0].clone();
    // The flag, else `detachKeys` from config.json; only the flag is validated, as docker.
    if let Some(keys) = args.detach_keys.as_deref().filter(|k| !k.is_empty()) {
        if let Err(e) = detach_key_bytes(keys) {
            return Err(ClientError::Other(anyhow::anyhow!(
                "invalid detach keys ({keys}): {e}"
            )));
        }
    }
    let keys = args
        .detach_keys
        .clone()
        .filter(|k| !k.is_empty())
        .or_else(|| config_file_value("detachKeys"));
    let config = match exec_config(&args, keys.as_deref()) {
        Ok(config) => config,
        Err(code) => return Ok(code),
    };
    // A missing container is reported before any TTY complaint, as docker does.
    inspect_container(&mut ctx.client, &container).await?;
    let attach_stdin = config["AttachStdin"].as_bool().unwrap_or(false);
    if !args.detach
        && args.tty
        && attach_stdin
        && !std::io::IsTerminal::is_terminal(&std::io::stdin())
    {
        return Err(ClientError::Other(anyhow::anyhow!(
            "the input device is not a TTY"
        )));
    }
    let created = ctx
        .client
        .post_json(
            &format!("/containers/{}/exec", encode(&container)),
            Some(&config),
        )
        .await?;
    let exec_id = created
        .get("Id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ClientError::Other(anyhow::anyhow!("exec ID empty")))?
        .to_string();
    let mut start = json!({"Detach": args.detach, "Tty": args.tty});
    if let Some(size) = config.get("ConsoleSize") {
        start["ConsoleSize"] = size.clone();
    }
    let start_path = format!("/exec/{}/start", encode(&exec_id));
    if args.detach {
        ctx.client.post_json(&start_path, Some(&start)).await?;
        return Ok(0);
    }
    let hijacked = ctx
        .client
        .hijack_with_body(http::Method::POST, &start_path, Some(&start))
        .await?;
    if args.tty && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        tty::monitor_size(ctx.client.sibling(), format!("/exec/{}", encode(&exec_id)));
    }
    let end = run_session(
        hijacked,
        Session {
            tty: args.tty,
            stdin: attach_stdin,
            output: true,
            detach_keys: keys,
        },
    )
    .await?;
    if end == SessionEnd::Detached {
        eprintln!("read escape sequence");
        return Ok(1);
    }
    exit_status(ctx, &exec_id).await
}

/// The command's exit code; 255 (docker's -1) when the daemon cannot be asked.
async fn exit_status(ctx: &mut Context, exec_id: &str) -> client::Result<u8> {
    let path = format!("/exec/{}/json", encode(exec_id));
    match ctx.client.get_json(&path).await {
        Ok(inspect) => Ok(super::exit_code(
            inspect.get("ExitCode").and_then(Value::as_i64).unwrap_or(0),
        )),
        Err(ClientError::Connect(_)) => Ok(255),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> super::ExecArgs {
        let mut full = vec!["berth", "exec"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full).unwrap().command {
            Some(Command::Exec(args)) => args,
            _ => panic!("not exec"),
        }
    }

    #[test]
    fn flags_after_the_container_belong_to_the_command() {
        let args = parse(&["-it", "-u", "1:1", "-e", "A=1", "c", "ls", "-l", "-e"]);
        assert!(args.interactive && args.tty);
        assert_eq!(args.user.as_deref(), Some("1:1"));
        assert_eq!(args.env, ["A=1"]);
        assert_eq!(args.args, ["c", "ls", "-l", "-e"]);
    }

    #[test]
    fn config_attaches_unless_detached() {
        let args = parse(&["-i", "-w", "/tmp", "c", "sh"]);
        let config = super::exec_config(&args, Some("ctrl-a")).unwrap();
        assert_eq!(config["AttachStdin"], true);
        assert_eq!(config["AttachStdout"], true);
        assert_eq!(config["Cmd"], serde_json::json!(["sh"]));
        assert_eq!(config["WorkingDir"], "/tmp");
        assert_eq!(config["DetachKeys"], "ctrl-a");
        assert!(config.get("ConsoleSize").is_none());
        let args = parse(&["-d", "-i", "c", "sleep", "1"]);
        let config = super::exec_config(&args, None).unwrap();
        assert_eq!(config["AttachStdin"], false);
        assert_eq!(config["AttachStdout"], false);
    }
}
