//! Containers across berthd's own life: after `kill -9` of berthd, running containers keep
//! running and a new berthd re-adopts them (ps, inspect, logs -f, attach, stop work), and
//! exits that happened while it was down are recorded; a clean stop of berthd stops its
//! containers, and `always` containers come back when berthd starts again, a manually
//! stopped `unless-stopped` one does not. Each scenario runs through the berth CLI (once
//! it has `run`, else docker) and through the docker CLI when one is installed.

use std::time::Duration;

use berth_tests::containers::{clients, process_alive, ClientKind, TestDaemon, SETTLE};
use serde_json::Value;

/// The client kinds to run each scenario with (the client is made anew after each
/// daemon restart, since it borrows the daemon).
fn kinds(d: &TestDaemon) -> Vec<ClientKind> {
    clients(d).into_iter().map(|c| c.kind).collect()
}

fn client<'a>(d: &'a TestDaemon, kind: &ClientKind) -> berth_tests::containers::Client<'a> {
    berth_tests::containers::Client {
        kind: kind.clone(),
        daemon: d,
    }
}

fn pid_of(v: &Value) -> i64 {
    v["State"]["Pid"].as_i64().unwrap_or(0)
}

#[test]
fn kill_9_of_berthd_leaves_containers_running_and_they_are_readopted() {
    let mut d = TestDaemon::start();
    for kind in kinds(&d) {
        let (name, id, pid, echo_name) = {
            let c = client(&d, &kind);
            let name = c.name("survivor");
            let id = c
                .ok(&[
                    "run",
                    "-d",
                    "--name",
                    &name,
                    "busybox",
                    "sh",
                    "-c",
                    "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done",
                ])
                .trim()
                .to_string();
            let echo_name = c.name("echo");
            c.ok(&[
                "run",
                "-d",
                "-i",
                "--name",
                &echo_name,
                "busybox",
                "sh",
                "-c",
                "read x; echo got $x; exit 5",
            ]);
            let v = d.wait_running(&id);
            d.wait_running(&echo_name);
            (name, id, pid_of(&v), echo_name)
        };
        let started_at = d.inspect(&id)["State"]["StartedAt"].clone();

        d.kill9();
        assert!(process_alive(pid), "the container died with berthd");
        let log_path = d
            .data_root()
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log"));
        let size = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        assert!(
            berth_tests::wait_for(SETTLE, || {
                std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0) > size
            }),
            "the shim keeps writing the log while berthd is down"
        );
        d.start_again();

        let c = client(&d, &kind);
        let v = d.inspect(&id);
        assert_eq!(v["State"]["Running"], true, "{}", v["State"]);
        assert_eq!(pid_of(&v), pid, "the same process");
        assert_eq!(v["State"]["StartedAt"], started_at);
        let ps = c.ok(&["ps", "--filter", &format!("name={name}")]);
        assert!(ps.contains("Up "), "ps after re-adoption:\n{ps}");

        // logs -f follows new output.
        let follow = c.spawn(&["logs", "-f", "--tail", "1", &name]);
        follow.wait_stdout("new lines after re-adoption", SETTLE, |out| {
            out.lines().filter(|l| l.starts_with("line ")).count() >= 5
        });

        // attach reaches the process started by the previous berthd.
        let out = c.run_with_stdin(&["attach", &echo_name], Some(b"again\n"));
        assert_eq!(out.code, 5, "attach after re-adoption: {out:?}");
        assert_eq!(out.stdout, "got again\n", "{out:?}");
        assert_eq!(d.inspect(&echo_name)["State"]["ExitCode"], 5);

        // stop works and the follower ends.
        c.ok(&["stop", "-t", "1", &name]);
        let v = d.inspect(&id);
        assert_eq!(v["State"]["Running"], false);
        assert_eq!(v["State"]["ExitCode"], 137);
        assert!(!process_alive(pid));
        let mut follow = follow;
        assert!(
            follow.wait(SETTLE).is_some(),
            "logs -f did not end when the container stopped"
        );
        c.ok(&["rm", &name, &echo_name]);
        d.assert_removed(&id);
    }
    d.assert_nothing_running();
}

