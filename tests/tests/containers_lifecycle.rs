//! Container lifecycle end to end: run and its exit codes, detached runs seen by ps and
//! inspect, stop (SIGTERM, then SIGKILL after -t), kill -s, restart, rm (-f, several,
//! `rm $(ps -aq)`), wait conditions, rename, pause/unpause, names, labels and ps filters,
//! --rm, prune, and the events of it all. Each scenario runs through the berth CLI (once
//! it has `run`, else docker) and through the docker CLI when one is installed.

use std::time::{Duration, Instant};

use berth_tests::containers::{
    cgroup_dirs, cgroup_file, for_each_client, process_alive, Client, OpenRequest, TestDaemon,
    SETTLE,
};
use berth_tests::unix_now;
use serde_json::{json, Value};

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `run -d NAME busybox ARGS...`, returning the ID it prints.
fn run_detached(c: &Client<'_>, name: &str, args: &[&str]) -> String {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(args);
    let id = c.ok(&all).trim().to_string();
    assert!(is_hex(&id, 64), "run -d printed {id:?}, not an ID");
    id
}

/// Waits until the container's log shows `needle` on stdout.
fn wait_log(d: &TestDaemon, reference: &str, needle: &str) {
    let mut log = String::new();
    let seen = berth_tests::wait_for(SETTLE, || {
        log = d.stdout_log(reference);
        log.contains(needle)
    });
    assert!(
        seen,
        "{reference}: {needle:?} not in the log: {log:?}\n{}",
        d.log_tail()
    );
}

/// The attributes of the container events for `id` with this action.
fn event_attributes(d: &TestDaemon, since: &str, id: &str, action: &str) -> Vec<Value> {
    d.events_since(since)
        .into_iter()
        .filter(|e| e["Type"] == "container" && e["Actor"]["ID"] == id && e["Action"] == action)
        .map(|e| e["Actor"]["Attributes"].clone())
        .collect()
}

/// Waits until the events since `since` for `id` contain every action of `expected`,
/// in that order (other actions may come between).
fn wait_events_in_order(d: &TestDaemon, since: &str, id: &str, expected: &[&str]) {
    let mut actions = Vec::new();
    let ok = berth_tests::wait_for(SETTLE, || {
        actions = d.container_actions(since, id);
        let mut want = expected.iter().peekable();
        for action in &actions {
            if want.peek().is_some_and(|w| **w == action.as_str()) {
                want.next();
            }
        }
        want.peek().is_none()
    });
    assert!(
        ok,
        "events for {id}: expected {expected:?} in order, got {actions:?}"
    );
}

#[test]
fn run_returns_the_container_exit_code_and_output() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let out = c.expect_code(&["run", "--rm", "busybox", "echo", "hi"], 0);
        assert_eq!(out.stdout, "hi\n", "{out:?}");
        let out = c.expect_code(
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ],
            3,
        );
        assert_eq!(out.stdout, "out\n", "stdout of the container: {out:?}");
        assert!(
            out.stderr.contains("err\n"),
            "stderr of the container: {out:?}"
        );
        c.expect_code(&["run", "--rm", "busybox", "false"], 1);
        // The image's Cmd (sh) with an empty stdin exits 0.
        c.expect_code(&["run", "--rm", "busybox"], 0);
    });
    assert!(
        d.all_ids().is_empty(),
        "--rm left containers: {:?}",
        d.all_ids()
    );
    d.assert_nothing_running();
}

