//! Containers on one bridge reach each other; containers on two bridges do not.

mod common;

use berth_net::netlink::Netlink;
use berth_net::{EndpointOptions, MacAddr};
use common::{driver, in_host, skip, spec, Ns};

fn options(container: &str, ifname: &str) -> EndpointOptions {
    EndpointOptions {
        container: container.to_string(),
        ifname: ifname.to_string(),
        default_route: true,
        ..EndpointOptions::default()
    }
}

#[test]
fn two_namespaces_on_one_bridge_ping_each_other() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T1");
        let net = driver.create_network(&spec("ping", 1)).unwrap();
        assert_eq!(net.gateway.to_string(), "10.213.1.1");
        let (c1, c2) = (Ns::new("c"), Ns::new("c"));
        let e1 = driver
            .connect(&net, &c1.ns, &options("c1", "eth0"))
            .unwrap();
        let e2 = driver
            .connect(&net, &c2.ns, &options("c2", "eth0"))
            .unwrap();
        assert_eq!(e1.ip.to_string(), "10.213.1.2");
        assert_eq!(e2.ip.to_string(), "10.213.1.3");
        assert_eq!(e1.mac, MacAddr::from_ipv4(e1.ip));

        assert!(c1.ping(e2.ip), "c1 → c2");
        assert!(c2.ping(e1.ip), "c2 → c1");
        assert!(c1.ping(net.gateway), "c1 → gateway");

        // Inside: lo and eth0 up, eth0 has the address, MAC and the default route.
        let mut inside = Netlink::open_in(&c1.ns).unwrap();
        let eth0 = inside.link_by_name("eth0").unwrap().expect("eth0 inside");
        assert!(eth0.up);
        assert_eq!(eth0.mac, Some(e1.mac));
        assert!(inside.link_by_name("lo").unwrap().unwrap().up);
        let addrs = inside.addresses(Some(eth0.index)).unwrap();
        assert_eq!(addrs[0].addr, e1.ip);
        assert_eq!(addrs[0].prefix, 24);
        let routes = inside.routes().unwrap();
        assert!(routes
            .iter()
            .any(|r| r.destination.prefix() == 0 && r.gateway == Some(net.gateway)));

        // Host side: attached to the bridge, up.
        let mut host = Netlink::open().unwrap();
        let bridge = host.link_by_name(&net.bridge).unwrap().unwrap();
        let veth = host.link_by_name(&e1.host_ifname).unwrap().unwrap();
        assert_eq!(veth.master, Some(bridge.index));
        assert!(veth.up);

        // Disconnect removes both sides and frees the address.
        driver.disconnect(&net, &e2).unwrap();
        assert!(host.link_by_name(&e2.host_ifname).unwrap().is_none());
        assert!(Netlink::open_in(&c2.ns)
            .unwrap()
            .link_by_name("eth0")
            .unwrap()
            .is_none());
        assert!(!driver
            .ipam()
            .pool(&net.id)
            .unwrap()
            .allocated
            .contains_key(&e2.ip));
        assert!(!c1.ping(e2.ip));
        driver.disconnect(&net, &e2).unwrap(); // idempotent

        driver.disconnect(&net, &e1).unwrap();
        driver.delete_network(&net).unwrap();
        assert!(host.link_by_name(&net.bridge).unwrap().is_none());
    });
}

#[test]
fn a_second_network_becomes_eth1_and_requested_ip_and_mac_are_used() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T2");
        let a = driver.create_network(&spec("a", 2)).unwrap();
        let b = driver.create_network(&spec("b", 3)).unwrap();
        let c = Ns::new("c");
        let ea = driver.connect(&a, &c.ns, &options("c", "eth0")).unwrap();
        let mac: MacAddr = "02:42:0a:d5:03:63".parse().unwrap();
        let eb = driver
            .connect(
                &b,
                &c.ns,
                &EndpointOptions {
                    ip: Some("10.213.3.99".parse().unwrap()),
                    mac: Some(mac),
                    default_route: false,
                    ..options("c", "eth1")
                },
            )
            .unwrap();
        assert_eq!(eb.ip.to_string(), "10.213.3.99");
        let mut inside = Netlink::open_in(&c.ns).unwrap();
        assert_eq!(inside.link_by_name("eth1").unwrap().unwrap().mac, Some(mac));
        assert!(c.ping(a.gateway));
        assert!(c.ping(b.gateway));
        // The same --ip again is refused, and the failed connect leaves nothing behind.
        let other = Ns::new("c");
        let before = Netlink::open().unwrap().links().unwrap().len();
        let err = driver
            .connect(
                &b,
                &other.ns,
                &EndpointOptions {
                    ip: Some(eb.ip),
                    ..options("other", "eth0")
                },
            )
            .unwrap_err();
        assert!(err.to_string().contains("Address already in use"), "{err}");
        assert_eq!(Netlink::open().unwrap().links().unwrap().len(), before);
        driver.disconnect(&a, &ea).unwrap();
        driver.disconnect(&b, &eb).unwrap();
    });
}