#[test]
fn an_exit_while_berthd_is_down_is_recorded() {
    let mut d = TestDaemon::start();
    for kind in kinds(&d) {
        let (name, id, pid) = {
            let c = client(&d, &kind);
            let name = c.name("quitter");
            let id = c
                .ok(&[
                    "run",
                    "-d",
                    "--name",
                    &name,
                    "busybox",
                    "sh",
                    "-c",
                    "trap 'echo bye; exit 7' TERM; echo ready; while true; do sleep 0.1; done",
                ])
                .trim()
                .to_string();
            assert!(berth_tests::wait_for(SETTLE, || d
                .stdout_log(&id)
                .contains("ready")));
            let pid = pid_of(&d.inspect(&id));
            (name, id, pid)
        };
        let since = berth_tests::unix_now();
        d.kill9();
        // SAFETY: SIGTERM to the container's init, a process this test started.
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
        assert!(
            berth_tests::wait_for(SETTLE, || !process_alive(pid)),
            "the container did not exit on SIGTERM"
        );
        d.start_again();
        let c = client(&d, &kind);
        let v = d.wait_exited(&id);
        assert_eq!(v["State"]["ExitCode"], 7, "{}", v["State"]);
        assert_eq!(v["State"]["Running"], false);
        assert_eq!(v["State"]["Pid"], 0);
        let finished = v["State"]["FinishedAt"].as_str().unwrap_or("");
        assert!(
            !finished.starts_with("0001")
                && finished > v["State"]["StartedAt"].as_str().unwrap_or(""),
            "FinishedAt {finished:?}"
        );
        let actions = d.container_actions(&since, &id);
        assert!(
            actions.iter().any(|a| a == "die"),
            "a die event: {actions:?}"
        );
        let out = c.ok(&["logs", &name]);
        assert!(
            out.contains("bye"),
            "output written while berthd was down: {out:?}"
        );
        let ps = c.ok(&["ps", "-a", "--filter", &format!("name={name}")]);
        assert!(ps.contains("Exited (7)"), "{ps}");
        d.assert_no_traces(&id);
        // It starts again normally.
        c.ok(&["start", &name]);
        d.wait_running(&id);
        c.ok(&["rm", "-f", &name]);
        d.assert_removed(&id);
    }
}

#[test]
fn clean_stop_stops_containers_and_start_brings_back_always() {
    let mut d = TestDaemon::start();
    let kinds = kinds(&d);
    let mut expected = Vec::new();
    for kind in &kinds {
        let c = client(&d, kind);
        let plain = c.name("plain");
        let always = c.name("always");
        let stopped_always = c.name("stopped-always");
        let stopped_unless = c.name("stopped-unless");
        let running_unless = c.name("running-unless");
        c.ok(&["run", "-d", "--name", &plain, "busybox", "sleep", "300"]);
        for (name, policy) in [
            (&always, "always"),
            (&stopped_always, "always"),
            (&stopped_unless, "unless-stopped"),
            (&running_unless, "unless-stopped"),
        ] {
            c.ok(&[
                "run",
                "-d",
                "--restart",
                policy,
                "--name",
                name,
                "busybox",
                "sleep",
                "300",
            ]);
        }
        c.ok(&["stop", "-t", "0", &stopped_always, &stopped_unless]);
        expected.push((plain, false));
        expected.push((always, true));
        expected.push((stopped_always, true));
        expected.push((stopped_unless, false));
        expected.push((running_unless, true));
    }
    let pids: Vec<(String, i64)> = expected
        .iter()
        .map(|(name, _)| (name.clone(), pid_of(&d.inspect(name))))
        .collect();
    let ids: Vec<String> = expected.iter().map(|(n, _)| d.id_of(n)).collect();

    let status = d.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "berthd did not stop cleanly: {status:?}"
    );
    for (name, pid) in &pids {
        assert!(
            !process_alive(*pid),
            "{name} (pid {pid}) still runs after berthd stopped"
        );
    }
    for id in &ids {
        assert!(
            d.traces_of(id).is_empty(),
            "{id} left traces after a clean berthd stop: {:?}",
            d.traces_of(id)
        );
    }

    d.start_again();
    for (name, comes_back) in &expected {
        if *comes_back {
            let v = d.wait_running(name);
            assert!(process_alive(pid_of(&v)), "{name}");
        } else {
            let v = d.inspect(name);
            assert_eq!(v["State"]["Running"], false, "{name}: {}", v["State"]);
        }
    }
    // Watch a while: a container that should stay down must not come back late.
    let end = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < end {
        for (name, comes_back) in &expected {
            if !*comes_back {
                assert_eq!(
                    d.inspect(name)["State"]["Running"],
                    false,
                    "{name} came back"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for kind in &kinds {
        let c = client(&d, kind);
        let names: Vec<String> = expected
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| n.ends_with(c.label()))
            .collect();
        let mut args = vec!["rm", "-f"];
        args.extend(names.iter().map(String::as_str));
        c.ok(&args);
    }
    for id in &ids {
        d.assert_removed(id);
    }
    d.assert_nothing_running();
}
