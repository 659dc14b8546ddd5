//! `GET /events` and `berth events`: history with `since`/`until`, `filters`, and live
//! streaming (SIGHUP makes the daemon emit a `reload` event).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use berth_tests::{bin, docker_cli, output_with_deadline, unix_now, wait_for, Daemon};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(20);

fn events(daemon: &Daemon, query: &str) -> Vec<Value> {
    let response = daemon.get(&format!("/events?{query}"));
    assert_eq!(
        response.status,
        200,
        "/events?{query}: {}\n{}",
        response.text(),
        daemon.log()
    );
    let content_type = response.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "/events Content-Type {content_type:?}"
    );
    response
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("event line {l:?}: {e}")))
        .collect()
}

fn listeners(daemon: &Daemon) -> u64 {
    daemon.get("/info").json()["NEventsListener"]
        .as_u64()
        .unwrap_or(0)
}

/// Sends SIGHUP and waits until the resulting `reload` event is in the history; returns
/// the event.
fn reload(daemon: &Daemon) -> Value {
    let before = count_reloads(daemon);
    daemon.signal(libc::SIGHUP);
    let mut found = None;
    let ok = wait_for(DEADLINE, || {
        let all = history(daemon);
        let reloads: Vec<Value> = all
            .into_iter()
            .filter(|e| e["Type"] == "daemon" && e["Action"] == "reload")
            .collect();
        if reloads.len() > before {
            found = reloads.last().cloned();
            true
        } else {
            false
        }
    });
    assert!(ok, "no reload event after SIGHUP:\n{}", daemon.log());
    found.unwrap()
}

fn history(daemon: &Daemon) -> Vec<Value> {
    events(daemon, &format!("since=0&until={}", unix_now()))
}

fn count_reloads(daemon: &Daemon) -> usize {
    history(daemon)
        .iter()
        .filter(|e| e["Type"] == "daemon" && e["Action"] == "reload")
        .count()
}

