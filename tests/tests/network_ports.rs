//! Published ports end to end: `-p HOST:80` answers on 127.0.0.1 and, through the host
//! (hairpin), to another container at the bridge's gateway address; `-P` publishes
//! EXPOSEd ports; `-p 127.0.0.1::80` takes an ephemeral port shown by `berth port`,
//! `ps` and inspect; a host port in use fails the start and leaves nothing configured;
//! stopping a container frees its port and rules; with `--iptables=false` userland
//! forwarders serve TCP and UDP ports.

mod network_common;

use std::time::Duration;

use network_common::{free_port, http_get, httpd, wait_http, NetDaemon};

fn args<'a>(front: &[&'a str], command: &'a [String]) -> Vec<&'a str> {
    let mut out = front.to_vec();
    out.push("busybox");
    out.extend(command.iter().map(String::as_str));
    out
}

#[test]
fn published_port_answers_on_loopback_and_through_the_host_from_a_container() {
    let d = NetDaemon::start();
    let web = network_common::unique("web");
    let client = network_common::unique("client");
    let port = free_port();
    let mapping = format!("{port}:80");
    let command = httpd("hello-berth");
    d.run_d(&args(&["--name", &web, "-p", &mapping], &command));
    let body = wait_http(&format!("127.0.0.1:{port}"), Duration::from_secs(20));
    assert_eq!(
        body.as_deref().map(str::trim),
        Some("hello-berth"),
        "GET 127.0.0.1:{port}\n{}",
        d.log_tail()
    );
    assert_eq!(d.ok(&["port", &web]), format!("80/tcp -> 0.0.0.0:{port}\n"));
    let ps = d.ok(&[
        "ps",
        "--format",
        "{{.Ports}}",
        "--filter",
        &format!("name={web}"),
    ]);
    assert_eq!(ps.trim(), format!("0.0.0.0:{port}->80/tcp"));

    // Hairpin: another container reaches it at the host's address on the bridge.
    d.run_d(&["--name", &client, "busybox", "sleep", "300"]);
    // (busybox's static `wget` crashes on this distribution, so `nc` speaks HTTP.)
    let gateway = d.gateway();
    let port_text = port.to_string();
    let get = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {gateway} {port_text}");
    let out = d.exec(&client, &["sh", "-c", &get]);
    assert!(
        out.code == 0 && out.stdout.contains(" 200 ") && out.stdout.contains("hello-berth"),
        "GET http://{gateway}:{port} from {client}: {out:?}\n{}",
        d.log_tail()
    );
    // And the server itself, through its own published port.
    let out = d.exec(&web, &["sh", "-c", &get]);
    assert!(
        out.stdout.contains("hello-berth"),
        "hairpin to itself: {out:?}"
    );

    // Stopped: no rule for the port, the port is free again.
    d.ok(&["stop", "-t", "1", &web]);
    assert!(
        network_common::rules_with(&format!("--dport {port}"))
            .iter()
            .all(|r| !r.contains(&d.prefix)),
        "rules for {port} remain after stop"
    );
    assert!(http_get(&format!("127.0.0.1:{port}")).is_none());
    std::net::TcpListener::bind(("0.0.0.0", port)).expect("the host port is free again");
    d.ok(&["rm", "-f", &web, &client]);
    d.finish();
}

#[test]
fn publish_all_uses_exposed_ports_and_loopback_ephemeral_ports_show_in_port() {
    let d = NetDaemon::start();
    let all = network_common::unique("all");
    let local = network_common::unique("local");
    let command = httpd("exposed");
    d.run_d(&args(&["--name", &all, "-P", "--expose", "80"], &command));
    let port_line = d.ok(&["port", &all, "80/tcp"]);
    let port: u16 = port_line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("berth port: {port_line:?}"));
    assert!(port_line.starts_with("0.0.0.0:"), "{port_line}");
    assert_eq!(
        wait_http(&format!("127.0.0.1:{port}"), Duration::from_secs(20)).as_deref(),
        Some("exposed\n")
    );

    let command = httpd("loopback");
    d.run_d(&args(&["--name", &local, "-p", "127.0.0.1::80"], &command));
    let out = d.ok(&["port", &local]);
    let (key, host) = out.trim().split_once(" -> ").expect("PORT -> HOST");
    assert_eq!(key, "80/tcp");
    let (ip, eph) = host.split_once(':').expect("IP:PORT");
    assert_eq!(ip, "127.0.0.1");
    let eph: u16 = eph.parse().expect("port number");
    assert!(eph >= 1024, "{eph}");
    assert_eq!(
        wait_http(&format!("127.0.0.1:{eph}"), Duration::from_secs(20)).as_deref(),
        Some("loopback\n")
    );
    let inspect =
        network_common::json(&d.ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", &local]));
    assert_eq!(inspect["80/tcp"][0]["HostIp"], "127.0.0.1");
    assert_eq!(inspect["80/tcp"][0]["HostPort"], eph.to_string());
    d.ok(&["rm", "-f", &all, &local]);
    d.finish();
}