#[test]
fn detached_run_is_seen_by_ps_and_inspect() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("detached");
        let id = run_detached(c, &name, &["busybox", "sleep", "300"]);
        let v = d.wait_running(&id);
        let state = &v["State"];
        assert_eq!(state["Status"], "running", "{state}");
        assert_eq!(state["Paused"], false);
        assert_eq!(state["OOMKilled"], false);
        assert_eq!(state["Dead"], false);
        assert_eq!(state["ExitCode"], 0);
        let pid = state["Pid"].as_i64().expect("Pid");
        assert!(
            pid > 0 && process_alive(pid),
            "Pid {pid} is not a live process"
        );
        let started = state["StartedAt"].as_str().expect("StartedAt");
        assert!(
            started.starts_with("20") && started.ends_with('Z') && started.contains('T'),
            "StartedAt {started:?}"
        );
        assert_eq!(v["Id"], id.as_str());
        assert_eq!(v["Name"], format!("/{name}"));
        assert_eq!(v["Path"], "sleep");
        assert_eq!(v["Args"], json!(["300"]));
        assert_eq!(v["Config"]["Image"], "busybox");
        assert_eq!(v["RestartCount"], 0);
        // `/info` counts it as running.
        let info = d.api("GET", "/info", None).json();
        assert!(
            info["ContainersRunning"].as_u64().unwrap_or(0) >= 1,
            "/info does not count the running container: {}",
            info["ContainersRunning"]
        );
        assert!(
            v["Image"]
                .as_str()
                .is_some_and(|i| i.starts_with("sha256:")),
            "Image {}",
            v["Image"]
        );
        let log_path = v["LogPath"].as_str().expect("LogPath");
        assert!(
            std::path::Path::new(log_path).is_file(),
            "LogPath {log_path}"
        );
        // The container's process sits in its own cgroups.
        assert!(
            cgroup_dirs(&id)
                .iter()
                .any(|p| p.starts_with("/sys/fs/cgroup/memory")),
            "no memory cgroup for {id}"
        );
        let procs = cgroup_file("pids", &id, "cgroup.procs");
        assert!(
            procs.lines().any(|p| p.trim() == pid.to_string()),
            "pid {pid} not in the pids cgroup: {procs}"
        );

        let ps = c.ok(&["ps"]);
        let row = ps
            .lines()
            .find(|l| l.contains(&name))
            .unwrap_or_else(|| panic!("{name} not in ps:\n{ps}"));
        assert!(row.starts_with(&id[..12]), "ps row {row:?}");
        assert!(row.contains("Up "), "ps row {row:?}");
        assert!(row.contains("\"sleep 300\""), "ps row {row:?}");
        assert!(
            lines(&c.ok(&["ps", "-q"])).contains(&id[..12].to_string()),
            "ps -q lacks {id}"
        );
        let full = c.ok(&["ps", "--no-trunc"]);
        assert!(
            full.contains(&id),
            "ps --no-trunc lacks the full ID:\n{full}"
        );
        assert_eq!(
            c.ok(&["inspect", "--format", "{{.State.Running}}", &name])
                .trim(),
            "true"
        );
        assert_eq!(
            c.ok(&["inspect", "--format", "{{.State.Pid}} {{.Name}}", &name])
                .trim(),
            format!("{pid} /{name}")
        );

        let out = c.ok(&["rm", "-f", &name]);
        assert_eq!(out.trim(), name);
        assert!(!process_alive(pid), "rm -f left pid {pid} running");
        d.assert_removed(&id);
    });
    d.assert_nothing_running();
}

