//! The userland proxy used when the daemon writes no firewall rules (`--iptables=false`):
//! as docker-proxy does then, a published TCP port is served by accepting on the reserved
//! host socket and relaying each connection to the container's address. (With iptables
//! on, the kernel's DNAT sends the traffic to the container and this never runs.)
//!
//! One thread accepts; each connection gets two copy threads, which use `splice(2)`
//! through a pipe so the bytes do not pass through user memory. Dropping the proxy shuts
//! the listener and every open connection down and joins the accept thread.

use std::io;
use std::net::{Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long connecting to the container may take before the client is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes moved per `splice` call.
const CHUNK: usize = 1 << 16;

/// A running proxy for one published TCP port.
#[derive(Debug)]
pub struct TcpProxy {
    listener: TcpListener,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Starts relaying connections accepted on `listener` (a copy of the reserved
    /// socket's descriptor) to `target`.
    pub fn start(listener: TcpListener, target: SocketAddrV4) -> io::Result<TcpProxy> {
        let accepting = listener.try_clone()?;
        let connections: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let open = connections.clone();
        let thread = std::thread::Builder::new()
            .name("berth-proxy".into())
            .spawn(move || accept_loop(accepting, target, open))?;
        Ok(TcpProxy {
            listener,
            connections,
            thread: Some(thread),
        })
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        // shutdown(2) on a listening socket wakes a blocked accept with an error.
        // SAFETY: shutdown on a descriptor this proxy owns.
        unsafe {
            libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR);
        }
        for stream in self
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = stream.shutdown(Shutdown::Both);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, target: SocketAddrV4, open: Arc<Mutex<Vec<TcpStream>>>) {
    loop {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(_) => return, // shut down
        };
        let open = open.clone();
        let spawned = std::thread::Builder::new()
            .name("berth-proxy-conn".into())
            .spawn(move || relay(client, target, &open));
        if let Err(e) = spawned {
            tracing::warn!("proxy for {target}: cannot serve a connection: {e}");
        }
    }
}

fn relay(client: TcpStream, target: SocketAddrV4, open: &Mutex<Vec<TcpStream>>) {
    let Ok(server) = TcpStream::connect_timeout(&SocketAddr::V4(target), CONNECT_TIMEOUT) else {
        return; // the client sees its connection closed, as with docker-proxy
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    {
        let mut list = open.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|s| s.peer_addr().is_ok());
        if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
            list.push(c);
            list.push(s);
        }
    }
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let upstream = std::thread::Builder::new()
        .name("berth-proxy-up".into())
        .spawn(move || pump(&client2, &server2));
    pump(&server, &client);
    if let Ok(thread) = upstream {
        let _ = thread.join();
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}

/// Moves bytes from `from` to `to` until EOF, then half-closes `to`.
fn pump(from: &TcpStream, to: &TcpStream) {
    if splice_all(from.as_raw_fd(), to.as_raw_fd()).is_err() {
        let _ = io::copy(&mut &*from, &mut &*to);
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn splice_all(from: RawFd, to: RawFd) -> io::Result<()> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 fills the two-element array with fresh descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned only here from now on.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    loop {
        // SAFETY: splice between open descriptors with null offsets (sockets and pipes).
        let n = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                write_end.as_raw_fd(),
                std::ptr::null_mut(),
                CHUNK,
                libc::SPLICE_F_MOVE,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(());
        }
        let mut left = n as usize;
        while left > 0 {
            // SAFETY: as above.
            let m = unsafe {
                libc::splice(
                    read_end.as_raw_fd(),
                    std::ptr::null_mut(),
                    to,
                    std::ptr::null_mut(),
                    left,
                    libc::SPLICE_F_MOVE,
                )
            };
            if m < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if m == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            left -= m as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::Ipv4Addr;

    #[test]
    fn relays_both_ways_and_stops() {
        let backend = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let target = match backend.local_addr().unwrap() {
            SocketAddr::V4(a) => a,
            _ => unreachable!(),
        };
        let echo = std::thread::spawn(move || {
            let (mut s, _) = backend.accept().unwrap();
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let front = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = front.local_addr().unwrap();
        let proxy = TcpProxy::start(front, target).unwrap();
        let mut client = TcpStream::connect(addr).unwrap();
        let data = vec![7u8; 300_000];
        client.write_all(&data).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        client.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        echo.join().unwrap();
        drop(proxy);
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    }
}
