//! Refusals with docker's messages, statuses and exit codes, and nothing left behind (no
//! container record, overlay mount, cgroup or shim) after a failed create or start:
//! unknown image, unknown container, invalid restart policy, invalid memory and CPU
//! values, `--rm` with a restart policy, command not found (127), not executable (126),
//! a workdir that is a file, a user or group missing from the image, an invalid name,
//! start of a running container, rm of a running one without -f. Each CLI scenario runs
//! through the berth CLI (once it has `run`, else docker) and through the docker CLI when
//! one is installed; the API answers are checked on the wire.

use berth_tests::containers::{for_each_client, Client, Out, TestDaemon, SETTLE};
use serde_json::json;

/// Sorted entries of `<data-root>/containers`.
fn container_dirs(d: &TestDaemon) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(d.data_root().join("containers"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Asserts a refused create left nothing: no container, folder, mount or shim.
fn assert_create_left_nothing(d: &TestDaemon, before: &[String]) {
    let before = sorted(before.to_vec());
    assert_eq!(
        sorted(d.all_ids()),
        before,
        "a refused create left a container"
    );
    assert_eq!(container_dirs(d), before, "a refused create left a folder");
    d.assert_nothing_running();
}

/// Runs a command that must fail with `code`, mentioning `message` on stderr.
fn refused(c: &Client<'_>, args: &[&str], code: i32, message: &str) -> Out {
    let out = c.run(args);
    assert_eq!(out.code, code, "{} {args:?}: {out:?}", c.label());
    assert!(
        out.stderr.contains(message),
        "{} {args:?}: expected {message:?} on stderr: {out:?}",
        c.label()
    );
    out
}

/// `POST /containers/create` that must be refused with `status` and exactly `message`.
fn create_refused(d: &TestDaemon, body: serde_json::Value, status: u16, message: &str) {
    let before = d.all_ids();
    let response = d.api("POST", "/containers/create", Some(&body));
    assert_eq!(
        response.status,
        status,
        "create {body}: {}",
        response.text()
    );
    assert_eq!(response.json()["message"], message, "create {body}");
    assert_create_left_nothing(d, &before);
}

#[test]
fn unknown_image() {
    let d = TestDaemon::start();
    create_refused(
        &d,
        json!({"Image": "nosuchimage"}),
        404,
        "No such image: nosuchimage:latest",
    );
    create_refused(
        &d,
        json!({"Image": "nosuchimage:v2"}),
        404,
        "No such image: nosuchimage:v2",
    );
    for_each_client(&d, |c| {
        let before = d.all_ids();
        refused(
            c,
            &["run", "--pull", "never", "nosuchimage"],
            125,
            "No such image: nosuchimage:latest",
        );
        // Without --pull never the client tries to pull first, like docker: from a
        // registry on loopback that is not there (tests never reach further out).
        refused(
            c,
            &["run", "127.0.0.1:9/nosuchimage"],
            125,
            "Unable to find image '127.0.0.1:9/nosuchimage:latest' locally",
        );
        assert_create_left_nothing(&d, &before);
    });
}

#[test]
fn unknown_container() {
    let d = TestDaemon::start();
    let message = "No such container: nosuchcontainer";
    for (method, path) in [
        ("GET", "/containers/nosuchcontainer/json"),
        ("GET", "/containers/nosuchcontainer/logs?stdout=1"),
        ("POST", "/containers/nosuchcontainer/start"),
        ("POST", "/containers/nosuchcontainer/stop"),
        ("POST", "/containers/nosuchcontainer/restart"),
        ("POST", "/containers/nosuchcontainer/kill"),
        ("POST", "/containers/nosuchcontainer/pause"),
        ("POST", "/containers/nosuchcontainer/unpause"),
        ("POST", "/containers/nosuchcontainer/wait"),
        ("POST", "/containers/nosuchcontainer/rename?name=x"),
        ("POST", "/containers/nosuchcontainer/resize?h=1&w=1"),
        ("DELETE", "/containers/nosuchcontainer"),
    ] {
        let response = d.api(method, path, None);
        assert_eq!(response.status, 404, "{method} {path}: {}", response.text());
        assert_eq!(response.json()["message"], message, "{method} {path}");
    }
    for_each_client(&d, |c| {
        for args in [
            vec!["start", "nosuchcontainer"],
            vec!["stop", "nosuchcontainer"],
            vec!["kill", "nosuchcontainer"],
            vec!["restart", "nosuchcontainer"],
            vec!["rm", "nosuchcontainer"],
            vec!["logs", "nosuchcontainer"],
            vec!["wait", "nosuchcontainer"],
            vec!["pause", "nosuchcontainer"],
            vec!["attach", "nosuchcontainer"],
            vec!["rename", "nosuchcontainer", "other"],
            vec!["container", "inspect", "nosuchcontainer"],
        ] {
            refused(c, &args, 1, message);
        }
        // inspect without a type says "object".
        refused(
            c,
            &["inspect", "nosuchcontainer"],
            1,
            "No such object: nosuchcontainer",
        );
    });
}

#[test]
fn invalid_restart_policy() {
    let d = TestDaemon::start();
    create_refused(
        &d,
        json!({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "bogus"}}}),
        400,
        "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
    );
    create_refused(
        &d,
        json!({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}}),
        400,
        "invalid restart policy: maximum retry count can only be used with 'on-failure'",
    );
    for_each_client(&d, |c| {
        let before = d.all_ids();
        refused(
            c,
            &["run", "--restart", "bogus", "busybox", "true"],
            125,
            "invalid restart policy",
        );
        refused(
            c,
            &["run", "--restart", "always:3", "busybox", "true"],
            125,
            "maximum retry count can only be used with 'on-failure'",
        );
        assert_create_left_nothing(&d, &before);
    });
}