#[test]
fn stop_sends_sigterm_then_sigkill_after_the_timeout() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        // A container that exits on SIGTERM by itself.
        let polite = c.name("polite");
        let polite_id = run_detached(
            c,
            &polite,
            &[
                "busybox",
                "sh",
                "-c",
                "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done",
            ],
        );
        wait_log(&d, &polite_id, "ready");
        let out = c.ok(&["stop", &polite]);
        assert_eq!(out.trim(), polite);
        let v = d.inspect(&polite_id);
        assert_eq!(v["State"]["Running"], false, "{}", v["State"]);
        assert_eq!(v["State"]["Status"], "exited");
        assert_eq!(v["State"]["ExitCode"], 0, "the trap's exit code");
        let finished = v["State"]["FinishedAt"].as_str().unwrap_or("");
        assert!(!finished.starts_with("0001"), "FinishedAt {finished:?}");
        assert!(d.stdout_log(&polite_id).contains("got-term"));

        // `sleep` as PID 1 ignores SIGTERM: -t 1 then SIGKILL, exit 137.
        let stubborn = c.name("stubborn");
        let since = unix_now();
        let id = run_detached(c, &stubborn, &["busybox", "sleep", "300"]);
        d.wait_running(&id);
        let started = Instant::now();
        let out = c.ok(&["stop", "-t", "1", &stubborn]);
        let took = started.elapsed();
        assert_eq!(out.trim(), stubborn);
        assert!(
            took >= Duration::from_millis(900),
            "stop -t 1 returned after {took:?}: it did not wait for the timeout"
        );
        let v = d.inspect(&id);
        assert_eq!(v["State"]["ExitCode"], 137, "{}", v["State"]);
        assert_eq!(v["State"]["Running"], false);
        wait_events_in_order(
            &d,
            &since,
            &id,
            &["create", "start", "kill", "kill", "die", "stop"],
        );
        let kills = event_attributes(&d, &since, &id, "kill");
        let signals: Vec<&str> = kills.iter().filter_map(|a| a["signal"].as_str()).collect();
        assert_eq!(signals, ["15", "9"], "kill events: {kills:?}");
        let die = event_attributes(&d, &since, &id, "die");
        assert_eq!(die[0]["exitCode"], "137", "die event: {die:?}");

        // --stop-signal and --stop-timeout come from the container's config; stop -s
        // overrides the signal.
        let custom = c.name("custom-stop");
        let custom_id = run_detached(
            c,
            &custom,
            &[
                "--stop-signal",
                "SIGUSR1",
                "--stop-timeout",
                "1",
                "busybox",
                "sh",
                "-c",
                "trap 'echo got-usr1; exit 0' USR1; echo ready; while true; do sleep 0.1; done",
            ],
        );
        wait_log(&d, &custom_id, "ready");
        let v = d.inspect(&custom_id);
        assert_eq!(v["Config"]["StopSignal"], "SIGUSR1");
        assert_eq!(v["Config"]["StopTimeout"], 1);
        c.ok(&["stop", &custom]);
        let v = d.wait_exited(&custom_id);
        assert_eq!(
            v["State"]["ExitCode"], 0,
            "the stop signal was USR1: {}",
            v["State"]
        );
        assert!(d.stdout_log(&custom_id).contains("got-usr1"));
        c.ok(&["start", &custom]);
        assert!(
            berth_tests::wait_for(SETTLE, || d.stdout_log(&custom_id).matches("ready").count()
                == 2),
            "the second run did not set its trap"
        );
        c.ok(&["stop", "-s", "KILL", &custom]);
        assert_eq!(d.wait_exited(&custom_id)["State"]["ExitCode"], 137);
        // --stop-timeout bounds the wait when stop has no -t.
        let slow = c.name("slow-stop");
        let slow_id = run_detached(
            c,
            &slow,
            &["--stop-timeout", "1", "busybox", "sleep", "300"],
        );
        d.wait_running(&slow_id);
        let started = Instant::now();
        c.ok(&["stop", &slow]);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(8),
            "--stop-timeout 1 then SIGKILL took {took:?} (docker's default would be 10 s)"
        );
        assert_eq!(d.inspect(&slow_id)["State"]["ExitCode"], 137);
        c.ok(&["rm", &custom, &slow]);

        // Stopping a stopped container is fine.
        c.ok(&["stop", &stubborn]);
        for id in [&polite_id, &id] {
            d.assert_no_traces(id);
        }
        c.ok(&["rm", &polite, &stubborn]);
    });
    d.assert_nothing_running();
}

#[test]
fn kill_sends_the_given_signal() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("killme");
        let since = unix_now();
        let id = run_detached(
            c,
            &name,
            &[
                "busybox",
                "sh",
                "-c",
                "trap 'echo got-usr1' USR1; echo ready; while true; do sleep 0.1; done",
            ],
        );
        wait_log(&d, &id, "ready");
        assert_eq!(c.ok(&["kill", "-s", "USR1", &name]).trim(), name);
        wait_log(&d, &id, "got-usr1");
        assert_eq!(
            d.inspect(&id)["State"]["Running"],
            true,
            "USR1 must not stop it"
        );
        assert_eq!(c.ok(&["kill", &name]).trim(), name);
        let v = d.wait_exited(&id);
        assert_eq!(v["State"]["ExitCode"], 137, "{}", v["State"]);
        let kills = event_attributes(&d, &since, &id, "kill");
        let signals: Vec<&str> = kills.iter().filter_map(|a| a["signal"].as_str()).collect();
        assert_eq!(signals, ["10", "9"], "kill events: {kills:?}");
        // Killing a stopped container is docker's 409.
        let out = c.run(&["kill", &name]);
        assert_ne!(out.code, 0, "kill of an exited container: {out:?}");
        assert!(out.stderr.contains("is not running"), "{out:?}");
        c.ok(&["rm", &name]);
        d.assert_removed(&id);
    });
}

