//! The local terminal: raw mode while attached to a container's TTY, its size, and
//! keeping the container's TTY size in step with ours (`SIGWINCH` → resize).

use std::io;

use crate::client::Client;

/// A terminal put in raw mode; the previous settings come back on drop.
pub struct RawMode {
    fd: i32,
    original: libc::termios,
}

impl RawMode {
    /// Puts `fd` in raw mode as docker's `term.MakeRaw` does (no echo, no line editing, no
    /// signals from keys, no output processing, 8-bit, one byte per read).
    pub fn enable(fd: i32) -> io::Result<RawMode> {
        // SAFETY: termios is plain old data; tcgetattr fills it completely on success.
        let mut original: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is an open descriptor owned by this process and `original` is a
        // valid, writable termios.
        if unsafe { libc::tcgetattr(fd, &mut original) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut raw = original;
        raw.c_iflag &= !(libc::IGNBRK
            | libc::BRKINT
            | libc::PARMRK
            | libc::ISTRIP
            | libc::INLCR
            | libc::IGNCR
            | libc::ICRNL
            | libc::IXON);
        raw.c_oflag &= !libc::OPOST;
        raw.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
        raw.c_cflag &= !(libc::CSIZE | libc::PARENB);
        raw.c_cflag |= libc::CS8;
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        // SAFETY: `raw` is a fully initialised termios derived from the current settings.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawMode { fd, original })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enable` on the same descriptor.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.original);
        }
    }
}

/// (rows, columns) of the terminal on `fd`, if it is one.
pub fn size(fd: i32) -> Option<(u16, u16)> {
    // SAFETY: winsize is plain old data, filled by the ioctl on success.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into the valid pointer we pass.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    if rc != 0 || (ws.ws_row == 0 && ws.ws_col == 0) {
        return None;
    }
    Some((ws.ws_row, ws.ws_col))
}

/// Our stdout's terminal size, `[0, 0]` when it is not a terminal (docker's `GetTtySize`).
pub fn console_size() -> [u16; 2] {
    match size(1) {
        Some((h, w)) => [h, w],
        None => [0, 0],
    }
}

async fn resize(client: &mut Client, path_prefix: &str) -> crate::client::Result<()> {
    let Some((h, w)) = size(1) else {
        return Ok(());
    };
    client
        .post_json(&format!("{path_prefix}/resize?h={h}&w={w}"), None)
        .await
        .map(|_| ())
}

/// For `attach`: resizes to one more row and column and back, so that the program redraws
/// its screen even when our size did not change since the last attach (docker does this).
pub async fn nudge_size(client: &mut Client, path_prefix: &str) {
    if let Some((h, w)) = size(1) {
        let _ = client
            .post_json(
                &format!("{path_prefix}/resize?h={}&w={}", h + 1, w + 1),
                None,
            )
            .await;
        let _ = client
            .post_json(&format!("{path_prefix}/resize?h={h}&w={w}"), None)
            .await;
    }
}

/// Sends our size now (retrying briefly, the process may not have its TTY yet) and on every
/// `SIGWINCH`. `path_prefix` is `/containers/{id}` or `/exec/{id}`.
pub fn monitor_size(mut client: Client, path_prefix: String) {
    // Listen before the first resize: a window change while that is under way must not
    // be lost (SIGWINCH is ignored until a handler exists).
    let winch = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change());
    tokio::spawn(async move {
        for attempt in 0..10u64 {
            if resize(&mut client, &path_prefix).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10 * (attempt + 1))).await;
        }
        let Ok(mut winch) = winch else {
            return;
        };
        while winch.recv().await.is_some() {
            let _ = resize(&mut client, &path_prefix).await;
        }
    });
}