#[test]
fn invalid_memory_and_cpu_values() {
    let d = TestDaemon::start();
    create_refused(
        &d,
        json!({"Image": "busybox", "HostConfig": {"Memory": 1024}}),
        400,
        "Minimum memory limit allowed is 6MB",
    );
    create_refused(
        &d,
        json!({"Image": "busybox", "HostConfig": {"Memory": 67108864, "MemorySwap": 33554432}}),
        400,
        "Minimum memoryswap limit should be larger than memory limit, see usage",
    );
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let before = d.all_ids();
    let response = d.api(
        "POST",
        "/containers/create",
        Some(&json!({"Image": "busybox", "HostConfig": {"NanoCpus": 1000i64 * 1_000_000_000}})),
    );
    assert_eq!(response.status, 400, "--cpus 1000: {}", response.text());
    // moby's wording; older versions capitalise it.
    assert_eq!(
        response.json()["message"]
            .as_str()
            .unwrap_or("")
            .to_lowercase(),
        format!("range of cpus is from 0.01 to {cpus}.00, as there are only {cpus} cpus available")
    );
    assert_create_left_nothing(&d, &before);
    for_each_client(&d, |c| {
        let before = d.all_ids();
        refused(
            c,
            &["run", "-m", "1k", "busybox", "true"],
            125,
            "Minimum memory limit allowed is 6MB",
        );
        refused(c, &["run", "-m", "lots", "busybox", "true"], 125, "invalid");
        refused(
            c,
            &[
                "run",
                "-m",
                "64m",
                "--memory-swap",
                "32m",
                "busybox",
                "true",
            ],
            125,
            "Minimum memoryswap limit should be larger than memory limit",
        );
        refused(
            c,
            &["run", "--cpus", "1000", "busybox", "true"],
            125,
            "ange of CPUs is from 0.01",
        );
        assert_create_left_nothing(&d, &before);
    });
}

#[test]
fn rm_with_a_restart_policy() {
    let d = TestDaemon::start();
    create_refused(
        &d,
        json!({"Image": "busybox", "HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}}),
        400,
        "can't create 'AutoRemove' container with restart policy",
    );
    for_each_client(&d, |c| {
        let before = d.all_ids();
        refused(
            c,
            &["run", "--rm", "--restart", "always", "busybox", "true"],
            125,
            "conflicting options: cannot specify both --restart and --rm",
        );
        assert_create_left_nothing(&d, &before);
    });
}

#[test]
fn invalid_container_name() {
    let d = TestDaemon::start();
    let before = d.all_ids();
    let response = d.api(
        "POST",
        "/containers/create?name=bad%20name!",
        Some(&json!({"Image": "busybox"})),
    );
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(
        response.json()["message"],
        "Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    );
    assert_create_left_nothing(&d, &before);
    for_each_client(&d, |c| {
        refused(
            c,
            &["run", "--name", "bad name!", "busybox", "true"],
            125,
            "Invalid container name (bad name!)",
        );
        assert_create_left_nothing(&d, &before);
    });
}

/// The ID of the one container the daemon has that `before` lacks.
fn new_container(d: &TestDaemon, before: &[String]) -> String {
    let new: Vec<String> = d
        .all_ids()
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(new.len(), 1, "expected one new container: {new:?}");
    new[0].clone()
}

#[test]
fn command_not_found_is_127() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let before = d.all_ids();
        refused(
            c,
            &["run", "busybox", "nosuchcommand"],
            127,
            "exec: \"nosuchcommand\": executable file not found in $PATH",
        );
        let id = new_container(&d, &before);
        let v = d.inspect(&id);
        assert_eq!(v["State"]["ExitCode"], 127, "{}", v["State"]);
        assert_eq!(v["State"]["Running"], false);
        assert!(
            v["State"]["Error"]
                .as_str()
                .is_some_and(|e| e.contains("executable file not found")),
            "State.Error: {}",
            v["State"]["Error"]
        );
        d.assert_no_traces(&id);
        // --rm: the container that could not start is removed too.
        let out = c.run(&["run", "--rm", "busybox", "/no/such/binary"]);
        assert_eq!(out.code, 127, "{out:?}");
        let mut left = Vec::new();
        assert!(
            berth_tests::wait_for(SETTLE, || {
                left = d.all_ids();
                left.len() == before.len() + 1
            }),
            "run --rm of a missing command left a container: {left:?}"
        );
        // docker: exec: "/no/such/binary": stat /no/such/binary: no such file or directory
        assert!(
            out.stderr.contains("no such file or directory"),
            "an absolute path that does not exist: {out:?}"
        );
        c.ok(&["rm", &id]);
        d.assert_removed(&id);
    });
    d.assert_nothing_running();
}