#[test]
fn restart_runs_a_new_process() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("again");
        let since = unix_now();
        let id = run_detached(c, &name, &["busybox", "sleep", "300"]);
        let before = d.wait_running(&id);
        let old_pid = before["State"]["Pid"].as_i64().expect("Pid");
        assert_eq!(c.ok(&["restart", "-t", "1", &name]).trim(), name);
        let after = d.wait_running(&id);
        let new_pid = after["State"]["Pid"].as_i64().expect("Pid");
        assert_ne!(old_pid, new_pid, "restart kept the old process");
        assert!(
            !process_alive(old_pid),
            "the old process {old_pid} still runs"
        );
        assert!(process_alive(new_pid));
        assert!(
            after["State"]["StartedAt"].as_str() > before["State"]["StartedAt"].as_str(),
            "StartedAt did not move: {} then {}",
            before["State"]["StartedAt"],
            after["State"]["StartedAt"]
        );
        assert_eq!(after["RestartCount"], 0, "a manual restart is not counted");
        wait_events_in_order(
            &d,
            &since,
            &id,
            &["start", "kill", "die", "stop", "start", "restart"],
        );
        // Restart of a stopped container starts it.
        c.ok(&["stop", "-t", "0", &name]);
        c.ok(&["restart", &name]);
        d.wait_running(&id);
        c.ok(&["rm", "-f", &name]);
        d.assert_removed(&id);
    });
}

#[test]
fn rm_refuses_running_containers_and_removes_several() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let running = c.name("busy");
        let id = run_detached(c, &running, &["busybox", "sleep", "300"]);
        d.wait_running(&id);
        let out = c.run(&["rm", &running]);
        assert_eq!(out.code, 1, "rm of a running container: {out:?}");
        let message = format!(
            "cannot remove container \"/{running}\": container is running: stop the container before removing or force remove"
        );
        assert!(out.stderr.contains(&message), "{out:?}");
        let response = d.api("DELETE", &format!("/containers/{running}"), None);
        assert_eq!(response.status, 409, "{}", response.text());
        assert_eq!(response.json()["message"], message.as_str());
        assert_eq!(
            d.inspect(&id)["State"]["Running"],
            true,
            "the refusal stopped it"
        );
        c.ok(&["rm", "-f", &running]);
        d.assert_removed(&id);

        // Several at once, one of them unknown: the others go, the exit code is 1.
        let names: Vec<String> = ["one", "two", "three"].iter().map(|n| c.name(n)).collect();
        let mut ids = Vec::new();
        for name in &names {
            c.ok(&["run", "--name", name, "busybox", "true"]);
            ids.push(d.id_of(name));
        }
        let unknown = c.name("nosuchcontainer");
        let out = c.run(&["rm", &names[0], &unknown, &names[1], &names[2]]);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(lines(&out.stdout), names, "{out:?}");
        assert!(
            out.stderr
                .contains(&format!("No such container: {unknown}")),
            "{out:?}"
        );
        for id in &ids {
            d.assert_removed(id);
        }

        // rm $(ps -aq)
        for name in &names {
            c.ok(&["run", "--name", name, "busybox", "true"]);
        }
        let all = lines(&c.ok(&["ps", "-aq"]));
        assert_eq!(all.len(), 3, "ps -aq: {all:?}");
        assert!(all.iter().all(|id| is_hex(id, 12)), "ps -aq: {all:?}");
        let mut args = vec!["rm"];
        args.extend(all.iter().map(String::as_str));
        let removed = lines(&c.ok(&args));
        assert_eq!(removed, all, "rm prints each reference it removed");
        assert!(c.ok(&["ps", "-aq"]).trim().is_empty());
    });
    assert!(d.all_ids().is_empty());
    d.assert_nothing_running();
}

