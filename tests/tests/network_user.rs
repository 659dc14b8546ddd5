//! User-defined networks end to end: containers reach each other by name, alias and
//! short ID through the embedded DNS, networks are isolated from each other and from
//! the default bridge, connect/disconnect of running containers changes reachability,
//! a network in use cannot be removed. Traffic stays between the test's containers.

mod network_common;

use network_common::NetDaemon;

fn sleeper<'a>(name: &'a str, network: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--name", name, "--network", network];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sleep", "300"]);
    args
}

#[test]
fn containers_on_a_user_network_ping_each_other_by_name_alias_and_short_id() {
    let d = NetDaemon::start();
    let net = network_common::unique("front");
    d.create_network(&net, &[]);
    let a = network_common::unique("a");
    let b = network_common::unique("b");
    let a_id = d.run_d(&sleeper(&a, &net, &["--network-alias", "web"]));
    d.run_d(&sleeper(&b, &net, &[]));

    assert!(
        d.pings(&b, &a),
        "{b} cannot ping {a} by name\n{}",
        d.log_tail()
    );
    assert!(d.pings(&b, "web"), "{b} cannot ping the alias web");
    assert!(d.pings(&b, &a_id[..12]), "{b} cannot ping {a} by short ID");
    assert!(d.pings(&a, &b), "{a} cannot ping {b}");
    // resolv.conf points at the embedded server.
    let resolv = d.exec(&b, &["cat", "/etc/resolv.conf"]);
    assert!(
        resolv.stdout.contains("nameserver 127.0.0.11"),
        "{resolv:?}"
    );
    d.ok(&["rm", "-f", &a, &b]);
    d.ok(&["network", "rm", &net]);
    d.finish();
}

#[test]
fn separate_networks_and_the_default_bridge_are_isolated() {
    let d = NetDaemon::start();
    let one = network_common::unique("one");
    let two = network_common::unique("two");
    d.create_network(&one, &[]);
    d.create_network(&two, &[]);
    let a = network_common::unique("a");
    let b = network_common::unique("b");
    let c = network_common::unique("c");
    let e = network_common::unique("e");
    d.run_d(&sleeper(&a, &one, &[]));
    d.run_d(&sleeper(&b, &two, &[]));
    d.run_d(&["--name", &c, "busybox", "sleep", "300"]);
    d.run_d(&sleeper(&e, &one, &[]));
    let a_ip = d.ip_of(&a, &one);
    let c_ip = d.ip_of(&c, "bridge");
    assert!(d.pings(&e, &a_ip), "same network by address must work");
    // By address, since a name unknown on the network would be forwarded upstream.
    assert!(!d.pings(&b, &a_ip), "{two} reaches {one}");
    assert!(!d.pings(&a, &c_ip), "{one} reaches the default bridge");
    assert!(!d.pings(&c, &a_ip), "the default bridge reaches {one}");
    d.ok(&["rm", "-f", &a, &b, &c, &e]);
    d.ok(&["network", "rm", &one, &two]);
    d.finish();
}

