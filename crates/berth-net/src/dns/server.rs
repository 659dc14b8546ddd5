//! The server thread: one epoll loop over every container's UDP socket and TCP listener,
//! plus one upstream socket for forwarded queries.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::message::{self, ParseError, Record};
use super::names::Names;
use super::{tcp, DnsError, EMBEDDED_ADDR};
use crate::netns::NetNs;

const TOKEN_WAKE: u64 = 0;
const TOKEN_UPSTREAM: u64 = 1;
/// How long one upstream gets before the next is tried.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// Forwarded queries in flight at most; more are answered SERVFAIL.
const MAX_PENDING: usize = 4096;

/// A container's sockets and the networks it resolves names on.
pub(crate) struct Listener {
    pub(crate) container: String,
    pub(crate) udp: UdpSocket,
    pub(crate) tcp: TcpListener,
    /// (network, may forward to upstream) in join order.
    pub(crate) networks: Mutex<Vec<(String, bool)>>,
}

impl Listener {
    pub(crate) fn view(&self) -> (Vec<String>, bool) {
        let networks = self.networks.lock().unwrap_or_else(|p| p.into_inner());
        (
            networks.iter().map(|(n, _)| n.clone()).collect(),
            networks.iter().any(|(_, forward)| *forward),
        )
    }
}

#[derive(Default)]
struct State {
    listeners: HashMap<u64, Arc<Listener>>,
    by_container: HashMap<String, u64>,
    next_id: u64,
}

/// What one container's resolver does differently from the daemon's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerResolver {
    /// The container's `--dns` servers: forwarded queries go there instead of the
    /// daemon's upstreams (Docker's "external servers" of the sandbox).
    pub upstreams: Vec<SocketAddrV4>,
    /// `--link name:alias` on a user network: `alias` resolves, for this container
    /// only, to what `name` resolves to on its networks.
    pub link_aliases: Vec<(String, String)>,
}