#[test]
fn not_executable_is_126() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let before = d.all_ids();
        refused(
            c,
            &["run", "busybox", "/etc/passwd"],
            126,
            "permission denied",
        );
        let id = new_container(&d, &before);
        assert_eq!(d.inspect(&id)["State"]["ExitCode"], 126);
        d.assert_no_traces(&id);
        c.ok(&["rm", &id]);
        let out = c.run(&["run", "--rm", "busybox", "/tmp"]);
        assert_eq!(out.code, 126, "running a directory: {out:?}");
        assert_eq!(d.all_ids(), before, "--rm left a container");
    });
    d.assert_nothing_running();
}

#[test]
fn workdir_that_is_a_file() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let before = d.all_ids();
        let out = refused(
            c,
            &["run", "-w", "/etc/passwd", "busybox", "true"],
            125,
            "not a directory",
        );
        assert!(
            out.stderr.contains("/etc/passwd"),
            "the message names the path: {out:?}"
        );
        // docker refuses at create; a container left over must at least hold nothing.
        for id in d.all_ids().into_iter().filter(|id| !before.contains(id)) {
            d.assert_no_traces(&id);
            c.ok(&["rm", &id]);
        }
    });
    d.assert_nothing_running();
}

#[test]
fn user_or_group_missing_from_the_image() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let before = d.all_ids();
        refused(
            c,
            &["run", "-u", "nosuchuser", "busybox", "true"],
            125,
            "unable to find user nosuchuser: no matching entries in passwd file",
        );
        refused(
            c,
            &["run", "-u", "root:nosuchgroup", "busybox", "true"],
            125,
            "unable to find group nosuchgroup: no matching entries in group file",
        );
        for id in d.all_ids().into_iter().filter(|id| !before.contains(id)) {
            let v = d.inspect(&id);
            assert_eq!(v["State"]["Running"], false, "{}", v["State"]);
            d.assert_no_traces(&id);
            c.ok(&["rm", &id]);
        }
        // With --rm nothing stays.
        refused(
            c,
            &["run", "--rm", "-u", "nosuchuser", "busybox", "true"],
            125,
            "unable to find user nosuchuser",
        );
        let mut left = Vec::new();
        assert!(
            berth_tests::wait_for(SETTLE, || {
                left = d.all_ids();
                left == before
            }),
            "run --rm with a missing user left {left:?}"
        );
    });
    d.assert_nothing_running();
}

#[test]
fn start_of_a_running_container() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("already");
        let id = c
            .ok(&["run", "-d", "--name", &name, "busybox", "sleep", "300"])
            .trim()
            .to_string();
        let pid = d.wait_running(&id)["State"]["Pid"].clone();
        let response = d.post(&id, "start");
        assert_eq!(response.status, 304, "{}", response.text());
        assert!(
            response.body.is_empty(),
            "a 304 has no body: {}",
            response.text()
        );
        // docker's CLI sees no error: exit 0.
        let out = c.run(&["start", &name]);
        assert_eq!(out.code, 0, "{out:?}");
        let v = d.inspect(&id);
        assert_eq!(v["State"]["Pid"], pid, "the running process was left alone");
        assert_eq!(v["State"]["Running"], true);
        // Stopping a stopped container is 304 as well.
        c.ok(&["stop", "-t", "0", &name]);
        let response = d.post(&id, "stop");
        assert_eq!(response.status, 304, "{}", response.text());
        c.ok(&["rm", &name]);
        d.assert_removed(&id);
    });
}

#[test]
fn rm_of_a_running_container_without_force() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("running");
        let id = c
            .ok(&["run", "-d", "--name", &name, "busybox", "sleep", "300"])
            .trim()
            .to_string();
        d.wait_running(&id);
        refused(
            c,
            &["rm", &name],
            1,
            &format!("cannot remove container \"/{name}\": container is running: stop the container before removing or force remove"),
        );
        let response = d.api("DELETE", &format!("/containers/{id}"), None);
        assert_eq!(response.status, 409, "{}", response.text());
        assert_eq!(d.inspect(&id)["State"]["Running"], true);
        c.ok(&["rm", "-f", &name]);
        d.assert_removed(&id);
    });
}