#[test]
fn wait_conditions_over_the_api() {
    let d = TestDaemon::start();
    let create = |cmd: &str| d.create(None, &json!({"Image": "busybox", "Cmd": ["sh", "-c", cmd]}));

    // not-running (the default) on a running container answers at its exit.
    let id = create("sleep 300");
    assert_eq!(d.post(&id, "start").status, 204);
    d.wait_running(&id);
    let waiting = OpenRequest::post(
        &d.socket,
        &format!("/containers/{id}/wait?condition=not-running"),
        false,
    );
    assert_eq!(waiting.status(), 200, "the head comes at once");
    assert_eq!(d.post(&id, "stop?t=0").status, 204);
    let answer = waiting.finish();
    assert_eq!(answer.json()["StatusCode"], 137, "{}", answer.text());

    // On a container that is not running it answers at once with the last code.
    let answer = d.post(&id, "wait");
    assert_eq!(answer.json()["StatusCode"], 137, "{}", answer.text());

    // next-exit waits for the next run, even of a container never started.
    let id = create("exit 5");
    let waiting = OpenRequest::post(
        &d.socket,
        &format!("/containers/{id}/wait?condition=next-exit"),
        false,
    );
    assert_eq!(waiting.status(), 200);
    assert_eq!(d.post(&id, "start").status, 204);
    let answer = waiting.finish();
    assert_eq!(answer.json()["StatusCode"], 5, "{}", answer.text());

    // removed answers when the container is gone.
    let waiting = OpenRequest::post(
        &d.socket,
        &format!("/containers/{id}/wait?condition=removed"),
        false,
    );
    assert_eq!(waiting.status(), 200);
    let response = d.api("DELETE", &format!("/containers/{id}"), None);
    assert_eq!(response.status, 204, "{}", response.text());
    let answer = waiting.finish();
    assert_eq!(answer.json()["StatusCode"], 5, "{}", answer.text());
    d.assert_removed(&id);

    // Bad condition, unknown container.
    let id = create("true");
    let response = d.post(&id, "wait?condition=sometime");
    assert_eq!(response.status, 400, "{}", response.text());
    let response = d.post("nosuchcontainer", "wait");
    assert_eq!(response.status, 404, "{}", response.text());
    assert_eq!(
        response.json()["message"],
        "No such container: nosuchcontainer"
    );

    // The CLI's wait prints the exit code.
    for_each_client(&d, |c| {
        let name = c.name("waited");
        run_detached(c, &name, &["busybox", "sh", "-c", "exit 9"]);
        assert_eq!(c.ok(&["wait", &name]).trim(), "9");
    });
}

#[test]
fn rename_keeps_the_container_and_frees_the_old_name() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let old = c.name("before");
        let new = c.name("after");
        let since = unix_now();
        let id = run_detached(c, &old, &["busybox", "sleep", "300"]);
        c.ok(&["rename", &old, &new]);
        let v = d.inspect(&new);
        assert_eq!(v["Id"], id.as_str());
        assert_eq!(v["Name"], format!("/{new}"));
        assert_eq!(v["State"]["Running"], true, "rename must not stop it");
        assert!(d.is_gone(&old), "the old name still resolves");
        let renames = event_attributes(&d, &since, &id, "rename");
        assert_eq!(renames.len(), 1, "rename events: {renames:?}");
        assert_eq!(renames[0]["name"], new.as_str());
        assert_eq!(renames[0]["oldName"], format!("/{old}"));
        // The old name is free again; the new one conflicts.
        let other = run_detached(c, &old, &["busybox", "sleep", "300"]);
        let out = c.run(&["rename", &old, &new]);
        assert_ne!(out.code, 0, "rename onto a used name: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("The container name \"/{new}\" is already in use")),
            "{out:?}"
        );
        c.ok(&["rm", "-f", &old, &new]);
        d.assert_removed(&id);
        d.assert_removed(&other);
    });
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("frozen");
        let since = unix_now();
        let id = run_detached(
            c,
            &name,
            &[
                "busybox",
                "sh",
                "-c",
                "while true; do echo tick; sleep 0.05; done",
            ],
        );
        wait_log(&d, &id, "tick");
        assert_eq!(c.ok(&["pause", &name]).trim(), name);
        let v = d.inspect(&id);
        assert_eq!(v["State"]["Paused"], true, "{}", v["State"]);
        assert_eq!(v["State"]["Status"], "paused");
        assert_eq!(
            v["State"]["Running"], true,
            "docker keeps Running true when paused"
        );
        assert_eq!(cgroup_file("freezer", &id, "freezer.state"), "FROZEN");
        let ps = c.ok(&["ps", "--filter", &format!("name={name}")]);
        assert!(ps.contains("(Paused)"), "ps of a paused container:\n{ps}");
        let filtered = c.ok(&["ps", "-q", "--filter", "status=paused"]);
        assert!(filtered.contains(&id[..12]), "status=paused: {filtered}");
        // Pausing twice is an error.
        let out = c.run(&["pause", &name]);
        assert_ne!(out.code, 0, "second pause: {out:?}");

        assert_eq!(c.ok(&["unpause", &name]).trim(), name);
        let v = d.inspect(&id);
        assert_eq!(v["State"]["Paused"], false, "{}", v["State"]);
        assert_eq!(v["State"]["Status"], "running");
        assert_eq!(cgroup_file("freezer", &id, "freezer.state"), "THAWED");
        // It runs on: new ticks arrive after the thaw.
        let count = d.stdout_log(&id).matches("tick").count();
        let mut now = count;
        assert!(
            berth_tests::wait_for(SETTLE, || {
                now = d.stdout_log(&id).matches("tick").count();
                now > count + 2
            }),
            "no output after unpause ({count} then {now})"
        );
        wait_events_in_order(&d, &since, &id, &["start", "pause", "unpause"]);

        // A paused container can be stopped.
        c.ok(&["pause", &name]);
        c.ok(&["stop", "-t", "1", &name]);
        let v = d.wait_exited(&id);
        assert_eq!(v["State"]["Paused"], false, "{}", v["State"]);
        c.ok(&["rm", &name]);
        d.assert_removed(&id);
    });
}

