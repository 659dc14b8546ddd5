//! The container's process as docker sets it up: environment (`-e`, image Env, PATH,
//! HOSTNAME, HOME), working directory (`-w`, created when missing), user (`-u` names and
//! numeric ids), `--entrypoint`, hostname (`-h`, default the short ID), /etc/hosts,
//! /etc/hostname and /etc/resolv.conf, and `--init`. Each scenario runs through the berth
//! CLI (once it has `run`, else docker) and through the docker CLI when one is installed.

use berth_tests::containers::{for_each_client, Client, TestDaemon};

/// `run --rm [flags] busybox sh -c SCRIPT`, asserting exit 0; returns stdout.
fn sh(c: &Client<'_>, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    c.ok(&args)
}

/// The `KEY=value` lines of `env` inside a container.
fn env_of(c: &Client<'_>, flags: &[&str]) -> Vec<String> {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "env"]);
    let mut vars: Vec<String> = c.ok(&args).lines().map(str::to_string).collect();
    vars.sort();
    vars
}

#[test]
fn environment_merges_image_defaults_and_flags() {
    let d = TestDaemon::start();
    let env_file = d.dir.join("vars.env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\n\nSPACED=a b\n").expect("env file");
    for_each_client(&d, |c| {
        let vars = env_of(
            c,
            &[
                "-e",
                "FOO=bar",
                "--env",
                "EMPTY=",
                "--env-file",
                env_file.to_str().expect("path"),
                "-h",
                "envhost",
            ],
        );
        let has = |v: &str| vars.iter().any(|x| x == v);
        assert!(
            has("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "the image's PATH: {vars:?}"
        );
        assert!(has("FOO=bar"), "{vars:?}");
        assert!(has("EMPTY="), "{vars:?}");
        assert!(has("FROM_FILE=yes"), "{vars:?}");
        assert!(has("SPACED=a b"), "{vars:?}");
        assert!(has("HOSTNAME=envhost"), "{vars:?}");
        assert!(has("HOME=/root"), "{vars:?}");
        assert!(
            !vars.iter().any(|v| v.starts_with("TERM=")),
            "TERM only with -t: {vars:?}"
        );
        // -e overrides the image's value; HOME follows the user.
        let vars = env_of(c, &["-e", "PATH=/bin", "-u", "nobody"]);
        assert!(vars.iter().any(|v| v == "PATH=/bin"), "{vars:?}");
        assert!(vars.iter().any(|v| v == "HOME=/nonexistent"), "{vars:?}");
        // -t sets TERM.
        let out = c.ok(&["run", "--rm", "-t", "busybox", "sh", "-c", "echo $TERM"]);
        assert_eq!(out.trim(), "xterm", "TERM under -t: {out:?}");
    });
}

#[test]
fn workdir_is_used_and_created() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        assert_eq!(
            sh(c, &[], "pwd").trim(),
            "/",
            "the default working directory"
        );
        assert_eq!(sh(c, &["-w", "/tmp"], "pwd").trim(), "/tmp");
        // A directory the image lacks is created (owned by the container's user).
        let out = sh(
            c,
            &["-w", "/srv/deep/dir"],
            "pwd; ls -ld /srv/deep/dir | cut -c1",
        );
        assert_eq!(out, "/srv/deep/dir\nd\n");
        let name = c.name("workdir");
        c.ok(&["create", "--name", &name, "-w", "/data", "busybox", "pwd"]);
        assert_eq!(d.inspect(&name)["Config"]["WorkingDir"], "/data");
        assert_eq!(c.ok(&["start", "-a", &name]).trim(), "/data");
        c.ok(&["rm", &name]);
    });
}

#[test]
fn user_names_and_numeric_ids() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        assert_eq!(
            c.ok(&["run", "--rm", "busybox", "id"]).trim(),
            "uid=0(root) gid=0(root) groups=0(root)"
        );
        let out = c.ok(&["run", "--rm", "-u", "nobody", "busybox", "id"]);
        assert!(
            out.starts_with("uid=65534(nobody) gid=65534(nogroup)"),
            "-u nobody: {out:?}"
        );
        let out = c.ok(&["run", "--rm", "-u", "1000:1000", "busybox", "id"]);
        assert!(
            out.starts_with("uid=1000 gid=1000"),
            "-u 1000:1000: {out:?}"
        );
        let out = c.ok(&["run", "--rm", "-u", "1234", "busybox", "id", "-u"]);
        assert_eq!(out.trim(), "1234");
        let out = c.ok(&["run", "--rm", "-u", "nobody:root", "busybox", "id"]);
        assert!(
            out.starts_with("uid=65534(nobody) gid=0(root)"),
            "-u nobody:root: {out:?}"
        );
        let out = c.ok(&[
            "run",
            "--rm",
            "-u",
            "nobody",
            "--group-add",
            "4242",
            "busybox",
            "id",
            "-G",
        ]);
        assert!(
            out.split_whitespace().any(|g| g == "4242"),
            "--group-add 4242: {out:?}"
        );
        // A non-root user cannot write where root owns the files.
        let out = c.run(&["run", "--rm", "-u", "nobody", "busybox", "touch", "/etc/x"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("Permission denied"), "{out:?}");
    });
}

