//! The userland UDP forwarder used when the daemon writes no firewall rules
//! (`--iptables=false`), as docker-proxy's UDP mode: the reserved host socket receives
//! every client's datagrams; each client address gets its own flow, a socket connected to
//! the container's address, whose replies go back to that client from the host socket. A
//! flow idle for [`FLOW_IDLE`] is forgotten (docker-proxy's conntrack timeout).
//!
//! Sockets are read with a short timeout so that the threads see the stop flag: dropping
//! the proxy stops and joins them all.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a client's flow lives without traffic (docker-proxy's `UDPConnTrackTimeout`).
const FLOW_IDLE: Duration = Duration::from_secs(90);
/// How often blocked reads look at the stop flag.
const POLL: Duration = Duration::from_millis(250);
/// The largest datagram relayed.
const DATAGRAM: usize = 65_536;

/// A running forwarder for one published UDP port.
#[derive(Debug)]
pub struct UdpProxy {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// One client's flow: the socket towards the container and when it last carried traffic.
struct Flow {
    upstream: Arc<UdpSocket>,
    last: Arc<Mutex<Instant>>,
    thread: JoinHandle<()>,
}

impl UdpProxy {
    /// Starts relaying datagrams received on `host` (a copy of the reserved socket's
    /// descriptor) to `target`.
    pub fn start(host: UdpSocket, target: SocketAddrV4) -> io::Result<UdpProxy> {
        host.set_read_timeout(Some(POLL))?;
        let stop: Arc<AtomicBool> = Arc::default();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("berth-udp-proxy".into())
            .spawn(move || serve(Arc::new(host), target, &flag))?;
        Ok(UdpProxy {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(host: Arc<UdpSocket>, target: SocketAddrV4, stop: &Arc<AtomicBool>) {
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut buf = vec![0u8; DATAGRAM];
    while !stop.load(Ordering::SeqCst) {
        // Idle flows end (their threads see the deadline themselves).
        flows.retain(|_, flow| !flow.thread.is_finished());
        let (n, client) = match host.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!("UDP proxy for {target}: {e}");
                break;
            }
        };
        let flow = match flows.entry(client) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => match open_flow(&host, client, target, stop) {
                Ok(flow) => entry.insert(flow),
                Err(e) => {
                    tracing::warn!("UDP proxy for {target}: flow of {client}: {e}");
                    continue;
                }
            },
        };
        *flow.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        // A lost datagram is UDP's normal failure; the client retries.
        let _ = flow.upstream.send(&buf[..n]);
    }
    stop.store(true, Ordering::SeqCst);
    for (_, flow) in flows.drain() {
        let _ = flow.thread.join();
    }
}

fn open_flow(
    host: &Arc<UdpSocket>,
    client: SocketAddr,
    target: SocketAddrV4,
    stop: &Arc<AtomicBool>,
) -> io::Result<Flow> {
    let upstream = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    upstream.connect(target)?;
    upstream.set_read_timeout(Some(POLL))?;
    let upstream = Arc::new(upstream);
    let last = Arc::new(Mutex::new(Instant::now()));
    let (host, replies, seen, stop) = (host.clone(), upstream.clone(), last.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("berth-udp-flow".into())
        .spawn(move || {
            let mut buf = vec![0u8; DATAGRAM];
            while !stop.load(Ordering::SeqCst) {
                match replies.recv(&mut buf) {
                    Ok(n) => {
                        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                        let _ = host.send_to(&buf[..n], client);
                    }
                    // ECONNREFUSED: nothing listens in the container yet; keep the flow.
                    Err(e)
                        if is_timeout(&e)
                            || e.kind() == io::ErrorKind::Interrupted
                            || e.kind() == io::ErrorKind::ConnectionRefused => {}
                    Err(_) => return,
                }
                if seen.lock().unwrap_or_else(|p| p.into_inner()).elapsed() > FLOW_IDLE {
                    return;
                }
            }
        })?;
    Ok(Flow {
        upstream,
        last,
        thread,
    })
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_each_client_and_stops() {
        let backend = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let target = match backend.local_addr().unwrap() {
            SocketAddr::V4(a) => a,
            _ => unreachable!(),
        };
        backend
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..2 {
                let (n, from) = backend.recv_from(&mut buf).unwrap();
                let mut reply = b"echo:".to_vec();
                reply.extend_from_slice(&buf[..n]);
                backend.send_to(&reply, from).unwrap();
            }
        });
        let front = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = front.local_addr().unwrap();
        let proxy = UdpProxy::start(front.try_clone().unwrap(), target).unwrap();
        for word in ["one", "two"] {
            let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            client.send_to(word.as_bytes(), addr).unwrap();
            let mut buf = [0u8; 64];
            let (n, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!(from, addr);
            assert_eq!(&buf[..n], format!("echo:{word}").as_bytes());
        }
        echo.join().unwrap();
        drop(proxy);
    }
}