#[test]
fn names_conflict_and_generated_names() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("taken");
        let id = run_detached(c, &name, &["busybox", "sleep", "300"]);
        let out = c.run(&["run", "--name", &name, "busybox", "true"]);
        assert_eq!(out.code, 125, "{out:?}");
        let message = format!(
            "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
        );
        assert!(out.stderr.contains(&message), "{out:?}");
        let response = d.api(
            "POST",
            &format!("/containers/create?name={name}"),
            Some(&json!({"Image": "busybox"})),
        );
        assert_eq!(response.status, 409, "{}", response.text());
        assert_eq!(response.json()["message"], message.as_str());
        assert_eq!(d.all_ids().len(), 1, "the refused create left a container");

        // No name: a generated adjective_noun name, unique.
        let a = c.ok(&["create", "busybox", "true"]).trim().to_string();
        let b = c.ok(&["create", "busybox", "true"]).trim().to_string();
        let names: Vec<String> = [&a, &b]
            .iter()
            .map(|id| d.inspect(id)["Name"].as_str().unwrap_or("").to_string())
            .collect();
        for generated in &names {
            let bare = generated.strip_prefix('/').unwrap_or("");
            let (left, right) = bare.split_once('_').unwrap_or(("", ""));
            assert!(
                !left.is_empty()
                    && left.bytes().all(|b| b.is_ascii_lowercase())
                    && !right.is_empty()
                    && right
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "generated name {generated:?}"
            );
        }
        assert_ne!(names[0], names[1]);
        let created = d.inspect(&a);
        assert_eq!(created["State"]["Status"], "created");
        c.ok(&["rm", "-f", &name, &a, &b]);
        d.assert_removed(&id);
    });
}

