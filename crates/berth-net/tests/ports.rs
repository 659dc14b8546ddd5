//! Published ports: reachable on the host's 127.0.0.1 and through a host address from
//! another container (hairpin), TCP and UDP, ephemeral choice, conflicts, removal.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use berth_net::ports::{PortMapping, Protocol};
use berth_net::EndpointOptions;
use common::{driver, fetch, in_host, iptables_save, skip, spec, Ns};

fn options(container: &str) -> EndpointOptions {
    EndpointOptions {
        container: container.to_string(),
        ifname: "eth0".to_string(),
        default_route: true,
        ..EndpointOptions::default()
    }
}

fn tcp(container_port: u16, host_ports: Option<(u16, u16)>) -> PortMapping {
    PortMapping {
        protocol: Protocol::Tcp,
        container_port,
        host_ip: None,
        host_ports,
    }
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

#[test]
fn published_tcp_port_answers_on_localhost_and_through_the_host_address() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T5");
        let net = driver.create_network(&spec("pub", 10)).unwrap();
        let (web, client) = (Ns::new("c"), Ns::new("c"));
        let ew = driver.connect(&net, &web.ns, &options("web")).unwrap();
        driver
            .connect(&net, &client.ns, &options("client"))
            .unwrap();
        let _server = web.tcp_server(80, "hello from the container\n");

        let published = driver
            .publish_ports(&net, &ew, &[tcp(80, Some((18080, 18080)))])
            .unwrap();
        let ports = published.ports();
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].host_port, 18080);
        assert_eq!(ports[0].host_ip, Ipv4Addr::UNSPECIFIED);

        // From the host's own 127.0.0.1 (OUTPUT DNAT + route_localnet + MASQUERADE).
        assert_eq!(
            fetch(localhost(18080)).unwrap(),
            "hello from the container\n"
        );
        // From another container through a host address (hairpin).
        let via_host = SocketAddr::from((net.gateway, 18080));
        assert_eq!(
            client.tcp_fetch(via_host).unwrap(),
            "hello from the container\n"
        );
        // From the container to itself through the host address.
        assert_eq!(
            web.tcp_fetch(via_host).unwrap(),
            "hello from the container\n"
        );
        // The port is held on the host: nobody else can take it.
        assert!(TcpListener::bind(("0.0.0.0", 18080)).is_err());

        driver.unpublish(published).unwrap();
        assert!(fetch(localhost(18080)).is_err(), "no rule after unpublish");
        TcpListener::bind(("0.0.0.0", 18080)).expect("port free after unpublish");
    });
}

#[test]
fn host_ip_binding_and_udp() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T6");
        let net = driver.create_network(&spec("udp", 11)).unwrap();
        let c = Ns::new("c");
        let e = driver.connect(&net, &c.ns, &options("c")).unwrap();
        let _echo = c.udp_echo(5353);
        let _server = c.tcp_server(80, "only on loopback\n");
        let published = driver
            .publish_ports(
                &net,
                &e,
                &[
                    PortMapping {
                        protocol: Protocol::Udp,
                        container_port: 5353,
                        host_ip: Some(Ipv4Addr::LOCALHOST),
                        host_ports: Some((15353, 15353)),
                    },
                    PortMapping {
                        host_ip: Some(Ipv4Addr::LOCALHOST),
                        ..tcp(80, Some((18081, 18081)))
                    },
                ],
            )
            .unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        socket.send_to(b"ping", "127.0.0.1:15353").unwrap();
        let mut buf = [0u8; 16];
        let (len, _) = socket.recv_from(&mut buf).expect("udp echo through DNAT");
        assert_eq!(&buf[..len], b"ping");
        assert_eq!(fetch(localhost(18081)).unwrap(), "only on loopback\n");
        // Bound to 127.0.0.1 only: the gateway address does not forward the port.
        assert!(fetch(SocketAddr::from((net.gateway, 18081))).is_err());
        driver.unpublish(published).unwrap();
    });
}

#[test]
fn ephemeral_and_range_ports() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T7");
        let net = driver.create_network(&spec("eph", 12)).unwrap();
        let c = Ns::new("c");
        let e = driver.connect(&net, &c.ns, &options("c")).unwrap();
        let _server = c.tcp_server(8000, "ephemeral\n");
        // A busy port at the start of the range is skipped.
        let _busy = TcpListener::bind(("0.0.0.0", 18100)).unwrap();
        let published = driver
            .publish_ports(
                &net,
                &e,
                &[tcp(8000, None), tcp(8000, Some((18100, 18102)))],
            )
            .unwrap();
        let ports = published.ports();
        assert!((32768..=60999).contains(&ports[0].host_port), "{ports:?}");
        assert_eq!(ports[1].host_port, 18101);
        assert_eq!(fetch(localhost(ports[0].host_port)).unwrap(), "ephemeral\n");
        assert_eq!(fetch(localhost(18101)).unwrap(), "ephemeral\n");
        driver.unpublish(published).unwrap();
    });
}

#[test]
fn port_in_use_is_a_clear_error_and_leaves_nothing() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T8");
        let net = driver.create_network(&spec("busy", 13)).unwrap();
        let c = Ns::new("c");
        let e = driver.connect(&net, &c.ns, &options("c")).unwrap();
        let _taken = TcpListener::bind(("127.0.0.1", 18200)).unwrap();
        let before = iptables_save();
        let err = driver
            .publish_ports(
                &net,
                &e,
                &[tcp(81, Some((18201, 18201))), tcp(80, Some((18200, 18200)))],
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("0.0.0.0:18200") && text.contains("already allocated"),
            "{text}"
        );
        assert_eq!(iptables_save(), before, "no rule was written");
        TcpListener::bind(("0.0.0.0", 18201)).expect("the first port was freed again");
    });
}

#[test]
fn parallel_publishes_get_distinct_ports() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T9");
        let net = driver.create_network(&spec("par", 14)).unwrap();
        let c = Ns::new("c");
        let e = driver.connect(&net, &c.ns, &options("c")).unwrap();
        let all: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| scope.spawn(|| driver.publish_ports(&net, &e, &[tcp(80, None)]).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut ports: Vec<u16> = all.iter().map(|p| p.ports()[0].host_port).collect();
        ports.sort();
        ports.dedup();
        assert_eq!(ports.len(), 16);
        for published in all {
            driver.unpublish(published).unwrap();
        }
    });
}
