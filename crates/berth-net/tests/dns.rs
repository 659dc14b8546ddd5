//! The embedded DNS server answers names of the container's networks from inside its
//! namespace on 127.0.0.11:53 and forwards the rest to the upstream resolvers.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::Duration;

use berth_net::dns::message::{self, TYPE_A};
use berth_net::firewall::FirewallConfig;
use berth_net::{BridgeDriver, DriverConfig, EndpointOptions};
use common::{in_host, skip, spec, Ns, Server};

const AAAA: u16 = 28;
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(10, 213, 250, 250);

fn upstream_reply(packet: &[u8]) -> Option<Vec<u8>> {
    let query = message::parse_query(packet).ok()?;
    Some(if query.name == "upstream.test" && query.qtype == TYPE_A {
        message::response(&query, 0, &[message::Record::A(UPSTREAM_ANSWER)])
    } else {
        message::response(&query, message::RCODE_NXDOMAIN, &[])
    })
}

/// A resolver on 127.0.0.1 of the simulated host (UDP and TCP on one port):
/// `upstream.test` has an address, every other name is NXDOMAIN.
fn upstream() -> (SocketAddrV4, Server, Server) {
    let (socket, listener) = loop {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            break (socket, listener);
        }
    };
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, socket.local_addr().unwrap().port());
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let udp = Server::spawn(move |stop| {
        let mut buf = [0u8; 512];
        while !stop.load(Ordering::SeqCst) {
            if let Ok((len, from)) = socket.recv_from(&mut buf) {
                if let Some(reply) = upstream_reply(&buf[..len]) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        }
    });
    listener.set_nonblocking(true).unwrap();
    let tcp = Server::spawn(move |stop| {
        while !stop.load(Ordering::SeqCst) {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let mut len = [0u8; 2];
            if stream.read_exact(&mut len).is_err() {
                continue;
            }
            let mut packet = vec![0u8; u16::from_be_bytes(len) as usize];
            if stream.read_exact(&mut packet).is_err() {
                continue;
            }
            if let Some(reply) = upstream_reply(&packet) {
                let mut frame = (reply.len() as u16).to_be_bytes().to_vec();
                frame.extend_from_slice(&reply);
                let _ = stream.write_all(&frame);
            }
        }
    });
    (addr, udp, tcp)
}

/// Asks 127.0.0.11 from inside `ns` over UDP: (rcode, A records).
fn ask(ns: &Ns, name: &str, qtype: u16) -> (u8, Vec<Ipv4Addr>) {
    let query = message::build_query(0x4242, name, qtype);
    let reply = ns
        .ns
        .run(move || -> std::io::Result<Vec<u8>> {
            let socket = UdpSocket::bind("0.0.0.0:0")?;
            socket.set_read_timeout(Some(Duration::from_secs(5)))?;
            socket.connect("127.0.0.11:53")?;
            socket.send(&query)?;
            let mut buf = [0u8; 1500];
            let len = socket.recv(&mut buf)?;
            Ok(buf[..len].to_vec())
        })
        .unwrap()
        .expect("DNS answer from 127.0.0.11");
    assert_eq!(
        &reply[..2],
        &[0x42, 0x42],
        "the reply carries the query's ID"
    );
    message::parse_a_answers(&reply).expect("well-formed reply")
}

/// The same over TCP.
fn ask_tcp(ns: &Ns, name: &str) -> (u8, Vec<Ipv4Addr>) {
    let query = message::build_query(7, name, TYPE_A);
    let reply = ns
        .ns
        .run(move || -> std::io::Result<Vec<u8>> {
            let mut stream = TcpStream::connect("127.0.0.11:53")?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut frame = (query.len() as u16).to_be_bytes().to_vec();
            frame.extend_from_slice(&query);
            stream.write_all(&frame)?;
            let mut len = [0u8; 2];
            stream.read_exact(&mut len)?;
            let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
            stream.read_exact(&mut reply)?;
            Ok(reply)
        })
        .unwrap()
        .expect("DNS answer over TCP");
    message::parse_a_answers(&reply).unwrap()
}

fn options(container: &str, names: &[&str]) -> EndpointOptions {
    EndpointOptions {
        container: container.to_string(),
        ifname: "eth0".into(),
        dns_names: names.iter().map(|n| n.to_string()).collect(),
        default_route: true,
        ..EndpointOptions::default()
    }
}