pub(crate) struct Shared {
    epoll: OwnedFd,
    wake: OwnedFd,
    pub(crate) names: RwLock<Names>,
    state: Mutex<State>,
    pub(crate) upstreams: RwLock<Vec<SocketAddrV4>>,
    /// Per-container settings, by container ID.
    resolvers: RwLock<HashMap<String, ContainerResolver>>,
    stop: AtomicBool,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn epoll_ctl(&self, op: libc::c_int, fd: RawFd, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: epoll and fd are open descriptors; event is a valid epoll_event.
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to the eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Where queries of `container` that are not answered locally go.
    pub(crate) fn upstreams_for(&self, container: &str) -> Vec<SocketAddrV4> {
        if let Some(own) = self
            .resolvers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(container)
            .filter(|r| !r.upstreams.is_empty())
        {
            return own.upstreams.clone();
        }
        self.upstreams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A link alias of `container` replaced by the name it stands for.
    fn unalias(&self, container: &str, name: &str) -> Option<String> {
        let wanted = name.trim_end_matches('.');
        self.resolvers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(container)?
            .link_aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(wanted))
            .map(|(_, target)| target.clone())
    }

    /// Answers a query of `container` from names, or None when it must be forwarded.
    pub(crate) fn local_answer(
        &self,
        container: &str,
        networks: &[String],
        query: &message::Query,
    ) -> Option<Vec<u8>> {
        if query.qclass != message::CLASS_IN {
            return None;
        }
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        if query.qtype == message::TYPE_PTR {
            let ip = message::reverse_ipv4(&query.name)?;
            let name = names.reverse(networks, ip)?;
            return Some(message::response(
                query,
                message::RCODE_NOERROR,
                &[Record::Ptr(name)],
            ));
        }
        let mut ips = names.lookup(networks, &query.name);
        if ips.is_empty() {
            if let Some(target) = self.unalias(container, &query.name) {
                ips = names.lookup(networks, &target);
            }
        }
        if ips.is_empty() {
            return None;
        }
        let records: Vec<Record> = if query.qtype == message::TYPE_A {
            ips.into_iter().map(Record::A).collect()
        } else {
            // The name exists but has no such record (AAAA, MX ...): NOERROR, no data.
            Vec::new()
        };
        Some(message::response(query, message::RCODE_NOERROR, &records))
    }
}

/// The embedded DNS server. Dropping it stops the thread and closes every socket.
pub struct Dns {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Dns {
    /// Starts the server thread in the caller's network namespace (where forwarded
    /// queries are sent from).
    pub fn start(upstreams: Vec<SocketAddrV4>) -> Result<Dns, DnsError> {
        // SAFETY: plain syscalls; the results are checked and owned right away.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(DnsError::io("create epoll", io::Error::last_os_error()));
        }
        // SAFETY: epoll is a fresh descriptor nobody else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        // SAFETY: as above.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(DnsError::io("create eventfd", io::Error::last_os_error()));
        }
        // SAFETY: wake is a fresh descriptor nobody else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        let upstream = UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.set_nonblocking(true).map(|_| s))
            .map_err(|e| DnsError::io("bind upstream socket", e))?;
        let shared = Arc::new(Shared {
            epoll,
            wake,
            names: RwLock::new(Names::default()),
            state: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            upstreams: RwLock::new(upstreams),
            resolvers: RwLock::new(HashMap::new()),
            stop: AtomicBool::new(false),
        });
        shared
            .epoll_ctl(libc::EPOLL_CTL_ADD, shared.wake.as_raw_fd(), TOKEN_WAKE)
            .map_err(|e| DnsError::io("watch eventfd", e))?;
        shared
            .epoll_ctl(libc::EPOLL_CTL_ADD, upstream.as_raw_fd(), TOKEN_UPSTREAM)
            .map_err(|e| DnsError::io("watch upstream socket", e))?;
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("berth-dns".into())
            .spawn(move || Server::new(thread_shared, upstream).run())
            .map_err(|e| DnsError::io("start server thread", e))?;
        Ok(Dns {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Replaces the upstream resolvers.
    pub fn set_upstreams(&self, upstreams: Vec<SocketAddrV4>) {
        *self
            .shared
            .upstreams
            .write()
            .unwrap_or_else(|p| p.into_inner()) = upstreams;
    }

    /// Sets a container's own upstreams and link aliases (kept until [`Dns::release`]).
    pub fn configure(&self, container: &str, resolver: ContainerResolver) {
        let mut resolvers = self
            .shared
            .resolvers
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if resolver == ContainerResolver::default() {
            resolvers.remove(container);
        } else {
            resolvers.insert(container.to_string(), resolver);
        }
    }

    /// Records the names of an endpoint on a network.
    pub fn register(&self, network: &str, owner: &str, names: &[String], ip: std::net::Ipv4Addr) {
        self.shared
            .names
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .register(network, owner, names, ip);
    }

    pub fn unregister(&self, network: &str, owner: &str) {
        self.shared
            .names
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .unregister(network, owner);
    }

    pub fn forget_network(&self, network: &str) {
        self.shared
            .names
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .forget_network(network);
    }

    /// Makes `container` resolve names of `network`. The first join creates its sockets
    /// on 127.0.0.11:53 inside `netns` (whose `lo` must be up); later joins only add the
    /// network. `forward`: whether unknown names may go upstream (false for `--internal`).
    pub fn join(
        &self,
        container: &str,
        netns: &NetNs,
        network: &str,
        forward: bool,
    ) -> Result<(), DnsError> {
        if let Some(listener) = self.listener_of(container) {
            let mut networks = listener.networks.lock().unwrap_or_else(|p| p.into_inner());
            networks.retain(|(n, _)| n != network);
            networks.push((network.to_string(), forward));
            return Ok(());
        }
        // Real sockets on random ports; an nftables DNAT inside the namespace sends port 53
        // to them, which keeps 53 free for the container's own programs.
        let addr = SocketAddr::from((EMBEDDED_ADDR, 0));
        let (udp, tcp) = netns
            .run(|| -> io::Result<(UdpSocket, TcpListener)> {
                let udp = UdpSocket::bind(addr)?;
                let tcp = TcpListener::bind(addr)?;
                super::redirect::install(
                    EMBEDDED_ADDR,
                    udp.local_addr()?.port(),
                    tcp.local_addr()?.port(),
                )?;
                Ok((udp, tcp))
            })?
            .map_err(|e| {
                DnsError::io(
                    format!(
                        "listen on {EMBEDDED_ADDR}:53 in {} (sockets and nftables redirect)",
                        netns.path().display()
                    ),
                    e,
                )
            })?;
        udp.set_nonblocking(true)
            .and_then(|_| tcp.set_nonblocking(true))
            .map_err(|e| DnsError::io("set sockets non-blocking", e))?;
        let listener = Arc::new(Listener {
            container: container.to_string(),
            udp,
            tcp,
            networks: Mutex::new(vec![(network.to_string(), forward)]),
        });
        let mut state = self.shared.state();
        if state.by_container.contains_key(container) {
            // Lost a race with another join of the same container: keep the first.
            drop(state);
            return self.join(container, netns, network, forward);
        }
        let id = state.next_id;
        state.next_id += 1;
        self.shared
            .epoll_ctl(libc::EPOLL_CTL_ADD, listener.udp.as_raw_fd(), id * 2 + 2)
            .and_then(|_| {
                self.shared
                    .epoll_ctl(libc::EPOLL_CTL_ADD, listener.tcp.as_raw_fd(), id * 2 + 3)
            })
            .map_err(|e| {
                let _ = self
                    .shared
                    .epoll_ctl(libc::EPOLL_CTL_DEL, listener.udp.as_raw_fd(), 0);
                DnsError::io("watch container DNS sockets", e)
            })?;
        state.listeners.insert(id, listener);
        state.by_container.insert(container.to_string(), id);
        Ok(())
    }

    /// Stops resolving `network` for `container`; closes its sockets when it was the last.
    pub fn leave(&self, container: &str, network: &str) {
        let Some(listener) = self.listener_of(container) else {
            return;
        };
        let empty = {
            let mut networks = listener.networks.lock().unwrap_or_else(|p| p.into_inner());
            networks.retain(|(n, _)| n != network);
            networks.is_empty()
        };
        if empty {
            self.release(container);
        }
    }

    /// Closes the sockets of `container` (it stopped).
    pub fn release(&self, container: &str) {
        self.shared
            .resolvers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(container);
        let mut state = self.shared.state();
        let Some(id) = state.by_container.remove(container) else {
            return;
        };
        if let Some(listener) = state.listeners.remove(&id) {
            let _ = self
                .shared
                .epoll_ctl(libc::EPOLL_CTL_DEL, listener.udp.as_raw_fd(), 0);
            let _ = self
                .shared
                .epoll_ctl(libc::EPOLL_CTL_DEL, listener.tcp.as_raw_fd(), 0);
        }
    }

    /// Containers that currently have sockets.
    pub fn containers(&self) -> Vec<String> {
        let state = self.shared.state();
        let mut out: Vec<String> = state
            .listeners
            .values()
            .map(|l| l.container.clone())
            .collect();
        out.sort();
        out
    }

    fn listener_of(&self, container: &str) -> Option<Arc<Listener>> {
        let state = self.shared.state();
        let id = state.by_container.get(container)?;
        state.listeners.get(id).cloned()
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

struct Pending {
    listener: Arc<Listener>,
    /// The upstreams this query may try, in order (the container's or the daemon's).
    upstreams: Vec<SocketAddrV4>,
    client: SocketAddr,
    original_id: u16,
    packet: Vec<u8>,
    attempt: usize,
    sent: Instant,
}

struct Server {
    shared: Arc<Shared>,
    upstream: UdpSocket,
    pending: HashMap<u16, Pending>,
    buf: Vec<u8>,
}

impl Server {
    fn new(shared: Arc<Shared>, upstream: UdpSocket) -> Server {
        Server {
            shared,
            upstream,
            pending: HashMap::new(),
            buf: vec![0u8; 65535],
        }
    }

    fn run(mut self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
        loop {
            let timeout = if self.pending.is_empty() { -1 } else { 250 };
            // SAFETY: events is a valid buffer of 64 entries for the kernel to fill.
            let n = unsafe {
                libc::epoll_wait(
                    self.shared.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as i32,
                    timeout,
                )
            };
            if self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::error!(error = %e, "DNS server: epoll_wait failed; stopping");
                    return;
                }
                continue;
            }
            for event in &events[..n as usize] {
                match event.u64 {
                    TOKEN_WAKE => {
                        let mut sink = [0u8; 8];
                        // SAFETY: reads 8 bytes into a valid buffer from the eventfd.
                        unsafe {
                            libc::read(self.shared.wake.as_raw_fd(), sink.as_mut_ptr().cast(), 8)
                        };
                    }
                    TOKEN_UPSTREAM => self.upstream_replies(),
                    token => {
                        let id = (token - 2) / 2;
                        let listener = self.shared.state().listeners.get(&id).cloned();
                        if let Some(listener) = listener {
                            if token % 2 == 0 {
                                self.udp_queries(&listener);
                            } else {
                                self.tcp_connections(&listener);
                            }
                        }
                    }
                }
            }
            self.expire();
        }
    }

    fn udp_queries(&mut self, listener: &Arc<Listener>) {
        loop {
            let (len, client) = match listener.udp.recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!(container = %listener.container, error = %e, "DNS receive failed");
                    return;
                }
            };
            let packet = self.buf[..len].to_vec();
            self.udp_query(listener, &packet, client);
        }
    }

