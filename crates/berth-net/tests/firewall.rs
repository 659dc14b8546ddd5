//! Firewall rules: teardown restores the tables exactly, setup is idempotent, the user
//! chain is never flushed, reconciliation removes what a crash left, `iptables: false`
//! touches nothing.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;

use berth_net::firewall::FirewallConfig;
use berth_net::ports::{PortMapping, Protocol};
use berth_net::{BridgeDriver, DriverConfig, EndpointOptions};
use common::{driver, fetch, in_host, iptables_save, skip, spec, Ns};

fn options(container: &str) -> EndpointOptions {
    EndpointOptions {
        container: container.to_string(),
        ifname: "eth0".into(),
        default_route: true,
        ..EndpointOptions::default()
    }
}

fn port(container_port: u16, host_port: u16) -> PortMapping {
    PortMapping {
        protocol: Protocol::Tcp,
        container_port,
        host_ip: None,
        host_ports: Some((host_port, host_port)),
    }
}

fn iptables(args: &[&str]) {
    let status = Command::new("iptables").args(args).status().unwrap();
    assert!(status.success(), "iptables {args:?}");
}

/// Rules somebody else owns, which Berth must leave alone.
fn seed_foreign_rules() {
    iptables(&["-A", "FORWARD", "-i", "lo", "-j", "ACCEPT"]);
    iptables(&["-N", "OTHER"]);
    iptables(&["-A", "OTHER", "-s", "10.213.99.0/24", "-j", "DROP"]);
    iptables(&["-t", "nat", "-A", "POSTROUTING", "-o", "lo", "-j", "RETURN"]);
}

#[test]
fn teardown_leaves_iptables_save_identical() {
    if skip() {
        return;
    }
    in_host(|_host| {
        seed_foreign_rules();
        let before = iptables_save();
        let (driver, _dir) = driver("BERTH-T11");
        let mut a = spec("a", 50);
        a.icc = false;
        let mut b = spec("b", 51);
        b.internal = true;
        let a = driver.create_network(&a).unwrap();
        let b = driver.create_network(&b).unwrap();
        let c = Ns::new("c");
        let e = driver.connect(&a, &c.ns, &options("c")).unwrap();
        driver
            .connect(
                &b,
                &c.ns,
                &EndpointOptions {
                    ifname: "eth1".into(),
                    default_route: false,
                    ..options("c")
                },
            )
            .unwrap();
        let published = driver.publish_ports(&a, &e, &[port(80, 18300)]).unwrap();
        let during = iptables_save();
        assert!(during.contains(":BERTH-T11-ISOLATION-STAGE-1"));
        assert!(during.contains("-j DNAT --to-destination"));
        // Berth's jump comes first in FORWARD, before the foreign rule.
        let forward: Vec<&str> = during
            .lines()
            .filter(|l| l.starts_with("-A FORWARD "))
            .collect();
        assert_eq!(forward[0], "-A FORWARD -j BERTH-T11-FORWARD");

        driver.unpublish(published).unwrap();
        driver.delete_network(&a).unwrap_or_else(|e| panic!("{e}"));
        driver.teardown_firewall().unwrap();
        assert_eq!(iptables_save(), before);
        driver.teardown_firewall().unwrap(); // again: nothing to do, no error
        assert_eq!(iptables_save(), before);
    });
}

#[test]
fn setup_is_idempotent_and_the_user_chain_is_never_flushed() {
    if skip() {
        return;
    }
    in_host(|_host| {
        seed_foreign_rules();
        let before = iptables_save();
        let (driver, dir) = driver("BERTH-T12");
        let net = driver.create_network(&spec("idem", 52)).unwrap();
        let once = iptables_save();
        // Same network again (daemon restart), base setup again, a second driver on the
        // same chains: no change.
        let restored = driver.restore_network(&net).unwrap();
        assert_eq!(restored, net, "created_bridge and the pool are kept");
        driver.firewall().setup().unwrap();
        let mut config = DriverConfig::new(dir.path().join("ipam"));
        config.firewall.prefix = "BERTH-T12".into();
        BridgeDriver::new(config).unwrap();
        assert_eq!(iptables_save(), once);

        // A user's rule in the user chain survives setup, reconcile and teardown.
        iptables(&["-A", "BERTH-T12-USER", "-s", "10.213.98.0/24", "-j", "DROP"]);
        driver.firewall().setup().unwrap();
        driver.firewall().reconcile(&|_| false, &|_| false).unwrap();
        driver.teardown_firewall().unwrap();
        let after = iptables_save();
        assert!(
            after.contains("-A BERTH-T12-USER -s 10.213.98.0/24 -j DROP"),
            "{after}"
        );
        assert!(!after.contains("BERTH-T12-FORWARD"));
        // Only the user chain (and its rule) differ from the start.
        iptables(&["-F", "BERTH-T12-USER"]);
        iptables(&["-X", "BERTH-T12-USER"]);
        assert_eq!(iptables_save(), before);
    });
}