#[test]
fn entrypoint_and_command() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let out = c.ok(&["run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"]);
        assert_eq!(out, "a b\n");
        let out = c.ok(&["run", "--rm", "--entrypoint", "/bin/echo", "busybox"]);
        assert_eq!(out, "\n", "the entrypoint without the image's Cmd");
        let name = c.name("entry");
        c.ok(&[
            "create",
            "--name",
            &name,
            "--entrypoint",
            "printf",
            "busybox",
            "%s-%s",
            "x",
            "y",
        ]);
        let v = d.inspect(&name);
        assert_eq!(v["Config"]["Entrypoint"], serde_json::json!(["printf"]));
        assert_eq!(v["Config"]["Cmd"], serde_json::json!(["%s-%s", "x", "y"]));
        assert_eq!(v["Path"], "printf");
        assert_eq!(c.ok(&["start", "-a", &name]), "x-y");
        c.ok(&["rm", &name]);
    });
}

#[test]
fn hostname_and_etc_files() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("hosty");
        let out = c.ok(&[
            "run",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/hostname",
        ]);
        let id = d.id_of(&name);
        assert_eq!(
            out,
            format!("{}\n{}\n", &id[..12], &id[..12]),
            "the default hostname is the short ID"
        );
        assert_eq!(d.inspect(&name)["Config"]["Hostname"], &id[..12]);
        c.ok(&["rm", &name]);

        let out = sh(c, &["-h", "myhost"], "hostname; cat /etc/hostname");
        assert_eq!(out, "myhost\nmyhost\n");
        let hosts = sh(c, &[], "cat /etc/hosts");
        assert!(
            hosts
                .lines()
                .any(|l| l.starts_with("127.0.0.1") && l.contains("localhost")),
            "/etc/hosts: {hosts}"
        );
        let hosts = sh(c, &["--add-host", "db.example:10.1.2.3"], "cat /etc/hosts");
        assert!(
            hosts
                .lines()
                .any(|l| l.starts_with("10.1.2.3") && l.contains("db.example")),
            "--add-host: {hosts}"
        );
        let resolv = sh(c, &[], "cat /etc/resolv.conf");
        assert!(
            resolv.lines().any(|l| l.starts_with("nameserver ")),
            "/etc/resolv.conf: {resolv}"
        );
        let resolv = sh(
            c,
            &["--dns", "192.0.2.53", "--dns-search", "example.test"],
            "cat /etc/resolv.conf",
        );
        assert!(resolv.contains("nameserver 192.0.2.53"), "{resolv}");
        assert!(resolv.contains("search example.test"), "{resolv}");
        // The files are the container's own, mounted, not the host's.
        let mounts = sh(c, &[], "cat /proc/mounts");
        for file in ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] {
            assert!(
                mounts
                    .lines()
                    .any(|l| l.split_whitespace().nth(1) == Some(file)),
                "{file} is not mounted:\n{mounts}"
            );
        }
    });
}

#[test]
fn init_runs_as_pid_1_and_reaps() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        assert_eq!(
            sh(c, &[], "echo $$").trim(),
            "1",
            "without --init sh is PID 1"
        );
        let out = sh(c, &["--init"], "echo $$; cat /proc/1/comm");
        let mut lines = out.lines();
        let pid: i64 = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("--init output {out:?}"));
        assert!(pid > 1, "with --init the command is not PID 1: {out:?}");
        let init = lines.next().unwrap_or("").trim();
        assert!(
            !init.is_empty() && init != "sh",
            "PID 1 under --init is {init:?}"
        );
        // The exit code passes through the init.
        c.expect_code(
            &["run", "--rm", "--init", "busybox", "sh", "-c", "exit 6"],
            6,
        );
        // The init forwards SIGTERM: stop does not need SIGKILL for a trapping child.
        let name = c.name("inited");
        c.ok(&[
            "run",
            "-d",
            "--init",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done",
        ]);
        assert!(
            berth_tests::wait_for(berth_tests::containers::SETTLE, || {
                d.stdout_log(&name).contains("ready")
            }),
            "the trap was not set up"
        );
        c.ok(&["stop", "-t", "20", &name]);
        assert_eq!(d.inspect(&name)["State"]["ExitCode"], 0);
        c.ok(&["rm", &name]);
    });
}
