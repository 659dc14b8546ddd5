//! Legacy links and DNS upstreams end to end: `--link name:alias` on the default bridge
//! (hosts entries, docker's environment, `HostConfig.Links`, errors) and on a user
//! network (an alias only the linking container resolves); `--dns` of the daemon and of
//! a container as the embedded server's upstreams (a resolver of the test on loopback
//! answers; the host's nameserver is never used); `network connect` of a running
//! default-bridge container switching its resolv.conf to the embedded server; `network
//! prune --filter until=`.

mod network_common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use network_common::{unique, NetDaemon, TestResolver};

const ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 77);
const OWN_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 88);
const NAME: &str = "upstream.berth-test";

/// A daemon whose upstream DNS is a resolver of the test (so no lookup ever leaves the
/// host), given with `--dns` or in daemon.json.
fn daemon(resolver: &TestResolver, in_file: bool) -> NetDaemon {
    let ip = resolver.ip.to_string();
    if in_file {
        NetDaemon::start_with(&format!("{{\"dns\": [\"{ip}\"]}}"), &[])
    } else {
        NetDaemon::start_with("{}", &["--dns", &ip])
    }
}

fn sleeper(d: &NetDaemon, name: &str, flags: &[&str]) -> String {
    let mut args = vec!["--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sleep", "300"]);
    d.run_d(&args)
}

#[test]
fn links_on_the_default_bridge() {
    let resolver = TestResolver::start(NAME, ANSWER);
    let d = daemon(&resolver, false);
    let db = unique("db");
    sleeper(
        &d,
        &db,
        &[
            "-e",
            "PASSWORD=secret",
            "-e",
            "PATH=/bin",
            "--expose",
            "6379",
        ],
    );
    let db_ip = d.ip_of(&db, "bridge");
    let web = unique("web");
    let out = d.ok(&[
        "run",
        "--name",
        &web,
        "--link",
        &format!("{db}:store"),
        "busybox",
        "sh",
        "-c",
        "env; cat /etc/hosts; ping -c1 -W2 store >/dev/null && echo ping-alias-ok; true",
    ]);
    for wanted in [
        format!("STORE_PORT=tcp://{db_ip}:6379"),
        format!("STORE_PORT_6379_TCP=tcp://{db_ip}:6379"),
        format!("STORE_PORT_6379_TCP_ADDR={db_ip}"),
        "STORE_PORT_6379_TCP_PORT=6379".to_string(),
        "STORE_PORT_6379_TCP_PROTO=tcp".to_string(),
        format!("STORE_NAME=/{web}/store"),
        "STORE_ENV_PASSWORD=secret".to_string(),
        "ping-alias-ok".to_string(),
    ] {
        assert!(
            out.lines().any(|l| l == wanted),
            "{wanted} missing from:\n{out}"
        );
    }
    assert!(!out.contains("STORE_ENV_PATH"), "{out}");
    let hosts_line = out
        .lines()
        .find(|l| l.starts_with(&format!("{db_ip}\t")))
        .unwrap_or_else(|| panic!("no hosts line for {db_ip}:\n{out}"));
    let names: Vec<&str> = hosts_line.split_whitespace().skip(1).collect();
    assert_eq!(names[0], "store", "{hosts_line}");
    assert!(names.contains(&db.as_str()), "{hosts_line}");
    let links = d.ok(&["inspect", "-f", "{{json .HostConfig.Links}}", &web]);
    assert_eq!(links.trim(), format!("[\"/{db}:/{web}/store\"]"));

    // The name itself resolves too (a link without an alias).
    let out = d.ok(&[
        "run", "--rm", "--link", &db, "busybox", "ping", "-c1", "-W2", &db,
    ]);
    assert!(out.contains("1 packets received"), "{out}");

    // A missing container, a stopped one, host networking: docker's errors.
    let out = d.fails(
        &["run", "--rm", "--link", "nosuch:x", "busybox", "true"],
        125,
    );
    assert!(
        out.stderr
            .contains("could not get container for nosuch: No such container: nosuch"),
        "{out:?}"
    );
    let stopped = unique("stopped");
    d.ok(&["create", "--name", &stopped, "busybox", "true"]);
    let linker = unique("linker");
    let out = d.fails(
        &[
            "run",
            "--name",
            &linker,
            "--link",
            &format!("{stopped}:s"),
            "busybox",
            "true",
        ],
        125,
    );
    assert!(
        out.stderr.contains(&format!(
            "Cannot link to a non running container: /{stopped} AS /{linker}/s"
        )),
        "{out:?}"
    );
    let out = d.fails(
        &[
            "run",
            "--rm",
            "--network",
            "host",
            "--link",
            &db,
            "busybox",
            "true",
        ],
        125,
    );
    assert!(
        out.stderr
            .contains("host type networking can't be used with links"),
        "{out:?}"
    );
    // A linked container that restarts elsewhere: its parents' hosts follow.
    let parent = unique("parent");
    sleeper(&d, &parent, &["--link", &format!("{db}:store")]);
    d.ok(&["restart", "-t", "1", &db]);
    d.record_veths(&db);
    let new_ip = d.ip_of(&db, "bridge");
    assert_ne!(new_ip, db_ip, "the restarted container kept its address");
    let hosts = d.exec(&parent, &["cat", "/etc/hosts"]).stdout;
    assert!(
        hosts
            .lines()
            .any(|l| l.starts_with(&format!("{new_ip}\tstore "))),
        "{hosts}"
    );
    assert!(d.pings(&parent, "store"), "{hosts}");
    assert!(resolver.asked().is_empty(), "{:?}", resolver.asked());
    d.ok(&["rm", "-f", &db, &web, &stopped, &linker, &parent]);
    d.finish();
}

