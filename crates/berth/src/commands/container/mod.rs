//! Container commands: one file per verb (`run`, `create`, `start`, `stop`, ...), plus the
//! shared flag set (`opts`, `parse`), streams (`stream`, `tty`, `signals`) and pulling a
//! missing image (`pull`).

pub mod attach;
pub mod commit;
pub mod cp;
pub mod create;
pub mod diff;
pub mod exec;
pub mod export;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod opts;
pub mod parse;
pub mod pause;
pub mod port;
pub mod prune;
pub mod ps;
pub mod pull;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod run;
pub mod signals;
pub mod start;
pub mod stats;
pub mod stop;
pub mod stream;
pub mod top;
pub mod tty;
pub mod unpause;
pub mod update;
pub mod wait;

use std::future::Future;

use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;

/// The 12-character form docker prints (`sha256:` prefixes dropped).
pub fn short_id(id: &str) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(12).collect()
}

/// `GET /containers/{name}/json`.
pub async fn inspect_container(client: &mut Client, name: &str) -> client::Result<Value> {
    client
        .get_json(&format!("/containers/{}/json", encode(name)))
        .await
}

/// docker's `toStatusError`: a failed create/start in `run` exits 127 when the command was
/// not found, 126 when it could not be invoked, 125 otherwise.
pub fn run_error_status(message: &str) -> u8 {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
        || message.contains("system cannot find the file specified")
    {
        127
    } else if message.contains("permission denied") || message.contains("is a directory") {
        126
    } else {
        125
    }
}

/// Prints a `run`/`create`/`start`-style failure as docker does:
/// `berth: <message>` then `Run 'berth <command> --help' for more information`.
pub fn print_command_error(command: &str, message: &str) {
    eprintln!("berth: {message}\n\nRun 'berth {command} --help' for more information");
}

/// Prints a malformed-flag failure with the usage line, as pflag errors look in docker.
pub fn print_flag_error(command: &str, usage: &str, error: &opts::OptError) {
    match error {
        opts::OptError::Flag { .. } => eprintln!(
            "{error}\n\nUsage:  berth {usage}\n\nRun 'berth {command} --help' for more information"
        ),
        opts::OptError::Invalid(message) => print_command_error(command, message),
    }
}

/// Runs `op` for every container name, up to 50 at once each on its own connection (as
/// docker's `ParallelOperation`), and yields the results in argument order.
pub async fn for_each<F, Fut>(
    ctx: &mut Context,
    names: &[String],
    op: F,
) -> client::Result<Vec<client::Result<()>>>
where
    F: Fn(Client, String) -> Fut,
    Fut: Future<Output = client::Result<()>>,
{
    // Negotiate once so that every sibling connection reuses the version.
    ctx.client.negotiated_version().await?;
    let client = &ctx.client;
    let results = futures_util::stream::iter(names.iter())
        .map(|name| op(client.sibling(), name.clone()))
        .buffered(50)
        .collect::<Vec<_>>()
        .await;
    Ok(results)
}

