//! Container output end to end: `logs` (`-f` following until the container stops, `-t`,
//! `--tail`, `--since`/`--until`), stdout and stderr kept apart (CLI and the multiplexed
//! frames of the raw API, raw bytes with a TTY), the json-file log on disk, the hijacked
//! attach endpoint, `attach` to a running container, and `run -it` as an interactive shell
//! under a pseudo-terminal.

use std::process::Command;

use berth_tests::containers::{
    demux, for_each_client, stream_text, terminal_lines, OpenRequest, Pty, TestDaemon,
    COMMAND_DEADLINE, SETTLE,
};
use serde_json::{json, Value};

/// Waits until the container's stdout log shows `needle`.
fn wait_log(d: &TestDaemon, reference: &str, needle: &str) {
    let mut log = String::new();
    assert!(
        berth_tests::wait_for(SETTLE, || {
            log = d.stdout_log(reference);
            log.contains(needle)
        }),
        "{reference}: {needle:?} not in the log: {log:?}\n{}",
        d.log_tail()
    );
}

/// The numbers of `line N` lines.
fn line_numbers(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("line ")?.parse().ok())
        .collect()
}

#[test]
fn logs_follow_until_the_container_stops() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("chatty");
        c.ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done",
        ]);
        wait_log(&d, &name, "line 3");
        let follow = c.spawn(&["logs", "-f", &name]);
        // It shows the past, then keeps going with lines written after it started.
        let seen_before = line_numbers(&c.ok(&["logs", &name]))
            .into_iter()
            .max()
            .unwrap_or(0);
        follow.wait_stdout("followed lines", SETTLE, |out| {
            let numbers = line_numbers(out);
            numbers.first() == Some(&0) && numbers.iter().any(|n| *n > seen_before + 5)
        });
        let numbers = line_numbers(&follow.stdout());
        assert!(
            numbers.windows(2).all(|w| w[1] == w[0] + 1),
            "followed lines are complete and in order: {numbers:?}"
        );
        c.ok(&["stop", "-t", "1", &name]);
        let mut follow = follow;
        let status = follow.wait(SETTLE);
        assert!(
            status.is_some_and(|s| s.success()),
            "logs -f did not end with the container ({status:?}): {}",
            follow.stderr()
        );
        c.ok(&["rm", &name]);
    });
}

#[test]
fn logs_timestamps_tail_since_and_until() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("stamped");
        c.ok(&[
            "run",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "echo early; sleep 0.3; echo middle; sleep 0.3; echo 3; echo 4; echo 5",
        ]);
        assert_eq!(c.ok(&["logs", &name]), "early\nmiddle\n3\n4\n5\n");
        assert_eq!(c.ok(&["logs", "--tail", "2", &name]), "4\n5\n");
        assert_eq!(c.ok(&["logs", "--tail", "0", &name]), "");
        assert_eq!(c.ok(&["logs", "--tail", "all", &name]).lines().count(), 5);

        let stamped = c.ok(&["logs", "-t", &name]);
        let mut stamps = Vec::new();
        for line in stamped.lines() {
            let (stamp, text) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("no timestamp in {line:?}"));
            assert!(
                stamp.len() >= 20
                    && stamp.ends_with('Z')
                    && stamp.as_bytes()[4] == b'-'
                    && stamp.as_bytes()[10] == b'T',
                "timestamp {stamp:?} is not RFC 3339"
            );
            stamps.push((stamp.to_string(), text.to_string()));
        }
        let texts: Vec<&str> = stamps.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["early", "middle", "3", "4", "5"]);
        let early = &stamps[0].0;
        let middle = &stamps[1].0;
        assert!(early < middle, "timestamps {early} then {middle}");
        // --since takes the RFC 3339 time of a line and keeps it; --until keeps up to it.
        assert_eq!(
            c.ok(&["logs", "--since", middle, &name]),
            "middle\n3\n4\n5\n"
        );
        assert_eq!(c.ok(&["logs", "--until", early, &name]), "early\n");
        let out = c.ok(&["logs", "-t", "--tail", "1", &name]);
        assert!(
            out.ends_with(" 5\n") && out.lines().count() == 1,
            "-t --tail 1: {out:?}"
        );
        c.ok(&["rm", &name]);
    });
}