#[test]
fn connect_and_disconnect_of_a_running_container_change_reachability() {
    let d = NetDaemon::start();
    let one = network_common::unique("one");
    let two = network_common::unique("two");
    let one_subnet = d.create_network(&one, &[]);
    d.create_network(&two, &[]);
    let a = network_common::unique("a");
    let b = network_common::unique("b");
    d.run_d(&sleeper(&a, &one, &[]));
    d.run_d(&sleeper(&b, &two, &[]));
    let a_ip = d.ip_of(&a, &one);
    assert!(!d.pings(&b, &a_ip), "{b} reaches {a} before connect");

    let fixed = format!("{one_subnet}.77");
    d.ok(&["network", "connect", "--alias", "db", &two, &a]);
    d.ok(&["network", "connect", "--ip", &fixed, &one, &b]);
    d.record_veths(&a);
    d.record_veths(&b);
    assert_eq!(d.ip_of(&b, &one), fixed);
    assert!(
        d.pings(&b, &a),
        "{b} cannot ping {a} by name after connect\n{}",
        d.log_tail()
    );
    assert!(d.pings(&b, "db"), "the connect alias does not resolve");
    let links = d.exec(&b, &["ip", "-o", "-4", "addr"]).stdout;
    assert!(
        links.contains("eth1"),
        "no second interface in {b}: {links}"
    );
    let inspect = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}} {{end}}",
        &one,
    ]);
    assert!(inspect.contains(&a) && inspect.contains(&b), "{inspect}");

    d.ok(&["network", "disconnect", &one, &b]);
    assert!(
        !d.pings(&b, &a_ip),
        "{b} still reaches {a} after disconnect"
    );
    let links = d.exec(&b, &["ip", "-o", "link"]).stdout;
    assert!(!links.contains("eth1"), "eth1 still in {b}: {links}");
    let out = d.fails(&["network", "disconnect", &one, &b], 1);
    assert!(out.stderr.contains("is not connected"), "{out:?}");

    // In use: refused, with docker's wording; free again once the containers are gone.
    let out = d.fails(&["network", "rm", &one], 1);
    assert!(
        out.stderr.starts_with("Error response from daemon: ")
            && out.stderr.contains("has active endpoints"),
        "{out:?}"
    );
    d.ok(&["rm", "-f", &a, &b]);
    // -f: a container that is gone is no error.
    d.ok(&["network", "disconnect", "-f", &one, &a]);
    assert_eq!(
        d.ok(&["network", "rm", &one, &two]),
        format!("{one}\n{two}\n")
    );
    d.finish();
}

#[test]
fn embedded_dns_on_an_internal_network_answers_names_and_fails_unknown_ones_fast() {
    // --internal: unknown names are not forwarded, so no query leaves the host.
    let d = NetDaemon::start();
    let net = network_common::unique("inner");
    d.create_network(&net, &["--internal"]);
    let a = network_common::unique("a");
    let b = network_common::unique("b");
    let a_id = d.run_d(&sleeper(&a, &net, &["--network-alias", "cache"]));
    d.run_d(&sleeper(&b, &net, &[]));
    let a_ip = d.ip_of(&a, &net);
    for name in [a.as_str(), "cache", &a_id[..12]] {
        let out = d.exec(&b, &["nslookup", name, "127.0.0.11"]);
        assert!(
            out.code == 0 && out.stdout.contains(&a_ip),
            "nslookup {name}: {out:?}"
        );
    }
    assert!(d.pings(&b, "cache"));
    let started = std::time::Instant::now();
    let out = d.exec(&b, &["nslookup", "no-such-name-berth-test", "127.0.0.11"]);
    assert_ne!(out.code, 0, "an unknown name resolved: {out:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "an unknown name took {:?}",
        started.elapsed()
    );
    d.ok(&["rm", "-f", &a, &b]);
    d.ok(&["network", "rm", &net]);
    d.finish();
}

#[test]
fn stopped_container_connected_to_a_network_joins_it_at_start() {
    let d = NetDaemon::start();
    let net = network_common::unique("late");
    d.create_network(&net, &[]);
    let a = network_common::unique("a");
    let b = network_common::unique("b");
    d.run_d(&sleeper(&a, &net, &[]));
    d.ok(&["create", "--name", &b, "busybox", "sleep", "300"]);
    d.ok(&["network", "connect", "--alias", "late", &net, &b]);
    d.ok(&["start", &b]);
    d.record_veths(&b);
    assert!(
        d.pings(&a, "late"),
        "{b} did not join {net} at start\n{}",
        d.log_tail()
    );
    // Connected to a user network, the default-bridge container uses the embedded DNS
    // server too (as with docker); checked first so that no query goes upstream.
    let resolv = d.exec(&b, &["cat", "/etc/resolv.conf"]);
    assert!(
        resolv.stdout.contains("nameserver 127.0.0.11"),
        "{resolv:?}"
    );
    assert!(d.pings(&b, &a), "{b} cannot ping {a} by name");
    d.ok(&["rm", "-f", &a, &b]);
    d.ok(&["network", "rm", &net]);
    d.finish();
}
