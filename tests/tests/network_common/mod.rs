//! Shared by the `network_*` end-to-end tests: a berthd with busybox loaded on its own
//! bridge, /24 from 10.213.0.0/16 and firewall chain prefix, that checks on `finish` and
//! removes on drop (also after a failure) every bridge, veth, pinned namespace and
//! iptables rule of the test.

#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth_tests::containers::{busybox_tar, mounts_under, processes_mentioning};
use berth_tests::{berth_cmd, Daemon, TempDir};
use serde_json::Value;

/// How long a CLI command may run.
pub const DEADLINE: Duration = Duration::from_secs(60);

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SUBNETS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The output of a command.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn run(command: &mut Command) -> Out {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `ip ARGS` on the host.
pub fn ip(args: &[&str]) -> String {
    run(Command::new("ip").args(args)).stdout
}

/// `iptables-save` lines (all tables) that mention `needle`.
pub fn rules_with(needle: &str) -> Vec<String> {
    run(&mut Command::new("iptables-save"))
        .stdout
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Names of the host's links.
pub fn host_links() -> Vec<String> {
    ip(&["-o", "link"])
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .collect()
}

/// A third octet `X` such that 10.213.X.0/24 is used by no route or address on the host
/// nor by another test of this process.
pub fn free_subnet() -> String {
    let routes = ip(&["route"]) + &ip(&["-o", "addr"]);
    let mut taken = SUBNETS.lock().unwrap_or_else(|p| p.into_inner());
    let start = (std::process::id() % 60) * 4;
    for offset in 0..256u32 {
        let x = ((start + offset) % 254 + 1) as u8;
        if taken.contains(&x) || routes.contains(&format!("10.213.{x}.")) {
            continue;
        }
        taken.push(x);
        return format!("10.213.{x}");
    }
    panic!("no free /24 in 10.213.0.0/16");
}

/// Docker's `[a-zA-Z0-9]` names made unique to this process.
pub fn unique(base: &str) -> String {
    format!(
        "{base}{}n{}",
        std::process::id() % 1000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A berthd with busybox:latest on its own default bridge.
pub struct NetDaemon {
    pub daemon: Option<Daemon>,
    exec_root: TempDir,
    /// Default bridge name (≤ 15 characters).
    pub bridge: String,
    /// `10.213.X`: the default bridge's /24 without the last octet.
    pub subnet: String,
    /// Firewall chain prefix (≤ 10 characters).
    pub prefix: String,
    /// Bridges and veths the test made (checked gone at the end).
    links: Mutex<HashSet<String>>,
    /// Set by `finish` (its checks done).
    finished: bool,
}

impl NetDaemon {
    pub fn start() -> NetDaemon {
        NetDaemon::start_with("{}", &[])
    }

    /// Starts the daemon with `daemon.json` text and extra flags.
    pub fn start_with(config_json: &str, flags: &[&str]) -> NetDaemon {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let bridge = format!("bn{}b{n}", pid % 1000);
        let prefix = format!("BN{}N{n}", pid % 10000);
        assert!(bridge.len() <= 15 && prefix.len() <= 10);
        let subnet = free_subnet();
        let exec_root = TempDir::new("bn");
        let bip = format!("{subnet}.1/24");
        let daemon = Daemon::start_custom(Some(config_json), |d| {
            let mut args = d.base_args();
            let at = args
                .iter()
                .position(|a| a == "--exec-root")
                .expect("--exec-root in the base flags");
            args[at + 1] = exec_root.path.display().to_string();
            let extra: Vec<String> = [
                "--bridge",
                &bridge,
                "--bip",
                &bip,
                "--firewall-chain-prefix",
                &prefix,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            berth_tests::override_flags(&mut args, &extra);
            args.extend(extra);
            args.extend(flags.iter().map(|f| f.to_string()));
            args
        });
        let net = NetDaemon {
            daemon: Some(daemon),
            exec_root,
            bridge: bridge.clone(),
            subnet,
            prefix,
            links: Mutex::new(HashSet::from([bridge])),
            finished: false,
        };
        let tar = busybox_tar();
        net.ok(&["load", "-i", tar.to_str().expect("utf-8 path")]);
        net
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("daemon running")
    }

    /// The gateway of the default bridge.
    pub fn gateway(&self) -> String {
        format!("{}.1", self.subnet)
    }

    pub fn log_tail(&self) -> String {
        let log = self.daemon.as_ref().map(|d| d.log()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let start = lines.len().saturating_sub(40);
        format!("--- berthd log (tail) ---\n{}", lines[start..].join("\n"))
    }

    /// `berth ARGS` against this daemon.
    pub fn berth(&self, args: &[&str]) -> Out {
        let out = berth_cmd(&self.daemon().host(), args);
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `berth ARGS`, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert_eq!(
            out.code,
            0,
            "berth {args:?} failed: {out:?}\n{}",
            self.log_tail()
        );
        out.stdout
    }

    /// `berth ARGS`, asserting failure with `code`; returns the output.
    pub fn fails(&self, args: &[&str], code: i32) -> Out {
        let out = self.berth(args);
        assert_eq!(
            out.code,
            code,
            "berth {args:?}: expected exit {code}: {out:?}\n{}",
            self.log_tail()
        );
        out
    }

    /// `berth network create` with its own /24 (and a bridge name recorded for the final
    /// check); returns the subnet prefix `10.213.X`.
    pub fn create_network(&self, name: &str, extra: &[&str]) -> String {
        let subnet = free_subnet();
        let cidr = format!("{subnet}.0/24");
        let mut args = vec!["network", "create", "--subnet", &cidr];
        args.extend_from_slice(extra);
        args.push(name);
        self.ok(&args);
        let bridge = bridge_of(&json(&self.ok(&["network", "inspect", name]))[0]);
        self.links
            .lock()
            .expect("links")
            .insert(bridge.trim().to_string());
        subnet
    }

    /// `berth run -d ARGS`; records the container's host veths; returns its ID.
    pub fn run_d(&self, args: &[&str]) -> String {
        let mut full = vec!["run", "-d"];
        full.extend_from_slice(args);
        let id = self.ok(&full).trim().to_string();
        self.record_veths(&id);
        id
    }

    /// Names of the links enslaved to the default bridge.
    pub fn ip_links_on_bridge(&self) -> Vec<String> {
        ip(&["-o", "link", "show", "master", &self.bridge])
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
            .collect()
    }

    /// Remembers a bridge or veth the test made some other way (checked gone at the end).
    pub fn record_link(&self, name: &str) {
        self.links.lock().expect("links").insert(name.to_string());
    }

    /// Remembers the host-side veths of a container (its endpoint IDs).
    pub fn record_veths(&self, container: &str) {
        let out = self.berth(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.EndpointID}} {{end}}",
            container,
        ]);
        let mut links = self.links.lock().expect("links");
        for name in out.stdout.split_whitespace() {
            links.insert(name.to_string());
        }
    }

    /// A container's address on `network`.
    pub fn ip_of(&self, container: &str, network: &str) -> String {
        let template = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
        self.ok(&["inspect", "-f", &template, container])
            .trim()
            .to_string()
    }

    /// `berth exec CONTAINER ARGS`.
    pub fn exec(&self, container: &str, args: &[&str]) -> Out {
        let mut full = vec!["exec", container];
        full.extend_from_slice(args);
        self.berth(&full)
    }

    /// Whether `from` gets an answer to one ping of `to` (name or address).
    pub fn pings(&self, from: &str, to: &str) -> bool {
        self.exec(from, &["ping", "-c1", "-W2", to]).code == 0
    }

    /// Stops the daemon and asserts nothing of the test is left: no bridge or veth of
    /// the test, no iptables rule with its prefix or naming its bridges, no mount under
    /// its exec root.
    pub fn finish(mut self) {
        self.shutdown();
        self.finished = true;
        let leftovers = self.leftovers();
        if !leftovers.is_empty() {
            self.purge();
            panic!(
                "the daemon left things behind after a clean stop:\n  {}",
                leftovers.join("\n  ")
            );
        }
    }

    fn shutdown(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let status = daemon.stop();
            assert!(
                status.is_some_and(|s| s.success()),
                "berthd did not stop cleanly ({status:?}):\n{}",
                daemon.log()
            );
        }
    }

    /// What is left on the host of this test.
    pub fn leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        let links = self.links.lock().expect("links").clone();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            out.clear();
            let host = host_links();
            for name in &links {
                if host.contains(name) {
                    out.push(format!("link {name}"));
                }
            }
            for rule in rules_with(&self.prefix) {
                out.push(format!("rule {rule}"));
            }
            for name in &links {
                for rule in rules_with(&format!(" {name} ")) {
                    out.push(format!("rule {rule}"));
                }
            }
            for mount in mounts_under(&self.exec_root.path) {
                out.push(format!("mount {mount}"));
            }
            if out.is_empty() || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Removes by force what this test left (after a failure).
    fn purge(&self) {
        let root = self.exec_root.path.display().to_string();
        for (pid, _) in processes_mentioning(&root) {
            // SAFETY: SIGKILL to a process whose command line names this test's private
            // exec root (a shim or container of its daemon).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        for mount in mounts_under(&self.exec_root.path) {
            let target = mount.split_whitespace().nth(1).unwrap_or("").to_string();
            if let Ok(c) = std::ffi::CString::new(target) {
                // SAFETY: lazily unmounts a mount point below this test's temp folder.
                unsafe {
                    libc::umount2(c.as_ptr(), libc::MNT_DETACH);
                }
            }
        }
        let links = self.links.lock().expect("links").clone();
        for name in &links {
            let _ = Command::new("ip").args(["link", "del", name]).output();
        }
        purge_chains(&self.prefix);
    }
}

/// Deletes every rule that jumps to or lives in a chain named `prefix` or `prefix-*`,
/// then the chains, in every table.
pub fn purge_chains(prefix: &str) {
    let mine = |chain: &str| chain == prefix || chain.starts_with(&format!("{prefix}-"));
    let save = run(&mut Command::new("iptables-save")).stdout;
    let mut table = String::new();
    let mut chains = Vec::new();
    let mut deletes = Vec::new();
    for line in save.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
        } else if let Some(c) = line.strip_prefix(':') {
            let chain = c.split_whitespace().next().unwrap_or("");
            if mine(chain) {
                chains.push((table.clone(), chain.to_string()));
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let chain = rule.split_whitespace().next().unwrap_or("");
            let jumps = rule.split_whitespace().collect::<Vec<_>>();
            let target = jumps
                .windows(2)
                .find(|w| w[0] == "-j" || w[0] == "-g")
                .map(|w| w[1])
                .unwrap_or("");
            if !mine(chain) && mine(target) {
                deletes.push((table.clone(), rule.to_string()));
            }
        }
    }
    for (table, rule) in deletes {
        // The saved form is one shell-like line; comments are the only quoted parts.
        let mut args = vec!["-t".to_string(), table, "-D".to_string()];
        args.extend(shell_words(&rule));
        let _ = Command::new("iptables").args(&args).output();
    }
    for (table, chain) in &chains {
        let _ = Command::new("iptables")
            .args(["-t", table, "-F", chain])
            .output();
    }
    for (table, chain) in &chains {
        let _ = Command::new("iptables")
            .args(["-t", table, "-X", chain])
            .output();
    }
}

fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

impl Drop for NetDaemon {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop();
        }
        let leftovers = self.leftovers();
        if !leftovers.is_empty() {
            eprintln!(
                "removing what the failed test left:\n  {}",
                leftovers.join("\n  ")
            );
            self.purge();
        }
    }
}