    fn udp_query(&mut self, listener: &Arc<Listener>, packet: &[u8], client: SocketAddr) {
        let query = match message::parse_query(packet) {
            Ok(query) => query,
            Err(ParseError::Malformed { id }) => {
                let _ = listener.udp.send_to(&message::format_error(id), client);
                return;
            }
            Err(_) => return,
        };
        if query.opcode != 0 {
            let reply = message::response(&query, message::RCODE_NOTIMP, &[]);
            let _ = listener.udp.send_to(&reply, client);
            return;
        }
        let (networks, forward) = listener.view();
        if let Some(reply) = self
            .shared
            .local_answer(&listener.container, &networks, &query)
        {
            let _ = listener.udp.send_to(&reply, client);
            return;
        }
        let upstreams = self.shared.upstreams_for(&listener.container);
        if !forward || upstreams.is_empty() || self.pending.len() >= MAX_PENDING {
            let reply = message::response(&query, message::RCODE_SERVFAIL, &[]);
            let _ = listener.udp.send_to(&reply, client);
            return;
        }
        let id = loop {
            let candidate: u16 = rand::random();
            if !self.pending.contains_key(&candidate) {
                break candidate;
            }
        };
        let mut outgoing = packet.to_vec();
        outgoing[..2].copy_from_slice(&id.to_be_bytes());
        let _ = self.upstream.send_to(&outgoing, upstreams[0]);
        self.pending.insert(
            id,
            Pending {
                listener: Arc::clone(listener),
                upstreams,
                client,
                original_id: query.id,
                packet: outgoing,
                attempt: 0,
                sent: Instant::now(),
            },
        );
    }

