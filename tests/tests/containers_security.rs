//! Docker's default confinement and the flags that change it: the default capability set,
//! --cap-drop/--cap-add, --privileged, the default seccomp profile (and `unconfined`, and a
//! profile file), no-new-privileges, masked and read-only paths, read-only /sys and cgroup
//! mounts, the device cgroup, and --read-only. Each scenario runs through the berth CLI
//! (once it has `run`, else docker) and through the docker CLI when one is installed.

use berth_tests::containers::{cgroup_file, for_each_client, Client, TestDaemon};

/// Docker's default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
/// SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DEFAULT_CAPS: &str = "00000000a80425fb";

/// `run --rm FLAGS busybox sh -c SCRIPT`; returns the output (any exit code).
fn sh(c: &Client<'_>, flags: &[&str], script: &str) -> berth_tests::containers::Out {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    c.run(&args)
}

/// A `Key:\tvalue` field of /proc/self/status inside a container.
fn status_field(c: &Client<'_>, flags: &[&str], key: &str) -> String {
    let out = sh(c, flags, &format!("grep '^{key}:' /proc/self/status"));
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
        .split_once(':')
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in {out:?}"))
}

fn host_status_field(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn capabilities_default_drop_and_add() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        assert_eq!(status_field(c, &[], "CapEff"), DEFAULT_CAPS);
        assert_eq!(status_field(c, &[], "CapBnd"), DEFAULT_CAPS);
        let out = sh(c, &[], "chown nobody /tmp && echo chowned");
        assert_eq!(
            out.stdout.trim(),
            "chowned",
            "root may chown by default: {out:?}"
        );

        assert_eq!(
            status_field(c, &["--cap-drop", "ALL"], "CapEff"),
            "0000000000000000"
        );
        let out = sh(c, &["--cap-drop", "ALL"], "chown nobody /tmp");
        assert_ne!(out.code, 0, "chown without CAP_CHOWN: {out:?}");
        assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
        let out = sh(c, &["--cap-drop", "CHOWN"], "chown nobody /tmp");
        assert_ne!(out.code, 0, "--cap-drop CHOWN: {out:?}");
        // NET_ADMIN is bit 12.
        assert_eq!(
            status_field(c, &["--cap-add", "NET_ADMIN"], "CapEff"),
            "00000000a80435fb"
        );
        let out = sh(c, &[], "ip link set lo mtu 1400");
        assert_ne!(out.code, 0, "ip link set without NET_ADMIN: {out:?}");
        let out = sh(
            c,
            &["--cap-add", "NET_ADMIN"],
            "ip link set lo mtu 1400 && echo set",
        );
        assert_eq!(
            out.stdout.trim(),
            "set",
            "ip link set with NET_ADMIN: {out:?}"
        );
        // A non-root user has no effective capabilities.
        assert_eq!(
            status_field(c, &["-u", "nobody"], "CapEff"),
            "0000000000000000"
        );
    });
}

#[test]
fn privileged_gets_everything() {
    let d = TestDaemon::start();
    let host_caps = host_status_field("CapBnd");
    for_each_client(&d, |c| {
        let flags = ["--privileged"];
        assert_eq!(
            status_field(c, &flags, "CapEff"),
            host_caps,
            "all of the host's caps"
        );
        assert_eq!(status_field(c, &flags, "Seccomp"), "0", "no seccomp filter");
        let out = sh(c, &flags, "wc -c < /proc/timer_list");
        let size: u64 = out.stdout.trim().parse().unwrap_or(0);
        assert!(size > 0, "/proc/timer_list is not masked: {out:?}");
        let out = sh(c, &flags, "unshare -U true && echo unshared");
        assert_eq!(out.stdout.trim(), "unshared", "{out:?}");
        let out = sh(c, &flags, "ls /dev | wc -l");
        let privileged: u64 = out.stdout.trim().parse().unwrap_or(0);
        let out = sh(c, &[], "ls /dev | wc -l");
        let default: u64 = out.stdout.trim().parse().unwrap_or(0);
        assert!(
            privileged > default,
            "--privileged sees the host's devices ({privileged} vs {default} entries)"
        );
        let out = sh(c, &flags, "grep ' /sys ' /proc/mounts");
        assert!(out.stdout.contains(" rw,"), "/sys is writable: {out:?}");
        let out = sh(c, &flags, "ip link set lo mtu 1400 && echo set");
        assert_eq!(out.stdout.trim(), "set", "{out:?}");
    });
}