#[test]
fn reconcile_after_a_crash_keeps_live_rules_and_drops_stale_ones() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let dir = tempfile::tempdir().unwrap();
        let make = || {
            let mut config = DriverConfig::new(dir.path().join("ipam"));
            config.firewall.prefix = "BERTH-T13".into();
            BridgeDriver::new(config).unwrap()
        };
        let first = make();
        let live_net = first.create_network(&spec("live", 53)).unwrap();
        let dead_net = first.create_network(&spec("dead", 54)).unwrap();
        let (c1, c2, c3) = (Ns::new("c"), Ns::new("c"), Ns::new("c"));
        let _server = c1.tcp_server(80, "still here\n");
        let live = first.connect(&live_net, &c1.ns, &options("c1")).unwrap();
        let gone = first.connect(&live_net, &c2.ns, &options("c2")).unwrap();
        let dead = first.connect(&dead_net, &c3.ns, &options("c3")).unwrap();
        let p1 = first
            .publish_ports(&live_net, &live, &[port(80, 18400)])
            .unwrap();
        let p2 = first
            .publish_ports(&live_net, &gone, &[port(80, 18401)])
            .unwrap();
        let p3 = first
            .publish_ports(&dead_net, &dead, &[port(80, 18402)])
            .unwrap();
        let ports = p1.ports();
        // The daemon dies: nothing is cleaned up (its sockets close with it).
        drop((p1, p2, p3));
        drop(first);

        let second = make();
        let report = second
            .reconcile(std::slice::from_ref(&live_net), std::slice::from_ref(&live))
            .unwrap();
        assert_eq!(report.networks, [dead_net.firewall_id().to_string()]);
        let mut stale = report.endpoints.clone();
        stale.sort();
        let mut expected = vec![gone.host_ifname.clone(), dead.host_ifname.clone()];
        expected.sort();
        assert_eq!(stale, expected);
        let rules = iptables_save();
        assert!(rules.contains(&format!("ep:{}", live.host_ifname)));
        assert!(!rules.contains(&format!("ep:{}", gone.host_ifname)));
        assert!(!rules.contains(&format!("net:{}", dead_net.firewall_id())));
        assert!(
            second.ipam().pool(&dead_net.id).is_err(),
            "dead network's pool is gone"
        );
        let pool = second.ipam().pool(&live_net.id).unwrap();
        assert!(pool.allocated.contains_key(&live.ip));
        assert!(!pool.allocated.contains_key(&gone.ip));

        // The live container's port kept working; the daemon takes the host port back
        // without duplicating rules.
        let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 18400));
        assert_eq!(fetch(localhost).unwrap(), "still here\n");
        let before = iptables_save();
        let restored = second.restore_ports(&live_net, &live, &ports).unwrap();
        assert_eq!(iptables_save(), before);
        assert!(
            std::net::TcpListener::bind(("0.0.0.0", 18400)).is_err(),
            "reserved again"
        );
        second.unpublish(restored).unwrap();
        assert!(!iptables_save().contains(&format!("ep:{}", live.host_ifname)));
    });
}

#[test]
fn iptables_false_touches_no_rule() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let before = iptables_save();
        let dir = tempfile::tempdir().unwrap();
        let mut config = DriverConfig::new(dir.path().join("ipam"));
        config.firewall = FirewallConfig {
            enabled: false,
            ..FirewallConfig::default()
        };
        let driver = BridgeDriver::new(config).unwrap();
        let net = driver.create_network(&spec("noipt", 55)).unwrap();
        let c = Ns::new("c");
        let e = driver.connect(&net, &c.ns, &options("c")).unwrap();
        let published = driver.publish_ports(&net, &e, &[port(80, 18500)]).unwrap();
        assert!(c.ping(net.gateway), "the bridge itself works");
        assert_eq!(iptables_save(), before);
        driver.unpublish(published).unwrap();
        driver.teardown_firewall().unwrap();
        assert_eq!(iptables_save(), before);
    });
}