#[test]
fn links_on_a_user_network_are_private_aliases() {
    let resolver = TestResolver::start(NAME, ANSWER);
    let d = daemon(&resolver, true);
    let net = unique("lnet");
    d.create_network(&net, &[]);
    let db = unique("db");
    sleeper(&d, &db, &["--network", &net]);
    let app = unique("app");
    sleeper(
        &d,
        &app,
        &["--network", &net, "--link", &format!("{db}:database")],
    );
    let other = unique("other");
    sleeper(&d, &other, &["--network", &net]);
    assert!(d.pings(&app, "database"), "{}", d.log_tail());
    assert!(d.pings(&app, &db));
    // Only the linking container knows the alias; the others' query goes upstream
    // (the test's resolver, which says NXDOMAIN).
    assert!(!d.pings(&other, "database"));
    assert!(
        resolver.asked().iter().any(|n| n == "database"),
        "{:?}",
        resolver.asked()
    );
    d.ok(&["rm", "-f", &db, &app, &other]);
    d.ok(&["network", "rm", &net]);
    d.finish();
}

#[test]
fn dns_upstreams_of_the_daemon_and_of_a_container() {
    let daemon_resolver = TestResolver::start(NAME, ANSWER);
    let own_resolver = TestResolver::start(NAME, OWN_ANSWER);
    for in_file in [false, true] {
        let d = daemon(&daemon_resolver, in_file);
        let net = unique("dnet");
        d.create_network(&net, &[]);
        let a = unique("a");
        sleeper(&d, &a, &["--network", &net]);
        let b = unique("b");
        let own = own_resolver.ip.to_string();
        sleeper(&d, &b, &["--network", &net, "--dns", &own]);

        let out = d.exec(&a, &["nslookup", NAME]);
        assert!(
            out.stdout.contains(&ANSWER.to_string()),
            "daemon upstream: {out:?}\n{}",
            d.log_tail()
        );
        let out = d.exec(&b, &["nslookup", NAME]);
        assert!(
            out.stdout.contains(&OWN_ANSWER.to_string()),
            "container upstream: {out:?}"
        );
        // Both still ask the embedded server.
        for c in [&a, &b] {
            let resolv = d.exec(c, &["cat", "/etc/resolv.conf"]).stdout;
            assert!(resolv.contains("nameserver 127.0.0.11"), "{resolv}");
            assert!(!resolv.contains("127.77."), "{resolv}");
        }
        // Names of the network still resolve locally, unknown ones fail.
        assert!(d.exec(&a, &["nslookup", &b]).code == 0);
        assert_ne!(d.exec(&a, &["nslookup", "nosuch.berth-test"]).code, 0);

        // On the default bridge the daemon's servers go into resolv.conf.
        let c = unique("c");
        sleeper(&d, &c, &[]);
        let resolv = d.exec(&c, &["cat", "/etc/resolv.conf"]).stdout;
        assert!(
            resolv.contains(&format!("nameserver {}", daemon_resolver.ip)),
            "{resolv}"
        );
        d.ok(&["rm", "-f", &a, &b, &c]);
        d.ok(&["network", "rm", &net]);
        d.finish();
    }
}