#[test]
fn default_seccomp_profile_and_overrides() {
    let d = TestDaemon::start();
    let profile = d.dir.join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .expect("write the profile");
    for_each_client(&d, |c| {
        assert_eq!(
            status_field(c, &[], "Seccomp"),
            "2",
            "a filter is installed"
        );
        // unshare(CLONE_NEWUSER) needs no capability; the default profile refuses it.
        let out = sh(c, &[], "unshare -U true");
        assert_ne!(out.code, 0, "unshare -U under the default profile: {out:?}");
        assert!(out.stderr.contains("Operation not permitted"), "{out:?}");

        let unconfined = ["--security-opt", "seccomp=unconfined"];
        assert_eq!(status_field(c, &unconfined, "Seccomp"), "0");
        let out = sh(c, &unconfined, "unshare -U true && echo unshared");
        assert_eq!(out.stdout.trim(), "unshared", "{out:?}");

        let custom = format!("seccomp={}", profile.display());
        let flags = ["--security-opt", custom.as_str()];
        let out = sh(c, &flags, "mkdir /made");
        assert_ne!(out.code, 0, "mkdir under a profile refusing it: {out:?}");
        assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
        let out = sh(c, &flags, "unshare -U true && echo unshared");
        assert_eq!(
            out.stdout.trim(),
            "unshared",
            "only the profile applies: {out:?}"
        );
        assert_eq!(sh(c, &[], "mkdir /made && echo made").stdout.trim(), "made");

        assert_eq!(status_field(c, &[], "NoNewPrivs"), "0");
        assert_eq!(
            status_field(c, &["--security-opt", "no-new-privileges"], "NoNewPrivs"),
            "1"
        );
    });
}

#[test]
fn masked_and_read_only_paths() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let out = sh(
            c,
            &[],
            "wc -c < /proc/timer_list; wc -c < /proc/keys; ls /sys/firmware | wc -l",
        );
        assert_eq!(out.stdout, "0\n0\n0\n", "masked paths are empty: {out:?}");
        if std::path::Path::new("/proc/kcore").exists() {
            let out = sh(c, &[], "wc -c < /proc/kcore");
            assert_eq!(out.stdout.trim(), "0", "/proc/kcore is masked: {out:?}");
        }
        let out = sh(c, &[], "echo 1 > /proc/sys/kernel/domainname");
        assert_ne!(out.code, 0, "/proc/sys is read-only: {out:?}");
        assert!(out.stderr.contains("Read-only file system"), "{out:?}");
        let out = sh(c, &[], "echo h > /proc/sysrq-trigger");
        assert_ne!(out.code, 0, "/proc/sysrq-trigger is read-only: {out:?}");
        let out = sh(c, &[], "grep ' /sys ' /proc/mounts");
        assert!(out.stdout.contains(" ro,"), "/sys is read-only: {out:?}");
    });
}

#[test]
fn cgroup_limits_cannot_be_changed_from_inside() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("confined");
        let id = c
            .ok(&[
                "run",
                "-d",
                "--name",
                &name,
                "--pids-limit",
                "10",
                "-m",
                "64m",
                "busybox",
                "sleep",
                "300",
            ])
            .trim()
            .to_string();
        d.wait_running(&id);
        let out = c.run(&[
            "exec",
            &name,
            "sh",
            "-c",
            "echo max > /sys/fs/cgroup/pids/pids.max; echo 100000000 > /sys/fs/cgroup/memory/memory.limit_in_bytes",
        ]);
        assert_ne!(
            out.code, 0,
            "writing the container's own cgroup limits: {out:?}"
        );
        assert_eq!(
            cgroup_file("pids", &id, "pids.max"),
            "10",
            "the pids limit was lifted"
        );
        assert_eq!(
            cgroup_file("memory", &id, "memory.limit_in_bytes"),
            (64u64 << 20).to_string(),
            "the memory limit was raised"
        );
        let mounts = c.ok(&["exec", &name, "grep", " cgroup ", "/proc/mounts"]);
        // The mount visible at each cgroup path is the last one listed for it (a
        // read-only bind stacked on the runtime's read-write mount counts as read-only).
        let mut visible: std::collections::BTreeMap<String, String> = Default::default();
        for line in mounts.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 3 {
                visible.insert(fields[1].to_string(), line.to_string());
            }
        }
        for line in visible.values() {
            let options = line.split_whitespace().nth(3).unwrap_or("");
            assert!(
                options.split(',').any(|o| o == "ro"),
                "a cgroup mount is writable in the container: {line}"
            );
        }
        c.ok(&["rm", "-f", &name]);
        d.assert_removed(&id);
    });
}

#[test]
fn device_cgroup_and_read_only_rootfs() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        // CAP_MKNOD allows the node; the device cgroup refuses opening it.
        let out = sh(
            c,
            &[],
            "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem > /dev/null",
        );
        assert_ne!(out.code, 0, "reading /dev/mem through a new node: {out:?}");
        assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
        // The allowed devices work.
        let out = sh(
            c,
            &[],
            "head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo ok",
        );
        assert_eq!(out.stdout, "4\nok\n", "{out:?}");

        assert_eq!(sh(c, &[], "touch /x && echo wrote").stdout.trim(), "wrote");
        let out = sh(c, &["--read-only"], "touch /x");
        assert_ne!(out.code, 0, "writing a --read-only rootfs: {out:?}");
        assert!(out.stderr.contains("Read-only file system"), "{out:?}");
        let out = sh(c, &["--read-only"], "echo x > /dev/shm/x && echo shm-ok");
        assert_eq!(
            out.stdout.trim(),
            "shm-ok",
            "/dev/shm stays writable: {out:?}"
        );
    });
}
