//! Test harness: every test runs inside its own "host" network namespace, so bridges,
//! veths, iptables rules and sysctls it creates never touch the machine's real network,
//! and parallel tests cannot see each other. Container namespaces are named namespaces
//! under /run/netns (so `ip netns exec` works). Guards remove everything on drop, also
//! when the test panics; deleting a namespace destroys every interface and rule inside.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_net::firewall::FirewallConfig;
use berth_net::netlink::Netlink;
use berth_net::{BridgeDriver, DriverConfig, NetNs, NetworkSpec, Subnet};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique small number for names in this process.
pub fn unique() -> usize {
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

/// True (and a note printed) when the test cannot run here: these tests need root.
pub fn skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root (network namespaces, bridges, iptables)");
        return true;
    }
    false
}

/// A named network namespace, deleted on drop.
pub struct Ns {
    pub name: String,
    pub ns: NetNs,
}

impl Ns {
    pub fn new(role: &str) -> Ns {
        let name = format!("berthnet-test-{}-{role}{}", std::process::id(), unique());
        let path = PathBuf::from("/run/netns").join(&name);
        let ns = NetNs::create(&path).expect("create test namespace");
        Ns { name, ns }
    }

    pub fn path(&self) -> &Path {
        self.ns.path()
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// One ping from this namespace; true when answered.
    pub fn ping(&self, ip: Ipv4Addr) -> bool {
        self.exec(&["busybox", "ping", "-c1", "-W1", &ip.to_string()])
            .status
            .success()
    }

    /// A TCP listener bound inside the namespace, answering each connection with `reply`
    /// from a background thread until the returned guard drops.
    pub fn tcp_server(&self, port: u16, reply: &'static str) -> Server {
        let listener = self
            .ns
            .run(move || TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)))
            .unwrap()
            .expect("bind test listener in namespace");
        listener.set_nonblocking(true).unwrap();
        Server::spawn(move |stop| {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        use std::io::Write;
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.write_all(reply.as_bytes());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    }

    /// A UDP echo server bound inside the namespace until the guard drops.
    pub fn udp_echo(&self, port: u16) -> Server {
        let socket = self
            .ns
            .run(move || UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)))
            .unwrap()
            .expect("bind udp echo in namespace");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        Server::spawn(move |stop| {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::SeqCst) {
                if let Ok((len, from)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(&buf[..len], from);
                }
            }
        })
    }

    /// Connects from inside the namespace and reads what the server says.
    pub fn tcp_fetch(&self, addr: SocketAddr) -> std::io::Result<String> {
        let stream = self
            .ns
            .run(move || TcpStream::connect_timeout(&addr, Duration::from_secs(2)))
            .unwrap()?;
        read_all(stream)
    }
}

/// A background server thread, stopped and joined on drop (its sockets close with it).
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn spawn(body: impl FnOnce(&AtomicBool) + Send + 'static) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || body(&flag));
        Server {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        if let Err(e) = NetNs::remove(self.ns.path()) {
            eprintln!("cleanup: {e}");
        }
    }
}

pub fn read_all(mut stream: TcpStream) -> std::io::Result<String> {
    use std::io::Read;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text)
}

/// Connects from the calling thread (the simulated host) and reads the greeting.
pub fn fetch(addr: SocketAddr) -> std::io::Result<String> {
    read_all(TcpStream::connect_timeout(&addr, Duration::from_secs(2))?)
}

/// Runs `body` on a thread that lives in a fresh namespace standing in for the host. The
/// namespace has `lo` up and nothing else; it is deleted afterwards, with every bridge,
/// veth and iptables rule made inside. Panics of `body` are passed on.
pub fn in_host<T: Send>(body: impl FnOnce(&Ns) -> T + Send) -> T {
    let host = Ns::new("h");
    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                host.ns
                    .enter_current_thread()
                    .expect("enter host namespace");
                Netlink::open().unwrap().set_up(1, true).unwrap();
                body(&host)
            })
            .join()
    });
    drop(host);
    match result {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// iptables-save of the calling thread's namespace without comments and counters.
pub fn iptables_save() -> String {
    let out = Command::new("iptables-save")
        .output()
        .expect("iptables-save");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            // ":CHAIN POLICY [packets:bytes]" → drop the counters.
            if l.starts_with(':') {
                l.rsplit_once(' ').map_or(l, |(head, _)| head).to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A driver with its own chain prefix and IPAM folder (dropped with the returned guard).
pub fn driver(prefix: &str) -> (BridgeDriver, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DriverConfig::new(dir.path().join("ipam"));
    config.firewall = FirewallConfig {
        prefix: prefix.to_string(),
        ..FirewallConfig::default()
    };
    (BridgeDriver::new(config).expect("driver"), dir)
}

/// A network spec with a test bridge name and subnet 10.213.<third>.0/24.
pub fn spec(name: &str, third: u8) -> NetworkSpec {
    let id = format!("{name}{:0>12}", unique());
    let mut spec = NetworkSpec::user(&id, name);
    spec.bridge = format!("bt{}{}", std::process::id() % 10000, unique());
    spec.subnet = Some(Subnet::new(Ipv4Addr::new(10, 213, third, 0), 24).unwrap());
    spec
}