#[test]
fn connect_switches_resolv_conf_to_the_embedded_server() {
    let resolver = TestResolver::start(NAME, ANSWER);
    let d = daemon(&resolver, false);
    let net = unique("cnet");
    d.create_network(&net, &[]);
    let peer = unique("peer");
    sleeper(&d, &peer, &["--network", &net]);
    let c = unique("c");
    sleeper(&d, &c, &[]);
    let before = d.exec(&c, &["cat", "/etc/resolv.conf"]).stdout;
    assert!(!before.contains("127.0.0.11"), "{before}");
    d.ok(&["network", "connect", &net, &c]);
    d.record_veths(&c);
    let after = d.exec(&c, &["cat", "/etc/resolv.conf"]).stdout;
    assert!(after.contains("nameserver 127.0.0.11"), "{after}");
    assert!(d.pings(&c, &peer), "{}", d.log_tail());
    let out = d.exec(&c, &["nslookup", NAME]);
    assert!(out.stdout.contains(&ANSWER.to_string()), "{out:?}");
    // The network stays across a restart of the container.
    d.ok(&["restart", "-t", "1", &c]);
    d.record_veths(&c);
    assert!(d.pings(&c, &peer));
    d.ok(&["network", "disconnect", &net, &c]);
    d.ok(&["restart", "-t", "1", &c]);
    let networks = d.ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &c,
    ]);
    assert_eq!(networks.trim(), "bridge");
    d.ok(&["rm", "-f", &peer, &c]);
    d.ok(&["network", "rm", &net]);
    d.finish();
}

#[test]
fn network_prune_until() {
    let d = NetDaemon::start();
    let old = unique("old");
    d.create_network(&old, &["--label", "keep=no"]);
    let kept = unique("kept");
    d.create_network(&kept, &["--label", "keep=yes"]);
    // Created less than an hour ago: not older than `until`.
    let out = d.ok(&["network", "prune", "-f", "--filter", "until=1h"]);
    assert!(!out.contains(&old), "{out}");
    let future = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60)
        .to_string();
    let out = d.ok(&[
        "network",
        "prune",
        "-f",
        "--filter",
        &format!("until={future}"),
        "--filter",
        "label!=keep=yes",
    ]);
    assert!(out.contains(&old), "{out}");
    assert!(!out.contains(&kept), "{out}");
    let out = d.berth(&["network", "prune", "-f", "--filter", "until=yesterday"]);
    assert_ne!(out.code, 0, "{out:?}");
    d.ok(&["network", "rm", &kept]);
    d.finish();
}