#[test]
fn networks_are_isolated_by_the_firewall() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T3");
        let a = driver.create_network(&spec("a", 4)).unwrap();
        let b = driver.create_network(&spec("b", 5)).unwrap();
        let (ca, cb) = (Ns::new("c"), Ns::new("c"));
        let ea = driver.connect(&a, &ca.ns, &options("ca", "eth0")).unwrap();
        let eb = driver.connect(&b, &cb.ns, &options("cb", "eth0")).unwrap();
        // ip_forward is on (the driver set it in this namespace) and routes exist, so only
        // the isolation rules stand between the two.
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .unwrap()
                .trim(),
            "1"
        );
        assert!(!ca.ping(eb.ip), "a → b must be dropped");
        assert!(!cb.ping(ea.ip), "b → a must be dropped");
        assert!(ca.ping(a.gateway));
        // Without Berth's rules the same packets pass: the isolation is the firewall's doing.
        driver.teardown_firewall().unwrap();
        assert!(ca.ping(eb.ip), "a → b routes once the rules are gone");
    });
}

#[test]
fn internal_networks_cannot_leave_their_bridge() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T4");
        let mut internal = spec("int", 6);
        internal.internal = true;
        let int = driver.create_network(&internal).unwrap();
        let ext = driver.create_network(&spec("ext", 7)).unwrap();
        let (c1, c2, c3) = (Ns::new("c"), Ns::new("c"), Ns::new("c"));
        let e1 = driver
            .connect(&int, &c1.ns, &options("c1", "eth0"))
            .unwrap();
        let e2 = driver
            .connect(&int, &c2.ns, &options("c2", "eth0"))
            .unwrap();
        let e3 = driver
            .connect(&ext, &c3.ns, &options("c3", "eth0"))
            .unwrap();
        assert!(c1.ping(e2.ip), "inside the internal network");
        assert!(!c1.ping(e3.ip), "internal → other network");
        assert!(!c3.ping(e1.ip), "other network → internal");
    });
}

#[test]
fn icc_false_stops_traffic_between_containers_of_one_bridge() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T14");
        let mut no_icc = spec("noicc", 8);
        no_icc.icc = false;
        let net = driver.create_network(&no_icc).unwrap();
        let (c1, c2) = (Ns::new("c"), Ns::new("c"));
        driver
            .connect(&net, &c1.ns, &options("c1", "eth0"))
            .unwrap();
        let e2 = driver
            .connect(&net, &c2.ns, &options("c2", "eth0"))
            .unwrap();
        assert!(c1.ping(net.gateway), "the host is still reachable");
        assert!(!c1.ping(e2.ip), "container to container is dropped");
    });
}

#[test]
fn parallel_connects_get_distinct_addresses_and_all_work() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T16");
        let net = driver.create_network(&spec("par", 9)).unwrap();
        let namespaces: Vec<Ns> = (0..12).map(|_| Ns::new("c")).collect();
        let endpoints: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = namespaces
                .iter()
                .enumerate()
                .map(|(i, ns)| {
                    let (driver, net) = (&driver, &net);
                    scope.spawn(move || {
                        driver
                            .connect(net, &ns.ns, &options(&format!("p{i}"), "eth0"))
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut ips: Vec<_> = endpoints.iter().map(|e| e.ip).collect();
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), 12);
        assert!(namespaces[0].ping(endpoints[11].ip));
        assert!(namespaces[11].ping(endpoints[0].ip));
    });
}