    fn upstream_replies(&mut self) {
        loop {
            let (len, from) = match self.upstream.recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if len < 12 {
                continue;
            }
            let id = u16::from_be_bytes([self.buf[0], self.buf[1]]);
            // Only an answer from a server the query went to counts.
            let known = self
                .pending
                .get(&id)
                .is_some_and(|p| matches!(from, SocketAddr::V4(v4) if p.upstreams.contains(&v4)));
            if !known {
                continue;
            }
            let Some(pending) = self.pending.remove(&id) else {
                continue;
            };
            self.buf[..2].copy_from_slice(&pending.original_id.to_be_bytes());
            let _ = pending
                .listener
                .udp
                .send_to(&self.buf[..len], pending.client);
        }
    }

    /// Retries late queries on the next upstream, and gives up with SERVFAIL after
    /// every upstream had its turn.
    fn expire(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let now = Instant::now();
        let late: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.sent) >= UPSTREAM_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            let Some(mut pending) = self.pending.remove(&id) else {
                continue;
            };
            pending.attempt += 1;
            if pending.attempt < pending.upstreams.len() {
                let _ = self
                    .upstream
                    .send_to(&pending.packet, pending.upstreams[pending.attempt]);
                pending.sent = now;
                self.pending.insert(id, pending);
                continue;
            }
            if let Ok(mut query) = message::parse_query(&pending.packet) {
                query.id = pending.original_id;
                let reply = message::response(&query, message::RCODE_SERVFAIL, &[]);
                let _ = pending.listener.udp.send_to(&reply, pending.client);
            }
        }
    }

    fn tcp_connections(&mut self, listener: &Arc<Listener>) {
        loop {
            match listener.tcp.accept() {
                Ok((stream, _)) => {
                    let shared = Arc::clone(&self.shared);
                    let listener = Arc::clone(listener);
                    let spawned = std::thread::Builder::new()
                        .name("berth-dns-tcp".into())
                        .spawn(move || tcp::serve(stream, &listener, &shared));
                    if let Err(e) = spawned {
                        tracing::warn!(error = %e, "DNS: cannot serve a TCP connection");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }
}