#[test]
fn a_host_port_in_use_fails_the_start_and_leaves_nothing_configured() {
    let d = NetDaemon::start();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let rules_before = network_common::rules_with(&d.prefix);
    let links_before = d.ip_links_on_bridge();
    let name = network_common::unique("busy");
    let mapping = format!("127.0.0.1:{port}:80");
    let command = httpd("never");
    let out = d.berth(&args(
        &["run", "-d", "--name", &name, "-p", &mapping],
        &command,
    ));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(
        out.stderr.contains(&port.to_string())
            && (out.stderr.contains("in use") || out.stderr.contains("already allocated")),
        "not a clear error: {out:?}"
    );
    let state = d.ok(&["inspect", "-f", "{{.State.Running}}", &name]);
    assert_eq!(state.trim(), "false");
    assert_eq!(network_common::rules_with(&d.prefix), rules_before);
    // The veth goes with the container's namespace, which the kernel tears down
    // asynchronously: poll.
    let mut links = Vec::new();
    let polled = std::time::Instant::now();
    let gone = berth_tests::wait_for(Duration::from_secs(10), || {
        links = d.ip_links_on_bridge();
        links == links_before
    });
    assert!(gone, "left on the bridge: {links:?}\n{}", d.log_tail());
    eprintln!(
        "veths of the failed start gone after {:?}",
        polled.elapsed()
    );
    // The port still belongs to its holder and the daemon still publishes other ports.
    drop(holder);
    d.ok(&["start", &name]);
    d.record_veths(&name);
    assert_eq!(
        wait_http(&format!("127.0.0.1:{port}"), Duration::from_secs(20)).as_deref(),
        Some("never\n")
    );
    d.ok(&["rm", "-f", &name]);
    d.finish();
}

/// `--iptables=false`: no rule is written, and (as docker-proxy does then) a userland
/// proxy serves published TCP ports, on loopback and through the host from a container.
#[test]
fn without_iptables_a_proxy_publishes_tcp_ports() {
    let d = NetDaemon::start_with("{}", &["--iptables=false"]);
    let web = network_common::unique("web");
    let port = free_port();
    let mapping = format!("{port}:80");
    let command = httpd("hello-proxy");
    d.run_d(&args(&["--name", &web, "-p", &mapping], &command));
    let body = wait_http(&format!("127.0.0.1:{port}"), Duration::from_secs(20));
    assert_eq!(
        body.as_deref().map(str::trim),
        Some("hello-proxy"),
        "GET 127.0.0.1:{port}\n{}",
        d.log_tail()
    );
    assert!(
        network_common::rules_with(&d.prefix).is_empty(),
        "rules written with --iptables=false: {:?}",
        network_common::rules_with(&d.prefix)
    );
    let client = network_common::unique("client");
    d.run_d(&["--name", &client, "busybox", "sleep", "300"]);
    let get = format!(
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {} {port}",
        d.gateway()
    );
    let out = d.exec(&client, &["sh", "-c", &get]);
    assert!(out.stdout.contains("hello-proxy"), "{out:?}");
    // Stopping the container closes the proxy and frees the port.
    d.ok(&["rm", "-f", &web, &client]);
    assert!(http_get(&format!("127.0.0.1:{port}")).is_none());
    std::net::TcpListener::bind(("0.0.0.0", port)).expect("port freed");
    d.finish();
}

/// A UDP echo server inside a container's network namespace (busybox has no UDP server
/// applet: its `nc` lacks `-u`, and it has no `udpsvd`): a thread of the test joins the
/// namespace of the container's init with setns(2) and answers `echo:DATA` on `port`
/// until `stop` is set.
fn udp_echo_in(
    pid: i32,
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    use std::os::fd::AsRawFd;
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).expect("container netns");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        // SAFETY: setns on this thread only (network namespaces are per thread).
        let joined = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(joined, 0, "setns: {}", std::io::Error::last_os_error());
        drop(ns);
        let socket = std::net::UdpSocket::bind(("0.0.0.0", port)).expect("bind in container");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        ready_tx.send(()).unwrap();
        let mut buf = [0u8; 1500];
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                let mut reply = b"echo:".to_vec();
                reply.extend_from_slice(&buf[..n]);
                let _ = socket.send_to(&reply, from);
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("echo server ready");
    thread
}

/// `--iptables=false` with `-p HOST:53/udp`: the userland UDP forwarder relays each
/// host client's datagrams to the container and the replies back (two clients, two
/// flows), writes no rule, and goes with the container (the port is free again).
#[test]
fn without_iptables_a_forwarder_publishes_udp_ports() {
    let d = NetDaemon::start_with("{}", &["--iptables=false"]);
    let name = network_common::unique("udp");
    let port = free_port();
    let mapping = format!("127.0.0.1:{port}:53/udp");
    d.run_d(&["--name", &name, "-p", &mapping, "busybox", "sleep", "300"]);
    let pid: i32 = d
        .ok(&["inspect", "-f", "{{.State.Pid}}", &name])
        .trim()
        .parse()
        .expect("pid");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = udp_echo_in(pid, 53, stop.clone());
    let port_out = d.ok(&["port", &name]);
    assert_eq!(port_out.trim(), format!("53/udp -> 127.0.0.1:{port}"));
    for word in ["first", "second"] {
        let client = std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut answer = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while answer.is_none() && std::time::Instant::now() < deadline {
            client
                .send_to(word.as_bytes(), ("127.0.0.1", port))
                .unwrap();
            let mut buf = [0u8; 1500];
            if let Ok((n, from)) = client.recv_from(&mut buf) {
                assert_eq!(from.port(), port);
                answer = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        assert_eq!(
            answer.as_deref(),
            Some(format!("echo:{word}").as_str()),
            "{}",
            d.log_tail()
        );
    }
    assert!(network_common::rules_with(&d.prefix).is_empty());
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    server.join().expect("echo server");
    d.ok(&["rm", "-f", &name]);
    std::net::UdpSocket::bind(("127.0.0.1", port)).expect("port freed");
    d.finish();
}
