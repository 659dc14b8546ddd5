//! Resource limits really applied and enforced: memory (OOM kill with exit 137 and
//! `State.OOMKilled`, the cgroup files for -m, --memory-swap, --memory-reservation,
//! --oom-kill-disable), pids (--pids-limit refusing forks), CPU (--cpus, --cpu-shares,
//! --cpuset-cpus in the cgroup files), --ulimit, --sysctl in the container's own network
//! namespace, and --shm-size. Each scenario runs through the berth CLI (once it has `run`,
//! else docker) and through the docker CLI when one is installed.

use berth_tests::containers::{cgroup_file, for_each_client, Client, TestDaemon};
use berth_tests::unix_now;

/// `run -d --name NAME FLAGS busybox sleep 300`; returns the ID.
fn sleeper(c: &Client<'_>, name: &str, flags: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sleep", "300"]);
    c.ok(&args).trim().to_string()
}

const MIB: u64 = 1024 * 1024;

#[test]
fn memory_limit_ends_in_an_oom_kill() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("hog");
        let since = unix_now();
        let out = c.run(&[
            "run",
            "--name",
            &name,
            "-m",
            "32m",
            "busybox",
            "tail",
            "/dev/zero",
        ]);
        assert_eq!(out.code, 137, "a memory hog under -m 32m: {out:?}");
        let v = d.inspect(&name);
        assert_eq!(v["State"]["OOMKilled"], true, "{}", v["State"]);
        assert_eq!(v["State"]["ExitCode"], 137);
        assert_eq!(v["State"]["Status"], "exited");
        assert_eq!(v["HostConfig"]["Memory"], 32 * MIB);
        let id = v["Id"].as_str().expect("Id").to_string();
        let actions = d.container_actions(&since, &id);
        let oom = actions.iter().position(|a| a == "oom");
        let die = actions.iter().position(|a| a == "die");
        assert!(
            oom.is_some() && die.is_some() && oom < die,
            "an oom event before die: {actions:?}"
        );
        d.assert_no_traces(&id);

        // Another way to eat memory: a shell variable of 100 MB.
        let out = c.run(&[
            "run",
            "--rm",
            "-m",
            "32m",
            "busybox",
            "sh",
            "-c",
            "x=$(head -c 100m /dev/zero | tr '\\0' a); echo survived",
        ]);
        assert_eq!(out.code, 137, "{out:?}");
        assert!(!out.stdout.contains("survived"), "{out:?}");
        // The same program without a limit is fine, and OOMKilled stays false.
        let free = c.name("free");
        let out = c.run(&[
            "run",
            "--name",
            &free,
            "busybox",
            "sh",
            "-c",
            "head -c 50m /dev/zero | wc -c",
        ]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout.trim(), (50 * MIB).to_string());
        assert_eq!(d.inspect(&free)["State"]["OOMKilled"], false);
        c.ok(&["rm", &name, &free]);
    });
}

#[test]
fn memory_cgroup_files_follow_the_flags() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("mem");
        let id = sleeper(
            c,
            &name,
            &[
                "-m",
                "64m",
                "--memory-reservation",
                "32m",
                "--oom-kill-disable",
            ],
        );
        d.wait_running(&id);
        let limit = |file: &str| -> u64 {
            cgroup_file("memory", &id, file)
                .parse()
                .unwrap_or_else(|e| panic!("{file}: {e}"))
        };
        assert_eq!(limit("memory.limit_in_bytes"), 64 * MIB);
        assert_eq!(limit("memory.soft_limit_in_bytes"), 32 * MIB);
        // Without --memory-swap, docker allows as much swap as memory: twice in total.
        if std::path::Path::new(&format!(
            "/sys/fs/cgroup/memory/berth/{id}/memory.memsw.limit_in_bytes"
        ))
        .exists()
        {
            assert_eq!(limit("memory.memsw.limit_in_bytes"), 128 * MIB);
        }
        let control = cgroup_file("memory", &id, "memory.oom_control");
        assert!(
            control.lines().any(|l| l == "oom_kill_disable 1"),
            "--oom-kill-disable: {control}"
        );
        let v = d.inspect(&id);
        assert_eq!(v["HostConfig"]["Memory"], 64 * MIB);
        assert_eq!(v["HostConfig"]["MemoryReservation"], 32 * MIB);
        assert_eq!(v["HostConfig"]["OomKillDisable"], true);

        let swap = c.name("swap");
        let swap_id = sleeper(c, &swap, &["-m", "64m", "--memory-swap", "96m"]);
        d.wait_running(&swap_id);
        if std::path::Path::new(&format!(
            "/sys/fs/cgroup/memory/berth/{swap_id}/memory.memsw.limit_in_bytes"
        ))
        .exists()
        {
            assert_eq!(
                cgroup_file("memory", &swap_id, "memory.memsw.limit_in_bytes"),
                (96 * MIB).to_string()
            );
        }
        c.ok(&["rm", "-f", &name, &swap]);
        d.assert_removed(&id);
        d.assert_removed(&swap_id);
    });
}