#[test]
fn labels_and_ps_filters() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let blue = c.name("blue");
        let red = c.name("red");
        let plain = c.name("plain");
        run_detached(
            c,
            &blue,
            &[
                "-l",
                "team=blue",
                "--label",
                "tier=web",
                "busybox",
                "sleep",
                "300",
            ],
        );
        c.ok(&["run", "--name", &red, "-l", "team=red", "busybox", "true"]);
        c.expect_code(
            &["run", "--name", &plain, "busybox", "sh", "-c", "exit 2"],
            2,
        );
        let v = d.inspect(&blue);
        assert_eq!(
            v["Config"]["Labels"],
            json!({"team": "blue", "tier": "web"})
        );
        let label_file = d.dir.join(&format!("labels-{}", c.label()));
        std::fs::write(&label_file, "# comment\nfrom=file\nteam=green\n").expect("label file");
        let filed = c.name("filed");
        c.ok(&[
            "create",
            "--name",
            &filed,
            "--label-file",
            label_file.to_str().expect("path"),
            "busybox",
        ]);
        assert_eq!(
            d.inspect(&filed)["Config"]["Labels"],
            json!({"from": "file", "team": "green"})
        );
        c.ok(&["rm", &filed]);

        let names = |args: &[&str]| -> Vec<String> {
            let mut all = vec!["ps", "--format", "{{.Names}}"];
            all.extend_from_slice(args);
            let mut found = lines(&c.ok(&all));
            found.sort();
            found
        };
        assert_eq!(
            names(&[]),
            [blue.as_str()],
            "ps shows running containers only"
        );
        let mut everything = vec![blue.clone(), plain.clone(), red.clone()];
        everything.sort();
        assert_eq!(names(&["-a"]), everything);
        assert_eq!(
            names(&["-a", "--filter", "label=team=blue"]),
            [blue.as_str()]
        );
        let mut labelled = vec![blue.clone(), red.clone()];
        labelled.sort();
        assert_eq!(names(&["-a", "--filter", "label=team"]), labelled);
        let mut exited = vec![plain.clone(), red.clone()];
        exited.sort();
        assert_eq!(names(&["-a", "--filter", "status=exited"]), exited);
        assert_eq!(names(&["-a", "--filter", "exited=2"]), [plain.as_str()]);
        assert_eq!(
            names(&["-a", "--filter", &format!("name={red}")]),
            [red.as_str()]
        );
        assert_eq!(names(&["-a", "--filter", "ancestor=busybox"]), everything);
        assert_eq!(
            names(&[
                "-a",
                "--filter",
                "label=team=blue",
                "--filter",
                "status=exited"
            ]),
            Vec::<String>::new()
        );

        let quiet = lines(&c.ok(&["ps", "-aq"]));
        assert_eq!(quiet.len(), 3);
        assert!(quiet.iter().all(|id| is_hex(id, 12)), "{quiet:?}");
        let full = lines(&c.ok(&["ps", "-aq", "--no-trunc"]));
        assert!(full.iter().all(|id| is_hex(id, 64)), "{full:?}");
        let last = lines(&c.ok(&["ps", "-q", "-l"]));
        assert_eq!(last.len(), 1, "ps -l shows the latest container: {last:?}");
        assert_eq!(last[0], d.id_of(&plain)[..12]);
        // -n, id=, before= and since= (creation order: blue, red, plain).
        let newest_two = lines(&c.ok(&["ps", "-a", "-n", "2", "--format", "{{.Names}}"]));
        assert_eq!(
            newest_two,
            [plain.clone(), red.clone()],
            "ps -n 2, newest first"
        );
        let red_id = d.id_of(&red);
        assert_eq!(
            names(&["-a", "--filter", &format!("id={}", &red_id[..12])]),
            [red.as_str()]
        );
        assert_eq!(
            names(&["-a", "--filter", &format!("before={red}")]),
            [blue.as_str()]
        );
        assert_eq!(
            names(&["-a", "--filter", &format!("since={red}")]),
            [plain.as_str()]
        );
        let status = c.ok(&["ps", "-a", "--filter", &format!("name={plain}")]);
        assert!(status.contains("Exited (2)"), "{status}");
        c.ok(&["rm", "-f", &blue, &red, &plain]);
    });
    assert!(d.all_ids().is_empty());
}

#[test]
fn run_rm_removes_the_container_after_it_exits() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let since = unix_now();
        let name = c.name("gone");
        let out = c.expect_code(
            &["run", "--rm", "--name", &name, "busybox", "echo", "bye"],
            0,
        );
        assert_eq!(out.stdout, "bye\n");
        assert!(d.is_gone(&name), "--rm left {name}");
        let destroyed: Vec<String> = d
            .events_since(&since)
            .iter()
            .filter(|e| {
                e["Action"] == "destroy" && e["Actor"]["Attributes"]["name"] == name.as_str()
            })
            .filter_map(|e| e["Actor"]["ID"].as_str().map(str::to_string))
            .collect();
        assert_eq!(
            destroyed.len(),
            1,
            "destroy events for {name}: {destroyed:?}"
        );
        d.assert_removed(&destroyed[0]);

        // Detached: removed when the process ends by itself.
        let name = c.name("gone-detached");
        let id = run_detached(c, &name, &["--rm", "busybox", "sh", "-c", "exit 4"]);
        assert!(
            berth_tests::wait_for(SETTLE, || d.is_gone(&id)),
            "--rm -d container {id} not removed after its exit"
        );
        d.assert_removed(&id);

        // And when it is stopped.
        let name = c.name("gone-stopped");
        let id = run_detached(c, &name, &["--rm", "busybox", "sleep", "300"]);
        c.ok(&["stop", "-t", "0", &name]);
        assert!(berth_tests::wait_for(SETTLE, || d.is_gone(&id)));
        d.assert_removed(&id);
    });
    d.assert_nothing_running();
}

