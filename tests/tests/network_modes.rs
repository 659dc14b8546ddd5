//! `--network none`, `host` and `container:NAME`, and `run --network NAME
//! --network-alias A --ip X` as docker sends it.

mod network_common;

use network_common::NetDaemon;

#[test]
fn none_has_only_loopback() {
    let d = NetDaemon::start();
    let name = network_common::unique("none");
    d.run_d(&[
        "--name",
        &name,
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    let links = d.exec(&name, &["ip", "-o", "link"]).stdout;
    let names: Vec<&str> = links
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(str::trim)
        .collect();
    assert_eq!(names, ["lo"], "{links}");
    d.ok(&["rm", "-f", &name]);
    d.finish();
}

#[test]
fn host_sees_the_hosts_interfaces() {
    let d = NetDaemon::start();
    let name = network_common::unique("host");
    d.run_d(&[
        "--name",
        &name,
        "--network",
        "host",
        "busybox",
        "sleep",
        "300",
    ]);
    let links = d.exec(&name, &["ip", "-o", "link"]).stdout;
    assert!(links.contains(&format!(": {}:", d.bridge)), "{links}");
    let mode = d.ok(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &name]);
    assert_eq!(mode.trim(), "host");
    d.ok(&["rm", "-f", &name]);
    d.finish();
}

#[test]
fn container_mode_shares_the_other_containers_namespace() {
    let d = NetDaemon::start();
    let first = network_common::unique("first");
    let second = network_common::unique("second");
    d.run_d(&["--name", &first, "busybox", "sleep", "300"]);
    let mode = format!("container:{first}");
    d.run_d(&[
        "--name",
        &second,
        "--network",
        &mode,
        "busybox",
        "sleep",
        "300",
    ]);
    let ns = |c: &str| d.exec(c, &["readlink", "/proc/self/ns/net"]).stdout;
    assert_eq!(ns(&first), ns(&second));
    assert!(!ns(&first).trim().is_empty());
    let ip = d.ip_of(&first, "bridge");
    let addrs = d.exec(&second, &["ip", "-o", "-4", "addr"]).stdout;
    assert!(addrs.contains(&ip), "{ip} not in {addrs}");
    d.ok(&["rm", "-f", &second, &first]);
    d.finish();
}

#[test]
fn run_with_network_alias_and_ip_sends_docker_endpoint_config() {
    let d = NetDaemon::start();
    let net = network_common::unique("fixed");
    let subnet = d.create_network(&net, &[]);
    let name = network_common::unique("c");
    let peer = network_common::unique("p");
    let ip = format!("{subnet}.50");
    d.run_d(&[
        "--name",
        &name,
        "--network",
        &net,
        "--network-alias",
        "alias1",
        "--ip",
        &ip,
        "busybox",
        "sleep",
        "300",
    ]);
    let inspect = network_common::json(&d.ok(&["inspect", &name]));
    let c = &inspect[0];
    assert_eq!(c["HostConfig"]["NetworkMode"], net.as_str());
    let endpoint = &c["NetworkSettings"]["Networks"][net.as_str()];
    assert_eq!(endpoint["IPAddress"], ip.as_str(), "{endpoint}");
    assert!(
        endpoint["Aliases"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "alias1")),
        "{endpoint}"
    );
    let addrs = d
        .exec(&name, &["ip", "-o", "-4", "addr", "show", "eth0"])
        .stdout;
    assert!(addrs.contains(&format!("{ip}/24")), "{addrs}");
    d.run_d(&[
        "--name",
        &peer,
        "--network",
        &net,
        "busybox",
        "sleep",
        "300",
    ]);
    assert!(d.pings(&peer, "alias1"));
    // An address outside the network: refused at start.
    let out = d.berth(&[
        "run",
        "-d",
        "--network",
        &net,
        "--ip",
        "192.0.2.200",
        "busybox",
        "true",
    ]);
    assert_eq!(out.code, 125, "{out:?}");
    d.ok(&["rm", "-f", &name, &peer]);
    d.ok(&["container", "prune", "-f"]);
    d.ok(&["network", "rm", &net]);
    d.finish();
}
