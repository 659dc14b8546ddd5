//! `berth attach`: connects our terminal to a running container's main process.

use clap::Args;
use serde_json::Value;

use super::stream::{run_session, Session, SessionEnd};
use super::{attach_path, detach_keys, inspect_container, signals, tty, Waiter};
use crate::client::{self, encode, Client, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process (default true)
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub sig_proxy: Option<String>,
    /// CONTAINER
    pub container: String,
}

/// docker's state check: only a running, unpaused container can be attached.
async fn check_state(client: &mut Client, name: &str) -> client::Result<Value> {
    let container = inspect_container(client, name).await?;
    let state = container.get("State").cloned().unwrap_or(Value::Null);
    let flag = |key: &str| state.get(key).and_then(Value::as_bool).unwrap_or(false);
    let refuse = |m: &str| Err(ClientError::Other(anyhow::anyhow!(m.to_string())));
    if !flag("Running") {
        return refuse("You cannot attach to a stopped container, start it first");
    }
    if flag("Paused") {
        return refuse("You cannot attach to a paused container, unpause it first");
    }
    if flag("Restarting") {
        return refuse("You cannot attach to a restarting container, wait until it is running");
    }
    Ok(container)
}

pub async fn run(ctx: &mut Context, args: AttachArgs) -> client::Result<u8> {
    ctx.client.negotiated_version().await?;
    let waiter = Waiter::register(ctx, &args.container, "").await;
    let container = check_state(&mut ctx.client, &args.container).await?;
    let config = container.get("Config").cloned().unwrap_or(Value::Null);
    let flag = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
    let tty_mode = flag("Tty");
    if tty_mode && !args.no_stdin && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(ClientError::Other(anyhow::anyhow!(
            "the input device is not a TTY"
        )));
    }
    let stdin = !args.no_stdin && flag("OpenStdin");
    let sig_proxy = args
        .sig_proxy
        .as_deref()
        .is_none_or(|v| super::parse::parse_bool(v).unwrap_or(true));
    if sig_proxy && !tty_mode {
        signals::forward_all(&ctx.client, &args.container);
    }
    let keys = detach_keys(args.detach_keys.as_deref());
    let hijacked = ctx
        .client
        .hijack(
            http::Method::POST,
            &attach_path(&args.container, stdin, true, true, keys.as_deref()),
        )
        .await?;
    // The container may have stopped between the check and the attach.
    check_state(&mut ctx.client, &args.container).await?;
    if tty_mode && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        let prefix = format!("/containers/{}", encode(&args.container));
        tty::nudge_size(&mut ctx.client, &prefix).await;
        tty::monitor_size(ctx.client.sibling(), prefix);
    }
    let end = run_session(
        hijacked,
        Session {
            tty: tty_mode,
            stdin,
            output: true,
            detach_keys: keys,
        },
    )
    .await?;
    if end == SessionEnd::Detached {
        // docker attach reports the detach as an error (`docker run -it` does not).
        eprintln!("read escape sequence");
        return Ok(1);
    }
    Ok(waiter.status().await)
}