#[test]
fn create_then_start_attached() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("later");
        let id = c
            .ok(&["create", "--name", &name, "busybox", "echo", "started"])
            .trim()
            .to_string();
        assert!(is_hex(&id, 64), "create printed {id:?}");
        let v = d.inspect(&id);
        assert_eq!(v["State"]["Status"], "created");
        assert_eq!(v["State"]["Pid"], 0);
        assert!(
            d.traces_of(&id).is_empty(),
            "a created container has no mount, cgroup or shim yet: {:?}",
            d.traces_of(&id)
        );
        let out = c.ok(&["start", "-a", &name]);
        assert_eq!(out, "started\n");
        let v = d.wait_exited(&id);
        assert_eq!(v["State"]["ExitCode"], 0);
        // Started again, the log grows.
        c.ok(&["start", &name]);
        assert!(berth_tests::wait_for(SETTLE, || d
            .stdout_log(&id)
            .matches("started")
            .count()
            == 2));
        // The second run may still be finishing when its output is in the log.
        c.ok(&["wait", &name]);
        c.ok(&["rm", &name]);
        d.assert_removed(&id);
    });
}

#[test]
fn container_prune_removes_only_stopped_containers() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let running = c.name("keep");
        let stopped = c.name("drop");
        let keep = run_detached(c, &running, &["busybox", "sleep", "300"]);
        c.ok(&["run", "--name", &stopped, "busybox", "true"]);
        let dropped = d.id_of(&stopped);
        let out = c.ok(&["container", "prune", "-f"]);
        assert!(
            out.contains(&dropped),
            "prune output lacks {dropped}:\n{out}"
        );
        assert!(out.contains("Total reclaimed space"), "{out}");
        d.assert_removed(&dropped);
        assert_eq!(d.inspect(&keep)["State"]["Running"], true);
        c.ok(&["rm", "-f", &running]);
        d.assert_removed(&keep);
    });
}

#[test]
fn events_cover_the_whole_lifecycle() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let since = unix_now();
        let name = c.name("evented");
        let renamed = c.name("evented2");
        let id = run_detached(c, &name, &["busybox", "sleep", "300"]);
        c.ok(&["rename", &name, &renamed]);
        c.ok(&["pause", &renamed]);
        c.ok(&["unpause", &renamed]);
        c.ok(&["stop", "-t", "0", &renamed]);
        c.ok(&["start", &renamed]);
        c.ok(&["kill", "-s", "KILL", &renamed]);
        d.wait_exited(&id);
        c.ok(&["restart", "-t", "0", &renamed]);
        c.ok(&["rm", "-f", &renamed]);
        let expected = [
            "create", "start", "rename", "pause", "unpause", "kill", "die", "stop", "start",
            "kill", "die", "start", "restart", "kill", "die", "destroy",
        ];
        wait_events_in_order(&d, &since, &id, &expected);
        let events: Vec<Value> = d
            .events_since(&since)
            .into_iter()
            .filter(|e| e["Actor"]["ID"] == id.as_str())
            .collect();
        for e in &events {
            assert_eq!(e["Type"], "container", "{e}");
            assert_eq!(e["Actor"]["Attributes"]["image"], "busybox", "{e}");
            assert!(e["time"].as_i64().unwrap_or(0) > 0, "{e}");
            assert!(e["timeNano"].as_i64().unwrap_or(0) > 0, "{e}");
        }
        let dies: Vec<&str> = events
            .iter()
            .filter(|e| e["Action"] == "die")
            .filter_map(|e| e["Actor"]["Attributes"]["exitCode"].as_str())
            .collect();
        assert!(
            dies.len() >= 3 && dies.iter().all(|c| *c == "137"),
            "die exit codes: {dies:?}"
        );
        let last = events.last().expect("events");
        assert_eq!(last["Action"], "destroy");
        assert_eq!(last["Actor"]["Attributes"]["name"], renamed.as_str());
        d.assert_removed(&id);
    });
}