#[test]
fn stdout_and_stderr_stay_apart() {
    let d = TestDaemon::start();
    let script = "echo out1; echo err1 >&2; echo out2; echo err2 >&2";
    for_each_client(&d, |c| {
        // Through run (attached) and logs.
        let name = c.name("split");
        let out = c.ok(&["run", "--name", &name, "busybox", "sh", "-c", script]);
        assert_eq!(out, "out1\nout2\n");
        let out = c.run(&["logs", &name]);
        assert_eq!(out.stdout, "out1\nout2\n", "{out:?}");
        assert_eq!(out.stderr, "err1\nerr2\n", "{out:?}");
        c.ok(&["rm", &name]);
    });

    // The raw API: multiplexed frames tagged 1 (stdout) and 2 (stderr).
    let id = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["sh", "-c", script]}),
    );
    assert_eq!(d.post(&id, "start").status, 204);
    d.wait_exited(&id);
    let response = d.get(&format!("/containers/{id}/logs?stdout=1&stderr=1"));
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.docker.multiplexed-stream")
    );
    let frames = demux(&response.body);
    assert_eq!(stream_text(&frames, 1), "out1\nout2\n");
    assert_eq!(stream_text(&frames, 2), "err1\nerr2\n");
    assert!(frames.iter().all(|(s, _)| *s == 1 || *s == 2), "{frames:?}");
    let only_err = demux(&d.get(&format!("/containers/{id}/logs?stderr=1")).body);
    assert_eq!(stream_text(&only_err, 1), "");
    assert_eq!(stream_text(&only_err, 2), "err1\nerr2\n");

    // The json-file log on disk: one object per line, stream and RFC 3339 time.
    let log_path = d.inspect(&id)["LogPath"]
        .as_str()
        .expect("LogPath")
        .to_string();
    let entries: Vec<Value> = std::fs::read_to_string(&log_path)
        .expect("read the json-file log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l}: {e}")))
        .collect();
    let streams: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["stream"].as_str().unwrap_or(""),
                e["log"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let mut stdout: Vec<&str> = streams
        .iter()
        .filter(|(s, _)| *s == "stdout")
        .map(|e| e.1)
        .collect();
    let mut stderr: Vec<&str> = streams
        .iter()
        .filter(|(s, _)| *s == "stderr")
        .map(|e| e.1)
        .collect();
    stdout.sort();
    stderr.sort();
    assert_eq!(stdout, ["out1\n", "out2\n"], "{entries:?}");
    assert_eq!(stderr, ["err1\n", "err2\n"], "{entries:?}");
    assert!(
        entries.iter().all(|e| e["time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.contains('T'))),
        "{entries:?}"
    );

    // With a TTY there is one raw stream.
    let id = d.create(
        None,
        &json!({"Image": "busybox", "Tty": true, "Cmd": ["sh", "-c", "echo tty-out"]}),
    );
    assert_eq!(d.post(&id, "start").status, 204);
    d.wait_exited(&id);
    let response = d.get(&format!("/containers/{id}/logs?stdout=1&stderr=1"));
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.docker.raw-stream")
    );
    assert_eq!(response.text(), "tty-out\r\n", "raw TTY output");
}

#[test]
fn hijacked_attach_streams_frames_from_the_start() {
    let d = TestDaemon::start();
    let id = d.create(
        None,
        &json!({
            "Image": "busybox",
            "AttachStdout": true,
            "AttachStderr": true,
            "Cmd": ["sh", "-c", "echo first; echo oops >&2; echo last; exit 2"],
        }),
    );
    // docker run: attach first, then start, so nothing is missed.
    let attached = OpenRequest::post(
        &d.socket,
        &format!("/containers/{id}/attach?stream=1&stdout=1&stderr=1"),
        true,
    );
    assert_eq!(
        attached.status(),
        101,
        "attach answers 101 Switching Protocols"
    );
    let waiting = OpenRequest::post(
        &d.socket,
        &format!("/containers/{id}/wait?condition=next-exit"),
        false,
    );
    assert_eq!(d.post(&id, "start").status, 204);
    let frames = demux(&attached.finish_raw());
    assert_eq!(stream_text(&frames, 1), "first\nlast\n");
    assert_eq!(stream_text(&frames, 2), "oops\n");
    assert_eq!(waiting.finish().json()["StatusCode"], 2);

    // stdin through the hijacked connection.
    let id = d.create(
        None,
        &json!({
            "Image": "busybox",
            "OpenStdin": true,
            "StdinOnce": true,
            "AttachStdin": true,
            "AttachStdout": true,
            "Cmd": ["sh", "-c", "read x; echo got $x"],
        }),
    );
    let mut attached = OpenRequest::post(
        &d.socket,
        &format!("/containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1"),
        true,
    );
    assert_eq!(attached.status(), 101);
    assert_eq!(d.post(&id, "start").status, 204);
    use std::io::Write;
    attached
        .stream()
        .write_all(b"hello\n")
        .expect("write to the attach stream");
    let frames = demux(&attached.finish_raw());
    assert_eq!(stream_text(&frames, 1), "got hello\n");
    assert_eq!(d.wait_exited(&id)["State"]["ExitCode"], 0);

    // Unknown container.
    let response = d.post("nosuchcontainer", "attach?stream=1&stdout=1");
    assert_eq!(response.status, 404, "{}", response.text());
}

#[test]
fn attach_to_a_running_container() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        // stdin reaches the running process; attach exits with its code.
        let name = c.name("reader");
        let since = berth_tests::unix_now();
        c.ok(&[
            "run",
            "-d",
            "-i",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "read x; echo got $x; exit 4",
        ]);
        d.wait_running(&name);
        let out = c.run_with_stdin(&["attach", &name], Some(b"hello\n"));
        assert_eq!(
            out.code, 4,
            "attach returns the container's exit code: {out:?}"
        );
        assert_eq!(out.stdout, "got hello\n", "{out:?}");
        let id = d.id_of(&name);
        let actions = d.container_actions(&since, &id);
        assert!(
            actions.iter().any(|a| a == "attach"),
            "an attach event: {actions:?}"
        );
        c.ok(&["rm", &name]);

        // Output written after attaching arrives; attach ends when the container stops.
        let name = c.name("ticker");
        c.ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done",
        ]);
        wait_log(&d, &name, "tick 1");
        let mut attach = c.spawn(&["attach", "--no-stdin", &name]);
        attach.wait_stdout("ticks through attach", SETTLE, |out| {
            out.lines().filter(|l| l.starts_with("tick ")).count() >= 5
        });
        assert!(
            !attach.stdout().contains("tick 0\n"),
            "attach replays no history: {}",
            attach.stdout()
        );
        c.ok(&["kill", &name]);
        let status = attach.wait(SETTLE);
        assert!(status.is_some(), "attach did not end with the container");
        assert_eq!(status.and_then(|s| s.code()), Some(137));
        c.ok(&["rm", &name]);
    });
}

