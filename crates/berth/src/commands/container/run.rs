//! `berth run`: create, attach (before start, so no output is lost), register the wait
//! (before start, so a fast exit is not missed), start, stream, and exit with the
//! container's code; `-d` prints the ID instead.

use clap::Args;

use super::create::create_container;
use super::opts::{ContainerFlags, OptError};
use super::stream::{run_session, Session, SessionEnd};
use super::{
    attach_path, detach_keys, print_command_error, print_flag_error, run_error_status, signals,
    tty, Waiter, REMOVAL_GRACE,
};
use crate::client::{self, encode};
use crate::commands::Context;

pub const USAGE: &str = "run [OPTIONS] IMAGE [COMMAND] [ARG...]";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process (default true)
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub sig_proxy: Option<String>,
    #[command(flatten)]
    pub flags: ContainerFlags,
}

pub async fn run(ctx: &mut Context, args: RunArgs) -> client::Result<u8> {
    let spec = match args.flags.to_spec(args.detach) {
        Ok(spec) => spec,
        Err(e) => {
            print_flag_error("run", USAGE, &e);
            return Ok(125);
        }
    };
    let sig_proxy = match args.sig_proxy.as_deref() {
        None => true,
        Some(v) => match super::parse::parse_bool(v) {
            Some(b) => b,
            None => {
                let e = OptError::Flag {
                    flag: "--sig-proxy",
                    value: v.to_string(),
                    message: format!("strconv.ParseBool: parsing \"{v}\": invalid syntax"),
                };
                print_flag_error("run", USAGE, &e);
                return Ok(125);
            }
        },
    };
    run_spec(
        ctx,
        spec,
        args.detach,
        sig_proxy,
        args.detach_keys.as_deref(),
    )
    .await
}

/// Creates, attaches, starts and streams a container from a prepared spec (`run`, and
/// `compose run` with the service's configuration).
pub async fn run_spec(
    ctx: &mut Context,
    mut spec: super::opts::ContainerSpec,
    detach: bool,
    sig_proxy: bool,
    detach_keys_flag: Option<&str>,
) -> client::Result<u8> {
    let tty_mode = spec.tty();
    let attach_stdin = spec.attach("AttachStdin");
    let attach_stdout = spec.attach("AttachStdout");
    let attach_stderr = spec.attach("AttachStderr");
    if detach {
        if spec.explicit_attach {
            eprintln!("conflicting options: cannot specify both --attach and --detach");
            return Ok(1);
        }
    } else if tty_mode && attach_stdin && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("the input device is not a TTY");
        return Ok(1);
    }

    let id = match create_container(ctx, &mut spec).await {
        Ok(id) => id,
        Err(e) => {
            let message = e.to_string();
            print_command_error("run", &message);
            return Ok(run_error_status(&message));
        }
    };
    // With a TTY, keys reach the container through it; docker turns the proxy off.
    if sig_proxy && !tty_mode && !detach {
        signals::forward_all(&ctx.client, &id);
    }

    let attach = attach_stdin || attach_stdout || attach_stderr;
    if !attach {
        println!("{id}");
    }
    let keys = detach_keys(detach_keys_flag);
    let hijacked = if attach {
        let path = attach_path(
            &id,
            attach_stdin,
            attach_stdout,
            attach_stderr,
            keys.as_deref(),
        );
        match ctx.client.hijack(http::Method::POST, &path).await {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("{e}");
                return Ok(1);
            }
        }
    } else {
        None
    };

    let condition = if spec.auto_remove() {
        "removed"
    } else {
        "next-exit"
    };
    let waiter = Waiter::register(ctx, &id, condition).await;

    let start = format!("/containers/{}/start", encode(&id));
    if let Err(e) = super::post_allow_not_modified(&mut ctx.client, &start).await {
        drop(hijacked);
        if spec.auto_remove() {
            // The daemon removes it; don't hang if it never says so.
            let _ = tokio::time::timeout(REMOVAL_GRACE, waiter.status()).await;
        }
        let message = e.to_string();
        print_command_error("run", &message);
        return Ok(run_error_status(&message));
    }
    let Some(hijacked) = hijacked else {
        return Ok(0);
    };

    if tty_mode && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        tty::monitor_size(ctx.client.sibling(), format!("/containers/{}", encode(&id)));
    }
    let output = attach_stdout || attach_stderr;
    let session = run_session(
        hijacked,
        Session {
            tty: tty_mode,
            stdin: attach_stdin,
            output,
            detach_keys: keys,
        },
    );
    let status = waiter.status();
    tokio::pin!(session);
    tokio::pin!(status);
    tokio::select! {
        end = &mut session => match end {
            Ok(SessionEnd::Detached) => Ok(0),
            Ok(SessionEnd::Closed) => Ok(status.await),
            Err(e) => {
                eprintln!("{e}");
                Ok(1)
            }
        },
        code = &mut status => {
            // The container is gone; keep streaming until its output is drained.
            if output {
                let _ = session.await;
            }
            Ok(code)
        }
    }
}