/// The bridge of a network from its inspect document: the name it was created with
/// (`com.docker.network.bridge.name`), else `br-` and the first 12 digits of its ID.
pub fn bridge_of(network: &Value) -> String {
    match network["Options"]["com.docker.network.bridge.name"].as_str() {
        Some(name) => name.to_string(),
        None => format!("br-{}", &network["Id"].as_str().unwrap_or("")[..12]),
    }
}

/// An HTTP GET of `/` on `addr`; the body of a 200 answer, else None.
pub fn http_get(addr: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(3)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.")
        .then_some(())
        .filter(|_| head.lines().next().is_some_and(|l| l.contains(" 200 ")))?;
    Some(body.to_string())
}

/// Polls `http_get` until it answers (the server may still be starting).
pub fn wait_http(addr: &str, deadline: Duration) -> Option<String> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(body) = http_get(addr) {
            return Some(body);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The argv of a busybox web server on port 80 that serves `text` at `/`.
pub fn httpd(text: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"),
    ]
}

/// A free TCP port on all addresses of the host.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Parses `docker inspect` JSON output.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A tiny DNS server of the test on `127.X.Y.Z:53` (a loopback address of its own):
/// answers A queries for its one name with a fixed address, NOERROR without data for
/// other types of that name, NXDOMAIN for everything else. Stops on drop.
pub struct TestResolver {
    pub ip: Ipv4Addr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Names asked, in order.
    pub asked: std::sync::Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestResolver {
    pub fn start(name: &str, answer: Ipv4Addr) -> TestResolver {
        let socket = (0..50)
            .find_map(|_| {
                let ip = Ipv4Addr::new(127, 77, rand_octet(), rand_octet().max(2));
                std::net::UdpSocket::bind((ip, 53)).ok()
            })
            .expect("a free 127.77.x.y:53 for the test resolver");
        let ip = match socket.local_addr().expect("local addr").ip() {
            std::net::IpAddr::V4(ip) => ip,
            other => panic!("unexpected {other}"),
        };
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let asked = std::sync::Arc::new(Mutex::new(Vec::new()));
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let thread = {
            let stop = stop.clone();
            let asked = asked.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while !stop.load(Ordering::SeqCst) {
                    let Ok((len, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    if let Some((qname, reply)) = dns_reply(&buf[..len], &name, answer) {
                        asked.lock().unwrap_or_else(|p| p.into_inner()).push(qname);
                        let _ = socket.send_to(&reply, from);
                    }
                }
            })
        };
        TestResolver {
            ip,
            stop,
            asked,
            thread: Some(thread),
        }
    }

    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for TestResolver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn rand_octet() -> u8 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    ((nanos / 7 + COUNTER.fetch_add(1, Ordering::Relaxed) * 31) % 250) as u8 + 2
}

/// The answer to one query packet: (asked name, reply).
fn dns_reply(query: &[u8], name: &str, answer: Ipv4Addr) -> Option<(String, Vec<u8>)> {
    if query.len() < 12 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question_end = at + 4;
    let asked = labels.join(".");
    let known = asked == name;
    let mut reply = query[..question_end].to_vec();
    // QR, opcode 0, RD copied, RA; rcode NXDOMAIN (3) for unknown names.
    reply[2] = 0x80 | (query[2] & 0x01);
    reply[3] = 0x80 | if known { 0 } else { 3 };
    let answers: u16 = if known && qtype == 1 { 1 } else { 0 };
    reply[4..6].copy_from_slice(&1u16.to_be_bytes());
    reply[6..8].copy_from_slice(&answers.to_be_bytes());
    reply[8..12].copy_from_slice(&[0, 0, 0, 0]);
    if answers == 1 {
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        reply.extend_from_slice(&answer.octets());
    }
    Some((asked, reply))
}
