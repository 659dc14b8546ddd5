//! Health checks: `--health-*` flags and image `HEALTHCHECK`s become `State.Health`
//! (starting → healthy / unhealthy, failing streak, a log of 5 results), with docker's
//! timeout, retries, start period and start interval rules, `health_status` events, the
//! `ps` STATUS suffix and `--filter health=`, `--no-healthcheck`, and a monitor that
//! follows the container through stop, restart and a daemon restart.

use std::time::Duration;

use berth_tests::containers::{for_each_client, primary, Client, TestDaemon, SETTLE};
use berth_tests::{unix_now, wait_for};
use serde_json::Value;

fn run_detached(c: &Client<'_>, name: &str, flags: &[&str], image: &str) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[image, "sleep", "600"]);
    c.ok(&args).trim().to_string()
}

fn health(d: &TestDaemon, id: &str) -> Value {
    d.inspect(id)["State"]["Health"].clone()
}

fn wait_health(d: &TestDaemon, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    d.wait_state(id, what, SETTLE, |v| check(&v["State"]["Health"]))["State"]["Health"].clone()
}

/// The `health_status` events of `id` since `since`, as (Action, name attribute).
fn health_events(d: &TestDaemon, since: &str, id: &str) -> Vec<(String, String)> {
    d.events_since(since)
        .iter()
        .filter(|e| e["Type"] == "container" && e["Actor"]["ID"] == id)
        .filter(|e| {
            e["Action"]
                .as_str()
                .unwrap_or("")
                .starts_with("health_status")
        })
        .map(|e| {
            (
                e["Action"].as_str().unwrap_or("").to_string(),
                e["Actor"]["Attributes"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

fn ps_status(c: &Client<'_>, name: &str) -> String {
    c.ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={name}"),
        "--format",
        "{{.Status}}",
    ])
    .trim()
    .to_string()
}

fn ps_names(c: &Client<'_>, filter: &str) -> Vec<String> {
    c.ok(&["ps", "--filter", filter, "--format", "{{.Names}}"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn passing_and_failing_checks_with_events_and_ps() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let since = unix_now();
        let good = c.name("good");
        let good_id = run_detached(
            c,
            &good,
            &["--health-cmd", "echo fine", "--health-interval", "100ms"],
            "busybox",
        );
        let bad = c.name("bad");
        let bad_id = run_detached(
            c,
            &bad,
            &[
                "--health-cmd",
                "echo oops; exit 3",
                "--health-interval",
                "100ms",
                "--health-retries",
                "2",
            ],
            "busybox",
        );
        let slow = c.name("slow");
        run_detached(
            c,
            &slow,
            &["--health-cmd", "true", "--health-interval", "1h"],
            "busybox",
        );
        let plain = c.name("plain");
        run_detached(c, &plain, &[], "busybox");

        let h = wait_health(&d, &good_id, "healthy", |h| h["Status"] == "healthy");
        assert_eq!(h["FailingStreak"], 0);
        let log = h["Log"].as_array().expect("Log");
        assert_eq!(log[0]["ExitCode"], 0, "{h}");
        assert_eq!(log[0]["Output"], "fine\n", "{h}");
        assert!(log[0]["Start"].as_str().unwrap().ends_with('Z'), "{h}");
        assert!(log[0]["End"].as_str().unwrap() >= log[0]["Start"].as_str().unwrap());

        let h = wait_health(&d, &bad_id, "unhealthy", |h| h["Status"] == "unhealthy");
        assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
        let last = h["Log"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["ExitCode"], 3, "{h}");
        assert_eq!(last["Output"], "oops\n", "{h}");
        // The log keeps the last 5 results.
        let h = wait_health(&d, &bad_id, "a log of 5", |h| {
            h["FailingStreak"].as_i64().unwrap_or(0) >= 7
        });
        assert_eq!(h["Log"].as_array().unwrap().len(), 5, "{h}");

        // A container without a check has no Health; one not yet probed is starting.
        assert!(health(&d, &plain).is_null());
        assert_eq!(health(&d, &slow)["Status"], "starting");
        assert_eq!(health(&d, &slow)["Log"], serde_json::json!([]));

        assert!(
            ps_status(c, &good).ends_with(" (healthy)"),
            "{}",
            ps_status(c, &good)
        );
        assert!(ps_status(c, &bad).ends_with(" (unhealthy)"));
        assert!(ps_status(c, &slow).ends_with(" (health: starting)"));
        let plain_status = ps_status(c, &plain);
        assert!(
            plain_status.starts_with("Up ") && !plain_status.contains('('),
            "{plain_status}"
        );

        let mine = |filter: &str| -> Vec<String> {
            ps_names(c, filter)
                .into_iter()
                .filter(|n| n.ends_with(c.label()))
                .collect()
        };
        assert_eq!(mine("health=healthy"), vec![good.clone()]);
        assert_eq!(mine("health=unhealthy"), vec![bad.clone()]);
        assert_eq!(mine("health=starting"), vec![slow.clone()]);
        assert_eq!(mine("health=none"), vec![plain.clone()]);
        let out = c.run(&["ps", "--filter", "health=sick"]);
        assert_ne!(out.code, 0);
        assert!(
            out.stderr
                .contains("Unrecognised filter value for health: sick"),
            "{out:?}"
        );

        let events = health_events(&d, &since, &good_id);
        assert_eq!(
            events,
            [("health_status: healthy".to_string(), good.clone())],
            "one event per status change"
        );
        let events = health_events(&d, &since, &bad_id);
        assert_eq!(
            events,
            [("health_status: unhealthy".to_string(), bad.clone())]
        );
        c.ok(&["rm", "-f", &good, &bad, &slow, &plain]);
        d.assert_no_traces(&good_id);
    });
}

#[test]
fn timeout_kills_the_probe() {
    let d = TestDaemon::start();
    let c = primary(&d);
    let id = run_detached(
        &c,
        "sleepy",
        &[
            "--health-cmd",
            "echo started; sleep 30",
            "--health-timeout",
            "300ms",
            "--health-interval",
            "100ms",
            "--health-retries",
            "1",
        ],
        "busybox",
    );
    let h = wait_health(&d, &id, "unhealthy by timeout", |h| {
        h["Status"] == "unhealthy"
    });
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], -1, "{h}");
    assert_eq!(
        first["Output"], "Health check exceeded timeout (300ms): started\n",
        "{h}"
    );
    // The probes were killed: no `sleep 30` piles up in the container.
    let top = c.ok(&["exec", "sleepy", "ps", "-o", "args"]);
    assert!(
        top.lines().filter(|l| l.contains("sleep 30")).count() <= 1,
        "{top}"
    );
    c.ok(&["rm", "-f", "sleepy"]);
    d.assert_no_traces(&id);
}

#[test]
fn start_period_and_start_interval() {
    let d = TestDaemon::start();
    let c = primary(&d);
    // Failures inside the start period do not count: with one retry, the first failure
    // would otherwise make it unhealthy at once.
    let id = run_detached(
        &c,
        "warming",
        &[
            "--health-cmd",
            "exit 1",
            "--health-interval",
            "300ms",
            "--health-retries",
            "1",
            "--health-start-period",
            "2s",
            "--health-start-interval",
            "100ms",
        ],
        "busybox",
    );
    let h = wait_health(&d, &id, "a failure during the start period", |h| {
        !h["Log"].as_array().is_none_or(Vec::is_empty)
    });
    assert_eq!(h["Status"], "starting", "{h}");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    let h = wait_health(&d, &id, "unhealthy after the start period", |h| {
        h["Status"] == "unhealthy"
    });
    assert_eq!(h["FailingStreak"], 1, "{h}");

    // The start interval paces the probes while starting: three probes where the
    // interval (1h) would allow none.
    let id = run_detached(
        &c,
        "paced",
        &[
            "--health-cmd",
            "exit 1",
            "--health-interval",
            "1h",
            "--health-start-period",
            "1h",
            "--health-start-interval",
            "100ms",
        ],
        "busybox",
    );
    let h = wait_health(&d, &id, "three probes", |h| {
        h["Log"].as_array().is_some_and(|l| l.len() >= 3)
    });
    assert_eq!(h["Status"], "starting", "{h}");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    c.ok(&["rm", "-f", "warming", "paced"]);
}

#[test]
fn image_healthcheck_is_inherited_and_can_be_disabled() {
    let d = TestDaemon::start();
    let c = primary(&d);
    // An image with a HEALTHCHECK: commit keeps the container's check in the config.
    c.ok(&[
        "create",
        "--name",
        "template",
        "--health-cmd",
        "echo from-image",
        "--health-interval",
        "100ms",
        "--health-retries",
        "4",
        "busybox",
    ]);
    c.ok(&["commit", "template", "checked:latest"]);
    let image = d.get("/images/checked:latest/json").json();
    assert_eq!(
        image["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "echo from-image"]),
        "{}",
        image["Config"]
    );

    for_each_client(&d, |c| {
        let inherited = c.name("inherited");
        let id = run_detached(c, &inherited, &[], "checked");
        let v = d.inspect(&id);
        assert_eq!(v["Config"]["Healthcheck"]["Retries"], 4, "{}", v["Config"]);
        let h = wait_health(&d, &id, "healthy from the image's check", |h| {
            h["Status"] == "healthy"
        });
        assert_eq!(h["Log"][0]["Output"], "from-image\n");

        // A partial override keeps the image's test.
        let partial = c.name("partial");
        let id = run_detached(c, &partial, &["--health-retries", "9"], "checked");
        let v = d.inspect(&id);
        assert_eq!(v["Config"]["Healthcheck"]["Retries"], 9);
        assert_eq!(
            v["Config"]["Healthcheck"]["Test"],
            serde_json::json!(["CMD-SHELL", "echo from-image"])
        );

        let off = c.name("off");
        let id = run_detached(c, &off, &["--no-healthcheck"], "checked");
        let v = d.inspect(&id);
        assert_eq!(
            v["Config"]["Healthcheck"]["Test"],
            serde_json::json!(["NONE"])
        );
        // No probe ever runs: nothing shows in State.Health, ps, or the exec events.
        let since = unix_now();
        std::thread::sleep(Duration::from_millis(500));
        assert!(health(&d, &id).is_null(), "{}", d.inspect(&id)["State"]);
        let status = ps_status(c, &off);
        assert!(!status.contains('('), "{status}");
        assert!(ps_names(c, "health=none").contains(&off));
        let actions = d.container_actions(&since, &id);
        assert!(actions.is_empty(), "{actions:?}");
        c.ok(&["rm", "-f", &inherited, &partial, &off]);
    });
    c.ok(&["rm", "template"]);
}

#[test]
fn monitor_follows_stop_restart_and_daemon_restart() {
    let mut d = TestDaemon::start();
    let id = {
        let c = primary(&d);
        let id = run_detached(
            &c,
            "followed",
            &["--health-cmd", "true", "--health-interval", "100ms"],
            "busybox",
        );
        wait_health(&d, &id, "healthy", |h| h["Status"] == "healthy");

        // Stopped: no more probes, the last status stays in inspect.
        c.ok(&["stop", "-t", "1", "followed"]);
        let before = health(&d, &id);
        std::thread::sleep(Duration::from_millis(600));
        let after = health(&d, &id);
        assert_eq!(before["Log"], after["Log"], "a probe ran after the stop");
        assert_eq!(after["Status"], "healthy");
        assert!(!ps_names(&c, "health=healthy").contains(&"followed".to_string()));

        // Started again: starting, then healthy, with a new event.
        let since = unix_now();
        c.ok(&["start", "followed"]);
        wait_health(&d, &id, "healthy after start", |h| h["Status"] == "healthy");
        assert_eq!(
            health_events(&d, &since, &id),
            [("health_status: healthy".to_string(), "followed".to_string())]
        );

        id
    };
    // A berthd that dies and comes back resumes the checks of re-adopted containers.
    d.kill9();
    d.start_again();
    let end_before = health(&d, &id)["Log"]
        .as_array()
        .and_then(|l| l.last().cloned())
        .map(|r| r["End"].as_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let resumed = wait_for(SETTLE, || {
        let h = health(&d, &id);
        h["Status"] == "healthy"
            && h["Log"]
                .as_array()
                .and_then(|l| l.last())
                .is_some_and(|r| r["Start"].as_str().unwrap_or("") > end_before.as_str())
    });
    assert!(
        resumed,
        "no probe after the daemon restart: {}",
        health(&d, &id)
    );
    primary(&d).ok(&["rm", "-f", "followed"]);
    d.assert_no_traces(&id);
}