/// A berthd that dies and comes back gives re-adopted containers their embedded DNS
/// again (its sockets lived in the old process).
#[test]
fn dns_of_running_containers_survives_a_daemon_restart() {
    let mut d = berth_tests::containers::TestDaemon::start();
    let resolver = TestResolver::start(NAME, ANSWER);
    let net = unique("rnet");
    let subnet = network_common::free_subnet();
    let berth = |d: &berth_tests::containers::TestDaemon, args: &[&str]| {
        let out = d.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            d.log_tail()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    berth(
        &d,
        &[
            "network",
            "create",
            "--subnet",
            &format!("{subnet}.0/24"),
            &net,
        ],
    );
    let a = unique("a");
    let b = unique("b");
    let dns = resolver.ip.to_string();
    for name in [&a, &b] {
        berth(
            &d,
            &[
                "run",
                "-d",
                "--name",
                name,
                "--network",
                &net,
                "--dns",
                &dns,
                "busybox",
                "sleep",
                "300",
            ],
        );
    }
    let resolves = |d: &berth_tests::containers::TestDaemon| {
        d.berth(&["exec", &b, "nslookup", &a]).status.success()
            && String::from_utf8_lossy(&d.berth(&["exec", &b, "nslookup", NAME]).stdout)
                .contains(&ANSWER.to_string())
    };
    assert!(resolves(&d), "{}", d.log_tail());
    d.kill9();
    d.start_again();
    assert!(
        berth_tests::wait_for(std::time::Duration::from_secs(10), || resolves(&d)),
        "no DNS after the daemon restart\n{}",
        d.log_tail()
    );
    berth(&d, &["rm", "-f", &a, &b]);
    berth(&d, &["network", "rm", &net]);
}

/// `rm --link /parent/alias` (berth's CLI and docker's): the link's name goes from the
/// child's `Names` and `ps --no-trunc`, its hosts line from the running parent, its
/// entry from `HostConfig.Links`; a plain name and a name that is no link fail as
/// docker's do.
#[test]
fn removing_a_link() {
    let resolver = TestResolver::start(NAME, ANSWER);
    let d = daemon(&resolver, false);
    let db = unique("db");
    sleeper(&d, &db, &[]);
    let db_ip = d.ip_of(&db, "bridge");
    let web = unique("web");
    sleeper(&d, &web, &["--link", &format!("{db}:store")]);
    let cache = unique("cache");
    sleeper(&d, &cache, &[]);
    sleeper(&d, &unique("app"), &["--link", &format!("{cache}:kv")]);

    let names = d.ok(&[
        "ps",
        "--no-trunc",
        "--filter",
        &format!("name={db}"),
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(names.trim(), format!("{db},{web}/store"));
    let short = d.ok(&[
        "ps",
        "--filter",
        &format!("name={db}"),
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(short.trim(), db);
    let hosts = d.exec(&web, &["cat", "/etc/hosts"]).stdout;
    assert!(hosts.contains(&format!("{db_ip}\tstore ")), "{hosts}");

    // Not links: the container's own name, a missing alias, a missing parent.
    let out = d.fails(&["rm", "--link", &db], 1);
    assert!(
        out.stderr
            .contains("Conflict, cannot remove the default link name."),
        "{out:?}"
    );
    let out = d.fails(&["rm", "-l", &format!("/{web}/nosuch")], 1);
    assert!(
        out.stderr
            .contains(&format!("No such container: {web}/nosuch")),
        "{out:?}"
    );
    let out = d.fails(&["rm", "-l", &format!("nosuch/{db}")], 1);
    assert!(
        out.stderr
            .contains(&format!("No such container: nosuch/{db}")),
        "{out:?}"
    );

    let link = format!("/{web}/store");
    assert_eq!(d.ok(&["rm", "--link", &link]).trim(), link);
    let hosts = d.exec(&web, &["cat", "/etc/hosts"]).stdout;
    assert!(!hosts.contains("store"), "{hosts}");
    assert!(!d.pings(&web, "store"));
    let links = d.ok(&["inspect", "-f", "{{json .HostConfig.Links}}", &web]);
    assert_eq!(links.trim(), "null");
    let names = d.ok(&[
        "ps",
        "--no-trunc",
        "--filter",
        &format!("name={db}"),
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(names.trim(), db);
    // Both containers live on.
    assert!(d.pings(&web, &db_ip));

    if let Some(docker) = berth_tests::docker_cli() {
        let docker = |args: &[&str]| {
            let config = berth_tests::TempDir::new("berth-dcfg");
            let mut command = std::process::Command::new(&docker);
            command
                .arg("-H")
                .arg(d.daemon().host())
                .args(args)
                .env("DOCKER_CONFIG", &config.path)
                .env_remove("DOCKER_HOST");
            berth_tests::output_with_deadline(command, network_common::DEADLINE)
        };
        let out = docker(&["ps", "--no-trunc", "--format", "{{.Names}}"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{cache},")) && l.ends_with("/kv")),
            "{text}"
        );
        let app_link = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{cache},")))
            .unwrap_or_default()
            .to_string();
        let out = docker(&["rm", "-l", &format!("/{app_link}")]);
        assert!(out.status.success(), "{out:?}");
        let out = docker(&["rm", "-l", &format!("/{app_link}")]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("No such container"),
            "{out:?}"
        );
        let out = docker(&["ps", "--no-trunc", "--format", "{{.Names}}"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.lines().any(|l| l == cache), "{text}");
    }
    d.ok(&["rm", "-f", &db, &web, &cache]);
    let rest = d.ok(&["ps", "-aq"]);
    for id in rest.split_whitespace() {
        d.ok(&["rm", "-f", id]);
    }
    d.finish();
}

/// `GET /` through busybox `nc` from `from` to `to:port`, polled until an answer or the
/// deadline (the server may still be starting); the answer's text or None.
fn get_from(d: &NetDaemon, from: &str, to: &str, port: u16, deadline: Duration) -> Option<String> {
    let get = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {to} {port}");
    let end = Instant::now() + deadline;
    loop {
        let out = d.exec(from, &["sh", "-c", &get]).stdout;
        if out.contains("200 OK") {
            return Some(out);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// With `--icc=false` the default bridge drops traffic between containers, except what
/// links allow (moby's link rules): the linking container reaches the linked one's
/// exposed port, not its other ports nor a container it does not link to; the rules go
/// when the linked container stops.
#[test]
fn links_open_exposed_ports_when_icc_is_off() {
    let d = NetDaemon::start_with("{}", &["--icc=false"]);
    let serve = |text: &str| {
        format!(
            "mkdir -p /www && echo {text} > /www/index.html && httpd -p 8081 -h /www && exec httpd -f -p 80 -h /www"
        )
    };
    let linked = unique("linked");
    let command = serve("linked-page");
    d.run_d(&[
        "--name", &linked, "--expose", "80", "busybox", "sh", "-c", &command,
    ]);
    let other = unique("other");
    let command = serve("other-page");
    d.run_d(&[
        "--name", &other, "--expose", "80", "busybox", "sh", "-c", &command,
    ]);
    let other_ip = d.ip_of(&other, "bridge");
    let client = unique("client");
    sleeper(&d, &client, &["--link", &format!("{linked}:web")]);
    // Both servers answer locally, so a refusal below is the firewall's.
    for (name, page) in [(&linked, "linked-page"), (&other, "other-page")] {
        for port in [80, 8081] {
            let out = get_from(&d, name, "127.0.0.1", port, Duration::from_secs(10));
            assert!(
                out.as_deref().is_some_and(|o| o.contains(page)),
                "{name}:{port} locally: {out:?}"
            );
        }
    }

    let out = get_from(&d, &client, "web", 80, Duration::from_secs(10));
    assert!(
        out.as_deref().is_some_and(|o| o.contains("linked-page")),
        "linked exposed port: {out:?}\n{:?}\n{}",
        network_common::rules_with(&d.prefix),
        d.log_tail()
    );
    let link_rules: Vec<String> = network_common::rules_with(&d.prefix)
        .into_iter()
        .filter(|r| r.contains("link:"))
        .collect();
    assert_eq!(link_rules.len(), 2, "{link_rules:?}");
    assert!(
        get_from(&d, &client, "web", 8081, Duration::ZERO).is_none(),
        "a port the linked container does not expose"
    );
    assert!(
        get_from(&d, &client, &other_ip, 80, Duration::ZERO).is_none(),
        "a container that is not linked"
    );
    assert!(!d.pings(&client, &other_ip));

    // `rm --link` takes the rules (and the name) away: the address no longer answers.
    let linked_ip = d.ip_of(&linked, "bridge");
    d.ok(&["rm", "--link", &format!("/{client}/web")]);
    assert!(
        !network_common::rules_with(&d.prefix)
            .iter()
            .any(|r| r.contains("link:")),
        "{:?}",
        network_common::rules_with(&d.prefix)
    );
    assert!(get_from(&d, &client, &linked_ip, 80, Duration::ZERO).is_none());

    // A new linking container: the linked container's stop takes its rules.
    let client2 = unique("client");
    sleeper(&d, &client2, &["--link", &format!("{linked}:web")]);
    assert!(get_from(&d, &client2, "web", 80, Duration::from_secs(10)).is_some());
    d.ok(&["stop", "-t", "1", &linked]);
    assert!(
        !network_common::rules_with(&d.prefix)
            .iter()
            .any(|r| r.contains("link:")),
        "{:?}",
        network_common::rules_with(&d.prefix)
    );
    d.ok(&["rm", "-f", &linked, &other, &client, &client2]);
    d.finish();
}