#[test]
fn run_it_is_an_interactive_shell() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("interactive");
        let mut command: Command = c.command(&["run", "-it", "--name", &name, "busybox", "sh"]);
        command.env("TERM", "xterm");
        let mut pty = Pty::spawn(command);
        pty.expect("/ # ", COMMAND_DEADLINE);
        pty.send("echo hi; exit 3\r");
        let status = pty.wait(COMMAND_DEADLINE);
        let output = pty.output();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(3),
            "exit code of run -it ({status:?}); terminal:\n{output}"
        );
        assert!(
            terminal_lines(&output).iter().any(|l| l == "hi"),
            "`hi` not printed on its own line:\n{output}"
        );
        let v = d.inspect(&name);
        assert_eq!(v["Config"]["Tty"], true);
        assert_eq!(v["Config"]["OpenStdin"], true);
        assert_eq!(v["State"]["ExitCode"], 3);
        // A resize reaches the container's terminal: its shell gets SIGWINCH.
        let watcher = c.name("winch");
        c.ok(&[
            "run",
            "-d",
            "-t",
            "--name",
            &watcher,
            "busybox",
            "sh",
            "-c",
            "trap 'echo winch' WINCH; echo ready; while true; do sleep 0.1; done",
        ]);
        wait_log(&d, &watcher, "ready");
        let response = d.post(&watcher, "resize?h=40&w=100");
        assert_eq!(response.status, 200, "{}", response.text());
        wait_log(&d, &watcher, "winch");
        c.ok(&["rm", "-f", &watcher]);
        let response = d.post("nosuchcontainer", "resize?h=40&w=100");
        assert_eq!(response.status, 404, "{}", response.text());
        c.ok(&["rm", &name]);
    });
}

