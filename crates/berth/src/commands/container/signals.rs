//! `--sig-proxy`: signals the CLI receives are sent on to the container, as docker's
//! `ForwardAllSignals` does (by name, through `POST /containers/{id}/kill`).

use tokio::signal::unix::{signal, SignalKind};

use crate::client::{encode, Client};

/// The signals forwarded: everything a user or a supervisor typically sends. (SIGCHLD,
/// SIGPIPE and SIGURG are never forwarded, as in docker; SIGKILL/SIGSTOP cannot be caught.)
const FORWARDED: &[(libc::c_int, &str)] = &[
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGTSTP, "TSTP"),
    (libc::SIGTTIN, "TTIN"),
    (libc::SIGTTOU, "TTOU"),
];

/// Starts forwarding; each signal gets a small task with its own connection, opened the
/// first time that signal arrives.
pub fn forward_all(client: &Client, container: &str) {
    for (number, name) in FORWARDED {
        let Ok(mut stream) = signal(SignalKind::from_raw(*number)) else {
            continue;
        };
        let mut client = client.sibling();
        let path = format!("/containers/{}/kill?signal={name}", encode(container));
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                // docker only logs a failed forward at debug level.
                let _ = client.post_json(&path, None).await;
            }
        });
    }
}