#[test]
fn pids_limit_refuses_forks() {
    let d = TestDaemon::start();
    let script = "i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; echo forked-all";
    for_each_client(&d, |c| {
        let out = c.run(&[
            "run",
            "--rm",
            "--pids-limit",
            "10",
            "busybox",
            "sh",
            "-c",
            script,
        ]);
        assert_ne!(out.code, 0, "20 forks under --pids-limit 10: {out:?}");
        assert!(out.stderr.contains("can't fork"), "{out:?}");
        assert!(!out.stdout.contains("forked-all"), "{out:?}");
        // The same script without a limit forks them all.
        let out = c.run(&["run", "--rm", "busybox", "sh", "-c", script]);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("forked-all"), "{out:?}");

        let name = c.name("pids");
        let id = sleeper(c, &name, &["--pids-limit", "10"]);
        d.wait_running(&id);
        assert_eq!(cgroup_file("pids", &id, "pids.max"), "10");
        assert_eq!(d.inspect(&id)["HostConfig"]["PidsLimit"], 10);
        c.ok(&["rm", "-f", &name]);
        d.assert_removed(&id);
    });
}

#[test]
fn cpu_flags_reach_the_cgroup() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("cpu");
        let id = sleeper(
            c,
            &name,
            &["--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0"],
        );
        d.wait_running(&id);
        assert_eq!(cgroup_file("cpu", &id, "cpu.cfs_period_us"), "100000");
        assert_eq!(cgroup_file("cpu", &id, "cpu.cfs_quota_us"), "50000");
        assert_eq!(cgroup_file("cpu", &id, "cpu.shares"), "512");
        assert_eq!(cgroup_file("cpuset", &id, "cpuset.cpus"), "0");
        let v = d.inspect(&id);
        assert_eq!(v["HostConfig"]["NanoCpus"], 500_000_000);
        assert_eq!(v["HostConfig"]["CpuShares"], 512);
        assert_eq!(v["HostConfig"]["CpusetCpus"], "0");
        // Without flags there is no quota.
        let free = c.name("cpu-free");
        let free_id = sleeper(c, &free, &[]);
        d.wait_running(&free_id);
        assert_eq!(cgroup_file("cpu", &free_id, "cpu.cfs_quota_us"), "-1");
        assert_eq!(cgroup_file("cpu", &free_id, "cpu.shares"), "1024");
        c.ok(&["rm", "-f", &name, &free]);
        d.assert_removed(&id);
        d.assert_removed(&free_id);
    });
}

#[test]
fn ulimits_sysctls_and_shm_size() {
    let d = TestDaemon::start();
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
        .expect("host ip_forward")
        .trim()
        .to_string();
    for_each_client(&d, |c| {
        let out = c.ok(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=1024:2048",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn",
        ]);
        assert_eq!(out, "1024\n2048\n", "--ulimit nofile=1024:2048");

        // Network sysctls apply to the container's own network namespace only.
        let read = "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/tcp_keepalive_time";
        let default = c.ok(&["run", "--rm", "busybox", "sh", "-c", read]);
        let mut lines = default.lines();
        let default_forward = lines.next().unwrap_or("").to_string();
        assert_eq!(lines.next(), Some("7200"), "{default}");
        let wanted = if default_forward == "1" { "0" } else { "1" };
        let out = c.ok(&[
            "run",
            "--rm",
            "--sysctl",
            &format!("net.ipv4.ip_forward={wanted}"),
            "--sysctl",
            "net.ipv4.tcp_keepalive_time=600",
            "busybox",
            "sh",
            "-c",
            read,
        ]);
        assert_eq!(out, format!("{wanted}\n600\n"), "--sysctl in the container");
        let out = c.ok(&[
            "run",
            "--rm",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "busybox",
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
        ]);
        assert_eq!(out.trim(), "1");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .expect("host ip_forward")
                .trim(),
            host_forward,
            "the host's ip_forward changed"
        );

        // /dev/shm: 64 MB by default, --shm-size otherwise.
        let size = |flags: &[&str]| -> String {
            let mut args = vec!["run", "--rm"];
            args.extend_from_slice(flags);
            args.extend_from_slice(&["busybox", "df", "-k", "/dev/shm"]);
            let out = c.ok(&args);
            out.lines()
                .nth(1)
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or_else(|| panic!("df output {out:?}"))
                .to_string()
        };
        assert_eq!(size(&[]), "65536");
        assert_eq!(size(&["--shm-size", "16m"]), "16384");
        // /dev/shm is writable and limited.
        let out = c.run(&[
            "run",
            "--rm",
            "--shm-size",
            "1m",
            "busybox",
            "sh",
            "-c",
            "head -c 2m /dev/zero > /dev/shm/big",
        ]);
        assert_ne!(out.code, 0, "writing 2 MB to a 1 MB /dev/shm: {out:?}");
    });
}