/// Prints each name that succeeded (stdout) and each error (stderr) in order; exit 1 if any
/// failed, as docker's stop/kill/rm/pause/... do.
pub fn report(names: &[String], results: Vec<client::Result<()>>) -> u8 {
    let mut failed = false;
    for (name, result) in names.iter().zip(results) {
        match result {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    u8::from(failed)
}

/// POST without a body to `path`, checking the status.
pub async fn post(client: &mut Client, path: &str) -> client::Result<()> {
    client.post_json(path, None).await.map(|_| ())
}

/// A `POST /containers/{id}/wait` whose headers have arrived, i.e. registered with the
/// daemon; `status` reads the exit code when the condition is met.
pub struct Waiter {
    response: Option<http::Response<hyper::body::Incoming>>,
    error: Option<ClientError>,
}

impl Waiter {
    /// Registers the wait on its own connection (it stays open until the container exits).
    pub async fn register(ctx: &Context, id: &str, condition: &str) -> Waiter {
        let mut client = ctx.client.sibling();
        let path = if condition.is_empty() {
            format!("/containers/{}/wait", encode(id))
        } else {
            format!("/containers/{}/wait?condition={condition}", encode(id))
        };
        let response = match client.send(http::Method::POST, &path, None, None).await {
            Ok(r) => Client::check(r).await,
            Err(e) => Err(e),
        };
        // The connection task keeps running after `client` is dropped: it owns the socket.
        match response {
            Ok(response) => Waiter {
                response: Some(response),
                error: None,
            },
            Err(e) => Waiter {
                response: None,
                error: Some(e),
            },
        }
    }

    /// The container's exit code; 125 (with docker's message) when waiting failed.
    pub async fn status(self) -> u8 {
        let result = async {
            if let Some(e) = self.error {
                return Err(e.to_string());
            }
            let response = self.response.expect("response or error");
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            let value: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            if let Some(message) = value
                .get("Error")
                .and_then(|e| e.get("Message"))
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
            {
                return Err(format!("Error waiting for container: {message}"));
            }
            Ok(value.get("StatusCode").and_then(Value::as_i64).unwrap_or(0))
        }
        .await;
        match result {
            Ok(code) => exit_code(code),
            Err(message) => {
                if message.starts_with("Error waiting") {
                    eprintln!("{message}");
                } else {
                    eprintln!("error waiting for container: {message}");
                }
                125
            }
        }
    }
}

/// How long `run --rm`/`start -a` wait for the daemon to remove a container whose start
/// failed before giving up on the confirmation.
pub const REMOVAL_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A container exit status as a process exit code (truncated like a shell does).
pub fn exit_code(code: i64) -> u8 {
    (code & 0xff) as u8
}

/// Whether `error` is the daemon's 404.
pub fn is_not_found(error: &ClientError) -> bool {
    matches!(error, ClientError::Daemon { status, .. } if *status == http::StatusCode::NOT_FOUND)
}

/// POST that also accepts `304 Not Modified` (start of a running container, stop of a
/// stopped one), as docker's client does.
pub async fn post_allow_not_modified(client: &mut Client, path: &str) -> client::Result<()> {
    let response = client.send(http::Method::POST, path, None, None).await?;
    if response.status() == http::StatusCode::NOT_MODIFIED {
        return Ok(());
    }
    let response = Client::check(response).await?;
    let _ = Client::read_body(response).await;
    Ok(())
}

/// A string setting from the client's `config.json` (`detachKeys`, `psFormat`).
pub fn config_file_value(key: &str) -> Option<String> {
    let path = client::host::default_config_dir().join("config.json");
    let text = std::fs::read(path).ok()?;
    let value: Value = serde_json::from_slice(&text).ok()?;
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The detach keys to use: the flag, else `detachKeys` from config.json.
pub fn detach_keys(flag: Option<&str>) -> Option<String> {
    flag.filter(|k| !k.is_empty())
        .map(str::to_string)
        .or_else(|| config_file_value("detachKeys"))
}

/// `/containers/{id}/attach?stream=1&...` for the streams wanted.
pub fn attach_path(
    id: &str,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    keys: Option<&str>,
) -> String {
    let mut path = format!(
        "/containers/{}/attach?stream=1&stdin={}&stdout={}&stderr={}",
        encode(id),
        u8::from(stdin),
        u8::from(stdout),
        u8::from(stderr)
    );
    if let Some(keys) = keys {
        path.push_str(&format!("&detachKeys={}", encode(keys)));
    }
    path
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use crate::cli::{Cli, Command, ContainerCommand};

    /// clap's own consistency checks over the whole command tree (flag clashes such as
    /// `run -h` for `--hostname` show up here).
    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn container_subcommands_and_aliases() {
        for args in [
            &["berth", "container", "ls", "-a"][..],
            &["berth", "container", "list"],
            &["berth", "container", "ps", "-q"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert!(matches!(
                cli.command,
                Some(Command::Container(ContainerCommand::Ls(_)))
            ));
        }
        let cli = Cli::try_parse_from(["berth", "container", "remove", "-f", "a", "b"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Container(ContainerCommand::Rm(_)))
        ));
        let cli = Cli::try_parse_from(["berth", "run", "-h", "myhost", "busybox"]).unwrap();
        let Some(Command::Run(run)) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.flags.hostname.as_deref(), Some("myhost"));
        let cli = Cli::try_parse_from(["berth", "stop", "--time", "3", "x"]).unwrap();
        let Some(Command::Stop(stop)) = cli.command else {
            panic!("not stop")
        };
        assert_eq!(stop.timeout, Some(3));
        let cli = Cli::try_parse_from(["berth", "top", "c", "-o", "pid"]).unwrap();
        let Some(Command::Top(top)) = cli.command else {
            panic!("not top")
        };
        assert_eq!(top.ps_args, ["-o", "pid"]);
    }
}
