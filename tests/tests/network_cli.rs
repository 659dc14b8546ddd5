//! The `berth network` commands: create with docker's flags, ls (table, -q, --filter,
//! --format, --no-trunc), inspect, rm (several, docker's errors), prune.

mod network_common;

use network_common::NetDaemon;

#[test]
fn create_ls_inspect_rm_prune() {
    let d = NetDaemon::start();
    let net = network_common::unique("cli");
    let bridge = format!("bn{}c", std::process::id() % 100000);
    let subnet = network_common::free_subnet();
    let cidr = format!("{subnet}.0/24");
    let gateway = format!("{subnet}.254");
    let range = format!("{subnet}.128/25");
    let opt = format!("com.docker.network.bridge.name={bridge}");
    let id = d
        .ok(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--subnet",
            &cidr,
            "--gateway",
            &gateway,
            "--ip-range",
            &range,
            "--internal",
            "--attachable",
            "-o",
            &opt,
            "--label",
            "tier=back",
            "--label",
            "team",
            &net,
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let inspect = network_common::json(&d.ok(&["network", "inspect", &net]));
    let n = &inspect[0];
    assert_eq!(n["Name"], net.as_str());
    assert_eq!(n["Id"], id.as_str());
    assert_eq!(n["Driver"], "bridge");
    assert_eq!(n["Internal"], true);
    assert_eq!(n["Attachable"], true);
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], cidr.as_str());
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], gateway.as_str());
    assert_eq!(n["IPAM"]["Config"][0]["IPRange"], range.as_str());
    assert_eq!(n["Labels"]["tier"], "back");
    assert_eq!(n["Labels"]["team"], "");
    assert_eq!(
        n["Options"]["com.docker.network.bridge.name"],
        bridge.as_str()
    );
    let links = network_common::ip(&["-o", "addr", "show", "dev", &bridge]);
    assert!(links.contains(&format!("{gateway}/24")), "{links}");
    assert_eq!(
        d.ok(&[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Scope}}",
            &net,
            "bridge"
        ]),
        format!("{net} local\nbridge local\n")
    );
    // A missing network: docker prints what it found, then the daemon's error, exit 1.
    let out = d.fails(
        &["network", "inspect", "-f", "{{.Name}}", &net, "nosuchnet"],
        1,
    );
    assert_eq!(out.stdout, format!("{net}\n"));
    assert_eq!(
        out.stderr,
        "Error response from daemon: network nosuchnet not found\n"
    );
    let out = d.fails(&["network", "inspect", "nosuchnet"], 1);
    assert_eq!(out.stdout.trim(), "[]");

    // ls: docker's table, sorted by name, IDs cut to 12.
    let table = d.ok(&["network", "ls"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or("");
    assert!(header.starts_with("NETWORK ID     NAME "), "{table}");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r[1]).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for expected in ["bridge", "host", "none", net.as_str()] {
        assert!(names.contains(&expected), "{expected} missing:\n{table}");
    }
    let row = rows.iter().find(|r| r[1] == net).expect("row");
    assert_eq!(row, &vec![&id[..12], net.as_str(), "bridge", "local"]);
    let quiet = d.ok(&["network", "ls", "-q", "--filter", &format!("name={net}")]);
    assert_eq!(quiet, format!("{}\n", &id[..12]));
    let full = d.ok(&[
        "network",
        "ls",
        "-q",
        "--no-trunc",
        "--filter",
        "label=tier=back",
    ]);
    assert_eq!(full, format!("{id}\n"));
    let formatted = d.ok(&[
        "network",
        "ls",
        "--filter",
        "driver=bridge",
        "--format",
        "{{.Name}}|{{.Driver}}|{{.Internal}}|{{.Label \"tier\"}}",
    ]);
    assert!(
        formatted
            .lines()
            .any(|l| l == format!("{net}|bridge|true|back")),
        "{formatted}"
    );
    assert!(!formatted.contains("host|"), "{formatted}");
    let out = d.fails(&["network", "ls", "--filter", "bogus"], 1);
    assert!(out.stderr.contains("bad format of filter"), "{out:?}");

    // create refusals.
    let out = d.fails(&["network", "create", "--subnet", &cidr, &net], 1);
    assert!(out.stderr.contains("already exists"), "{out:?}");
    let out = d.fails(&["network", "create", "host"], 1);
    assert!(out.stderr.contains("pre-defined"), "{out:?}");
    let out = d.fails(&["network", "create", "--gateway", "10.213.0.1", "x"], 1);
    assert_eq!(
        out.stderr,
        "Error: every ip-range or gateway must have a corresponding subnet\n"
    );

    // rm: several at once, each error reported, exit 1; -f ignores missing ones.
    let other = network_common::unique("other");
    d.create_network(&other, &[]);
    let out = d.fails(&["network", "rm", &net, "nosuchnet", &other], 1);
    assert_eq!(out.stdout, format!("{net}\n{other}\n"));
    assert_eq!(
        out.stderr,
        "Error response from daemon: network nosuchnet not found\n"
    );
    d.ok(&["network", "rm", "-f", "nosuchnet"]);
    let out = d.fails(&["network", "rm", "bridge"], 1);
    assert!(out.stderr.contains("pre-defined"), "{out:?}");
    assert!(!network_common::host_links().contains(&bridge));

    // prune: unused user networks go, used ones and the predefined stay.
    let used = network_common::unique("used");
    let unused = network_common::unique("unused");
    d.create_network(&used, &[]);
    d.create_network(&unused, &["--label", "keep=no"]);
    let c = network_common::unique("c");
    d.run_d(&["--name", &c, "--network", &used, "busybox", "sleep", "300"]);
    let out = d.ok(&["network", "prune", "-f", "--filter", "label=keep=no"]);
    assert_eq!(out, format!("Deleted Networks:\n{unused}\n\n"));
    let left = d.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(left.lines().any(|l| l == used) && left.lines().all(|l| l != unused));
    assert_eq!(d.ok(&["network", "prune", "-f"]), "");
    d.ok(&["rm", "-f", &c]);
    assert_eq!(
        d.ok(&["network", "prune", "-f"]),
        format!("Deleted Networks:\n{used}\n\n")
    );
    let left = d.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(left, "bridge\nhost\nnone\n");
    d.finish();
}
