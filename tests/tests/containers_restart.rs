//! Restart policies: `on-failure:N` gives up after N restarts (RestartCount N), a clean
//! exit is not a failure, `always` and `unless-stopped` bring back a process that dies,
//! a manual stop is respected, and the events tell each round. Each scenario runs through
//! the berth CLI (once it has `run`, else docker) and through the docker CLI when one is
//! installed.

use std::time::{Duration, Instant};

use berth_tests::containers::{for_each_client, process_alive, Client, TestDaemon, SETTLE};
use berth_tests::unix_now;
use serde_json::Value;

/// How long a settled container is watched to see that no further restart comes (longer
/// than the back-off before the next restart would be).
const QUIET: Duration = Duration::from_secs(3);

fn run_detached(c: &Client<'_>, name: &str, flags: &[&str], cmd: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.push("busybox");
    args.extend_from_slice(cmd);
    c.ok(&args).trim().to_string()
}

/// Watches the container for `QUIET` and asserts its state stays as `check` says.
fn stays(d: &TestDaemon, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
    let end = Instant::now() + QUIET;
    while Instant::now() < end {
        let v = d.inspect(id);
        assert!(
            check(&v),
            "{id}: {what} no longer holds: State {} RestartCount {}",
            v["State"],
            v["RestartCount"]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count(actions: &[String], action: &str) -> usize {
    actions.iter().filter(|a| *a == action).count()
}

#[test]
fn on_failure_gives_up_after_the_maximum() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("flaky");
        let since = unix_now();
        let id = run_detached(
            c,
            &name,
            &["--restart", "on-failure:2"],
            &["sh", "-c", "exit 1"],
        );
        let v = d.wait_state(&id, "two restarts, then exited", SETTLE, |v| {
            v["RestartCount"] == 2 && v["State"]["Status"] == "exited"
        });
        assert_eq!(v["State"]["ExitCode"], 1);
        assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
        assert_eq!(v["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);
        stays(&d, &id, "exited after 2 restarts", |v| {
            v["RestartCount"] == 2 && v["State"]["Status"] == "exited"
        });
        let actions = d.container_actions(&since, &id);
        assert_eq!(
            count(&actions, "start"),
            3,
            "one start and two restarts: {actions:?}"
        );
        assert_eq!(count(&actions, "die"), 3, "{actions:?}");
        d.assert_no_traces(&id);

        // A clean exit is not a failure.
        let name = c.name("clean");
        let id = run_detached(c, &name, &["--restart", "on-failure"], &["true"]);
        d.wait_exited(&id);
        stays(&d, &id, "no restart after exit 0", |v| {
            v["RestartCount"] == 0 && v["State"]["Status"] == "exited"
        });
        c.ok(&["rm", &c.name("flaky"), &name]);
    });
}

#[test]
fn always_restarts_until_stopped_by_hand() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        // A process that keeps exiting comes back each time, with RestartCount counting.
        let name = c.name("phoenix");
        let id = run_detached(c, &name, &["--restart", "always"], &["sh", "-c", "exit 0"]);
        d.wait_state(&id, "three restarts", SETTLE, |v| {
            v["RestartCount"].as_i64().unwrap_or(0) >= 3
        });
        c.ok(&["stop", "-t", "1", &name]);
        let v = d.wait_exited(&id);
        let restarts = v["RestartCount"].clone();
        stays(&d, &id, "a manual stop holds", |v| {
            v["State"]["Status"] == "exited" && v["RestartCount"] == restarts
        });
        d.assert_no_traces(&id);

        // A long-running process killed from outside comes back as a new process.
        for policy in ["always", "unless-stopped", "on-failure"] {
            let name = c.name(&format!("survivor-{policy}"));
            let id = run_detached(c, &name, &["--restart", policy], &["sleep", "300"]);
            let before = d.wait_running(&id);
            let pid = before["State"]["Pid"].as_i64().expect("Pid");
            // SAFETY: SIGKILL to the container's init, a process this test started.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
            let after = d.wait_state(&id, "restarted after a kill", SETTLE, |v| {
                v["RestartCount"] == 1 && v["State"]["Running"] == true
            });
            let new_pid = after["State"]["Pid"].as_i64().expect("Pid");
            assert_ne!(new_pid, pid);
            assert!(process_alive(new_pid));
            // The manual stop wins over the policy.
            c.ok(&["stop", "-t", "1", &name]);
            d.wait_exited(&id);
            stays(&d, &id, "stopped by hand", |v| {
                v["State"]["Status"] == "exited" && v["RestartCount"] == 1
            });
            c.ok(&["rm", &name]);
            d.assert_removed(&id);
        }
        c.ok(&["rm", &c.name("phoenix")]);
    });
    d.assert_nothing_running();
}

#[test]
fn no_policy_means_no_restart() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("once");
        let id = run_detached(c, &name, &[], &["sh", "-c", "exit 1"]);
        d.wait_exited(&id);
        stays(&d, &id, "no restart", |v| {
            v["RestartCount"] == 0 && v["State"]["Status"] == "exited"
        });
        assert_eq!(d.inspect(&id)["HostConfig"]["RestartPolicy"]["Name"], "no");
        c.ok(&["rm", &name]);
    });
}

#[test]
fn update_changes_the_restart_policy() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("updated");
        let id = run_detached(c, &name, &[], &["sleep", "300"]);
        d.wait_running(&id);
        c.ok(&["update", "--restart", "always", &name]);
        assert_eq!(
            d.inspect(&id)["HostConfig"]["RestartPolicy"]["Name"],
            "always"
        );
        let pid = d.inspect(&id)["State"]["Pid"].as_i64().expect("Pid");
        // SAFETY: SIGKILL to the container's init, a process this test started.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
        d.wait_state(&id, "restarted under the new policy", SETTLE, |v| {
            v["RestartCount"] == 1 && v["State"]["Running"] == true
        });
        c.ok(&["rm", "-f", &name]);
        d.assert_removed(&id);
    });
}