#[test]
fn names_resolve_inside_the_namespace_and_the_rest_is_forwarded() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (upstream_addr, _udp, _tcp) = upstream();
        let dir = tempfile::tempdir().unwrap();
        let mut config = DriverConfig::new(dir.path().join("ipam"));
        config.firewall = FirewallConfig {
            prefix: "BERTH-T10".into(),
            ..FirewallConfig::default()
        };
        config.dns_upstreams = vec![upstream_addr];
        let driver = BridgeDriver::new(config).unwrap();

        let net = driver.create_network(&spec("dns", 20)).unwrap();
        let other = driver.create_network(&spec("other", 21)).unwrap();
        let mut internal_spec = spec("int", 22);
        internal_spec.internal = true;
        let internal = driver.create_network(&internal_spec).unwrap();

        let (web, client, stranger, hermit) =
            (Ns::new("c"), Ns::new("c"), Ns::new("c"), Ns::new("c"));
        let ew = driver
            .connect(
                &net,
                &web.ns,
                &options("web-id", &["web", "web-alias", "0123456789ab"]),
            )
            .unwrap();
        driver
            .connect(&net, &client.ns, &options("client-id", &["client"]))
            .unwrap();
        driver
            .connect(&other, &stranger.ns, &options("stranger-id", &["stranger"]))
            .unwrap();
        driver
            .connect(&internal, &hermit.ns, &options("hermit-id", &["hermit"]))
            .unwrap();

        // The container's own port 53 stays free (a DNS server inside binds 0.0.0.0:53),
        // while 127.0.0.11:53 still reaches the embedded server.
        let _own_dns = web.udp_echo(53);

        // Names, aliases and short IDs of the same network, any case, with or without dot.
        assert_eq!(ask(&client, "web", TYPE_A), (0, vec![ew.ip]));
        assert_eq!(ask(&client, "WEB-ALIAS.", TYPE_A), (0, vec![ew.ip]));
        assert_eq!(ask(&client, "0123456789ab", TYPE_A), (0, vec![ew.ip]));
        assert_eq!(
            ask(&web, "web", TYPE_A),
            (0, vec![ew.ip]),
            "a container finds itself"
        );
        // Known name, no IPv6 address: NOERROR without records (no upstream detour).
        assert_eq!(ask(&client, "web", AAAA), (0, vec![]));
        // Over TCP too.
        assert_eq!(ask_tcp(&client, "web"), (0, vec![ew.ip]));
        // Everything else goes to the upstream resolver on the host's 127.0.0.1.
        assert_eq!(
            ask(&client, "upstream.test", TYPE_A),
            (0, vec![UPSTREAM_ANSWER])
        );
        assert_eq!(
            ask(&client, "missing.test", TYPE_A).0,
            message::RCODE_NXDOMAIN
        );
        assert_eq!(
            ask_tcp(&client, "upstream.test"),
            (0, vec![UPSTREAM_ANSWER])
        );
        // Another network does not see these names (its query goes upstream: NXDOMAIN).
        assert_eq!(ask(&stranger, "web", TYPE_A).0, message::RCODE_NXDOMAIN);
        // An internal network gets its own names but no forwarding.
        assert_eq!(ask(&hermit, "hermit", TYPE_A).1.len(), 1);
        assert_eq!(
            ask(&hermit, "upstream.test", TYPE_A).0,
            message::RCODE_SERVFAIL
        );

        // A real resolver client inside the namespace.
        let out = client.exec(&["busybox", "nslookup", "web", "127.0.0.11"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&ew.ip.to_string()), "nslookup said: {text}");

        // Gone after disconnect.
        driver.disconnect(&net, &ew).unwrap();
        assert_eq!(ask(&client, "web", TYPE_A).0, message::RCODE_NXDOMAIN);
        let dns = driver.dns().unwrap();
        assert!(!dns.containers().contains(&"web-id".to_string()));
        assert!(dns.containers().contains(&"client-id".to_string()));
    });
}

#[test]
fn a_restarted_daemon_serves_running_containers_again() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (upstream_addr, _udp, _tcp) = upstream();
        let dir = tempfile::tempdir().unwrap();
        let make = || {
            let mut config = DriverConfig::new(dir.path().join("ipam"));
            config.firewall.prefix = "BERTH-T15".into();
            config.dns_upstreams = vec![upstream_addr];
            BridgeDriver::new(config).unwrap()
        };
        let first = make();
        let net = first.create_network(&spec("dnsr", 23)).unwrap();
        let (web, client) = (Ns::new("c"), Ns::new("c"));
        let ew = first
            .connect(&net, &web.ns, &options("web-id", &["web"]))
            .unwrap();
        let ec = first
            .connect(&net, &client.ns, &options("client-id", &["client"]))
            .unwrap();
        assert_eq!(ask(&client, "web", TYPE_A), (0, vec![ew.ip]));
        drop(first); // the daemon goes away; its DNS sockets close

        let second = make();
        let net = second.restore_network(&net).unwrap();
        second.restore_endpoint(&net, &web.ns, &ew).unwrap();
        second.restore_endpoint(&net, &client.ns, &ec).unwrap();
        assert_eq!(ask(&client, "web", TYPE_A), (0, vec![ew.ip]));
        assert_eq!(ask(&web, "client", TYPE_A), (0, vec![ec.ip]));
        assert_eq!(
            ask(&web, "upstream.test", TYPE_A),
            (0, vec![UPSTREAM_ANSWER])
        );
    });
}
