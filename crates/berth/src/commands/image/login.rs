//! `berth login` / `berth logout`: credentials checked by the daemon (`POST /auth`) and
//! kept in `~/.docker/config.json` as docker keeps them.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use serde_json::json;

use crate::client::{self, ClientError};
use crate::commands::Context;

use super::auth;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Password
    #[arg(short = 'p', long = "password", value_name = "string")]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Username
    #[arg(short = 'u', long = "username", value_name = "string")]
    pub username: Option<String>,
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

/// Reads a line from the terminal; without echo for passwords.
fn prompt(label: &str, echo: bool) -> std::io::Result<String> {
    eprint!("{label}");
    std::io::stderr().flush()?;
    let stdin = std::io::stdin();
    // SAFETY: termios calls on fd 0 with a struct we own; the old mode is restored below.
    let saved = unsafe {
        let mut term: libc::termios = std::mem::zeroed();
        if !echo && libc::tcgetattr(0, &mut term) == 0 {
            let old = term;
            term.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &term);
            Some(old)
        } else {
            None
        }
    };
    let mut line = String::new();
    let result = stdin.lock().read_line(&mut line);
    if let Some(old) = saved {
        // SAFETY: restores the mode read above on the same fd.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &old);
        }
        eprintln!();
    }
    result?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub async fn login(ctx: &mut Context, args: LoginArgs) -> client::Result<u8> {
    if args.password.is_some() && args.password_stdin {
        return Err(ClientError::Usage(
            "--password and --password-stdin are mutually exclusive".into(),
        ));
    }
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| auth::DOCKER_HUB_KEY.to_string());
    let mut password = args.password.clone();
    if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if args.password_stdin {
        if args.username.is_none() {
            return Err(ClientError::Usage(
                "Must provide --username with --password-stdin".into(),
            ));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| ClientError::Other(e.into()))?;
        password = Some(text.trim_end_matches(['\n', '\r']).to_string());
    }
    let stored = auth::stored(&server);
    let interactive = std::io::stdin().is_terminal();
    let username = match args.username.clone() {
        Some(u) => u,
        None if interactive => {
            let default = stored.as_ref().map(|(u, _)| u.clone()).unwrap_or_default();
            let label = if default.is_empty() {
                "Username: ".to_string()
            } else {
                format!("Username ({default}): ")
            };
            let typed = prompt(&label, true).map_err(|e| ClientError::Other(e.into()))?;
            if typed.is_empty() {
                default
            } else {
                typed
            }
        }
        None => stored.as_ref().map(|(u, _)| u.clone()).unwrap_or_default(),
    };
    let password = match password {
        Some(p) => p,
        None if interactive => {
            prompt("Password: ", false).map_err(|e| ClientError::Other(e.into()))?
        }
        None => stored.as_ref().map(|(_, p)| p.clone()).unwrap_or_default(),
    };
    if username.is_empty() {
        return Err(ClientError::Usage("Username is required".into()));
    }
    if password.is_empty() {
        return Err(ClientError::Usage("Password is required".into()));
    }
    let body = json!({
        "username": username,
        "password": password,
        "serveraddress": auth::config_key(&server),
    });
    ctx.client.post_json("/auth", Some(&body)).await?;
    auth::store(&server, &username, &password).map_err(ClientError::Other)?;
    let path = crate::client::host::default_config_dir().join("config.json");
    eprintln!(
        "WARNING! Your password will be stored unencrypted in {}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credentials-store\n",
        path.display()
    );
    println!("Login Succeeded");
    Ok(0)
}

pub async fn logout(_ctx: &mut Context, args: LogoutArgs) -> client::Result<u8> {
    let server = args
        .server
        .unwrap_or_else(|| auth::DOCKER_HUB_KEY.to_string());
    let key = auth::config_key(&server);
    if auth::remove(&server).map_err(ClientError::Other)? {
        println!("Removing login credentials for {key}");
    } else {
        println!("Not logged in to {key}");
    }
    Ok(0)
}