#[test]
#[ignore = "berth CLI: ctrl-p ctrl-q under a pty reaches the container instead of detaching (the docker CLI against berthd detaches); open bug"]
fn detach_keys_leave_the_container_running() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        let name = c.name("detachable");
        let mut command = c.command(&["run", "-it", "--name", &name, "busybox", "sh"]);
        command.env("TERM", "xterm");
        let mut pty = Pty::spawn(command);
        pty.expect("/ # ", COMMAND_DEADLINE);
        // ctrl-p ctrl-q
        pty.send("\u{10}\u{11}");
        let status = pty.wait(SETTLE);
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "detaching ends the client with 0:\n{}",
            pty.output()
        );
        assert_eq!(
            d.inspect(&name)["State"]["Running"],
            true,
            "the container keeps running after a detach"
        );
        c.ok(&["rm", "-f", &name]);
    });
}

#[test]
fn json_file_rotation_and_the_none_driver() {
    let d = TestDaemon::start();
    for_each_client(&d, |c| {
        // 200 lines of 100 bytes through a 2 KB file kept 3 times: rotated, bounded.
        let name = c.name("rotated");
        c.ok(&[
            "run",
            "--name",
            &name,
            "--log-opt",
            "max-size=2k",
            "--log-opt",
            "max-file=3",
            "busybox",
            "sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do printf '%099d\\n' $i; i=$((i+1)); done",
        ]);
        let v = d.inspect(&name);
        assert_eq!(v["HostConfig"]["LogConfig"]["Type"], "json-file");
        assert_eq!(v["HostConfig"]["LogConfig"]["Config"]["max-size"], "2k");
        let log_path = std::path::PathBuf::from(v["LogPath"].as_str().expect("LogPath"));
        let dir = log_path.parent().expect("log folder");
        let base = log_path
            .file_name()
            .expect("log file name")
            .to_string_lossy()
            .into_owned();
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .expect("container folder")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&base))
            .map(|e| {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                (e.file_name().to_string_lossy().into_owned(), size)
            })
            .collect();
        files.sort();
        assert_eq!(
            files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
            [base.clone(), format!("{base}.1"), format!("{base}.2")],
            "the log and two rotated files: {files:?}"
        );
        for (file, size) in &files {
            assert!(
                *size <= 2048 + 512,
                "{file} is {size} bytes, over max-size 2k"
            );
        }
        // logs reads what is kept, the newest last, in order.
        let out = c.ok(&["logs", &name]);
        let kept: Vec<u64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
        assert_eq!(kept.last(), Some(&199), "the newest line is kept");
        assert!(
            kept.len() < 200,
            "old lines were rotated away: {} kept",
            kept.len()
        );
        assert!(
            kept.windows(2).all(|w| w[1] == w[0] + 1),
            "kept lines are contiguous: {kept:?}"
        );
        c.ok(&["rm", &name]);

        // --log-driver none: no file, and logs says so.
        let name = c.name("silent");
        let out = c.ok(&[
            "run",
            "--name",
            &name,
            "--log-driver",
            "none",
            "busybox",
            "echo",
            "unseen",
        ]);
        assert_eq!(out, "unseen\n", "attached output still arrives");
        let v = d.inspect(&name);
        assert_eq!(v["HostConfig"]["LogConfig"]["Type"], "none");
        let out = c.run(&["logs", &name]);
        assert_ne!(out.code, 0, "{out:?}");
        assert!(
            out.stderr
                .contains("configured logging driver does not support reading"),
            "{out:?}"
        );
        let id = d.id_of(&name);
        let folder = d.data_root().join("containers").join(&id);
        assert!(
            !folder.join(format!("{id}-json.log")).exists(),
            "--log-driver none wrote a json log"
        );
        c.ok(&["rm", &name]);
    });
}