fn encode(filters: &str) -> String {
    filters
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn since_until_replays_history_then_closes() {
    let daemon = Daemon::start();
    let event = reload(&daemon);
    let id = daemon.get("/info").json()["ID"].clone();
    assert_eq!(event["Type"], "daemon");
    assert_eq!(event["Action"], "reload");
    assert_eq!(event["Actor"]["ID"], id, "{event}");
    assert_eq!(event["scope"], "local", "{event}");
    assert!(event["time"].as_i64().unwrap_or(0) > 0, "{event}");
    let nanos = event["timeNano"].as_i64().unwrap_or(0);
    assert_eq!(
        nanos / 1_000_000_000,
        event["time"].as_i64().unwrap(),
        "{event}"
    );

    // `until` before the event excludes it; `since` after it too.
    let secs = event["time"].as_i64().unwrap();
    assert!(events(&daemon, &format!("since=0&until={}", secs - 1)).is_empty());
    assert!(events(&daemon, &format!("since={}&until={}", secs + 1, unix_now())).is_empty());
    // A window around the event contains it, in RFC 3339 form too.
    assert_eq!(
        events(&daemon, &format!("since={}&until={}", secs, unix_now())).len(),
        1
    );
    let rfc = |s: i64| chrono_like_rfc3339(s);
    assert_eq!(
        events(
            &daemon,
            &format!(
                "since={}&until={}",
                encode(&rfc(secs)),
                encode(&rfc(secs + 1))
            )
        )
        .len(),
        1,
        "RFC 3339 since/until"
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a unix time, without a date library.
fn chrono_like_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn filters_select_by_type_and_event() {
    let daemon = Daemon::start();
    reload(&daemon);
    let window = format!("since=0&until={}", unix_now());
    let with = |filters: &str| events(&daemon, &format!("{window}&filters={}", encode(filters)));
    let daemon_events = with(r#"{"type":["daemon"]}"#);
    assert_eq!(daemon_events.len(), 1, "type=daemon: {daemon_events:?}");
    assert_eq!(daemon_events[0]["Action"], "reload");
    assert!(
        with(r#"{"type":["container"]}"#).is_empty(),
        "type=container matched a daemon event"
    );
    assert_eq!(with(r#"{"event":["reload"]}"#).len(), 1, "event=reload");
    assert!(with(r#"{"event":["start"]}"#).is_empty(), "event=start");
    assert!(
        with(r#"{"type":["container"],"event":["reload"]}"#).is_empty(),
        "type AND event"
    );
    // The older map form of filters ({"type":{"daemon":true}}) is accepted as well.
    assert_eq!(
        with(r#"{"type":{"daemon":true}}"#).len(),
        1,
        "map-form filters"
    );
}

#[test]
fn live_stream_delivers_new_events() {
    let daemon = Daemon::start();
    let stream = UnixStream::connect(&daemon.socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    writer
        .write_all(b"GET /events?filters=%7B%22type%22%3A%5B%22daemon%22%5D%7D HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "events status: {status}");
    assert!(
        wait_for(DEADLINE, || listeners(&daemon) == 1),
        "listener not counted in /info"
    );

    daemon.signal(libc::SIGHUP);
    // Skip headers and chunk sizes; the event is one JSON line.
    let mut line = String::new();
    let found = loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break None,
            Ok(_) => {
                if let Ok(event) = serde_json::from_str::<Value>(line.trim()) {
                    break Some(event);
                }
            }
            Err(e) => panic!("no live event within {DEADLINE:?} ({e}):\n{}", daemon.log()),
        }
    };
    let event =
        found.unwrap_or_else(|| panic!("stream closed without an event:\n{}", daemon.log()));
    assert_eq!(event["Type"], "daemon", "{event}");
    assert_eq!(event["Action"], "reload", "{event}");

    // Closing the connection unregisters the listener.
    drop(reader);
    drop(writer);
    assert!(
        wait_for(DEADLINE, || listeners(&daemon) == 0),
        "listener not dropped after disconnect"
    );
}

#[test]
fn until_in_the_future_ends_the_stream() {
    let daemon = Daemon::start();
    let now: f64 = unix_now().parse().unwrap();
    let response = daemon.get(&format!("/events?since=0&until={:.3}", now + 1.0));
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn berth_events_streams_live_events() {
    let daemon = Daemon::start();
    let mut child = Command::new(bin("berth"))
        .args(["-H", &daemon.host(), "events", "--format", "{{json .}}"])
        .env_remove("DOCKER_HOST")
        .env_remove("BERTH_HOST")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start berth events");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until the stream is registered (or the child gave up early).
    wait_for(DEADLINE, || {
        listeners(&daemon) == 1 || child.try_wait().ok().flatten().is_some()
    });
    if listeners(&daemon) != 1 {
        let _ = child.kill();
        let status = child.wait();
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        panic!(
            "berth events never connected ({status:?}): {stderr}\n{}",
            daemon.log()
        );
    }
    daemon.signal(libc::SIGHUP);
    let mut got = None;
    let end = std::time::Instant::now() + DEADLINE;
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                if line.contains("reload") {
                    got = Some(line);
                    break;
                }
            }
            Err(_) => break,
        }
    }
    // Stop the child (ours, by PID) before asserting, so a failure leaves nothing behind.
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let line =
        got.unwrap_or_else(|| panic!("berth events printed no reload line:\n{}", daemon.log()));
    let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(event["Type"], "daemon", "{line}");
    assert_eq!(event["Action"], "reload", "{line}");
}

#[test]
fn berth_events_since_until_terminates_with_history() {
    let daemon = Daemon::start();
    let event = reload(&daemon);
    let id = event["Actor"]["ID"].as_str().unwrap().to_string();
    let mut command = Command::new(bin("berth"));
    command
        .args([
            "-H",
            &daemon.host(),
            "events",
            "--since",
            "0",
            "--until",
            &unix_now(),
        ])
        .env_remove("DOCKER_HOST")
        .env_remove("BERTH_HOST")
        .stdin(Stdio::null());
    let out = output_with_deadline(command, DEADLINE);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "berth events --since/--until did not end by itself ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("daemon reload {id}")),
        "default event line missing: {stdout:?}"
    );

    // --filter narrows the history the same way.
    let mut command = Command::new(bin("berth"));
    command
        .args([
            "-H",
            &daemon.host(),
            "events",
            "--since",
            "0",
            "--until",
            &unix_now(),
            "--filter",
            "type=container",
        ])
        .env_remove("DOCKER_HOST")
        .env_remove("BERTH_HOST")
        .stdin(Stdio::null());
    let out = output_with_deadline(command, DEADLINE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "type=container printed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn docker_cli_events_since_until() {
    let Some(docker) = docker_cli() else {
        eprintln!("note: no docker CLI on this machine; skipping docker events");
        return;
    };
    let daemon = Daemon::start();
    let event = reload(&daemon);
    let id = event["Actor"]["ID"].as_str().unwrap().to_string();
    let mut command = Command::new(docker);
    command
        .args([
            "-H",
            &daemon.host(),
            "events",
            "--since",
            "0",
            "--until",
            &unix_now(),
        ])
        .args(["--format", "{{.Type}} {{.Action}} {{.Actor.ID}}"])
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::null());
    let out = output_with_deadline(command, DEADLINE);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "docker events: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("daemon reload {id}")),
        "docker events output: {stdout:?}"
    );
}
