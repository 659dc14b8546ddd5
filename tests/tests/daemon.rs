//! berthd as a process: its flags, `daemon.json`, SIGHUP reload, SIGTERM/SIGINT shutdown,
//! one daemon per data root, and stale sockets/pidfiles left by a crash.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Output;
use std::time::Duration;

use berth_tests::{berthd_output, unix_now, wait_for, Daemon, DaemonOptions, TempDir};
use serde_json::Value;

/// How long a refusing daemon may take to exit.
const REFUSE_DEADLINE: Duration = Duration::from_secs(20);
/// How long a signal may take to have its effect.
const SIGNAL_DEADLINE: Duration = Duration::from_secs(20);

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Flags for a daemon in `dir` that is not meant to get far: own roots, socket and pidfile.
fn private_args(dir: &TempDir) -> Vec<String> {
    vec![
        "--data-root".into(),
        dir.join("data").display().to_string(),
        "--exec-root".into(),
        dir.join("run").display().to_string(),
        "--pidfile".into(),
        dir.join("berthd.pid").display().to_string(),
        "-H".into(),
        format!("unix://{}", dir.join("berth.sock").display()),
        // Never the production bridge or chains (see the harness's base flags).
        "--bridge".into(),
        "none".into(),
        "--firewall-chain-prefix".into(),
        berth_tests::test_chain_prefix(),
    ]
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs a daemon that must refuse to start; returns its output.
fn refused(extra: Vec<String>, config_json: Option<&str>) -> (Output, TempDir) {
    let dir = TempDir::new("berth-refuse");
    let mut argv = private_args(&dir);
    if let Some(json) = config_json {
        let path = dir.join("daemon.json");
        std::fs::write(&path, json).unwrap();
        argv.push("--config-file".into());
        argv.push(path.display().to_string());
    }
    argv.extend(extra);
    let out = berthd_output(&argv, REFUSE_DEADLINE);
    assert!(
        !out.status.success() && out.status.code().is_some(),
        "berthd {argv:?} should have refused to start:\n{}",
        text(&out)
    );
    assert!(
        !dir.join("berth.sock").exists(),
        "a refusing daemon left its socket behind"
    );
    (out, dir)
}

fn info(daemon: &Daemon) -> Value {
    let response = daemon.get("/info");
    assert_eq!(
        response.status,
        200,
        "/info: {}\n{}",
        response.text(),
        daemon.log()
    );
    response.json()
}

fn events_history(daemon: &Daemon, query: &str) -> Vec<Value> {
    let now = unix_now();
    let response = daemon.get(&format!("/events?since=0&until={now}{query}"));
    assert_eq!(response.status, 200, "/events: {}", response.text());
    response
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("event line {l:?}: {e}")))
        .collect()
}

fn reload_events(daemon: &Daemon) -> usize {
    events_history(daemon, "")
        .iter()
        .filter(|e| e["Type"] == "daemon" && e["Action"] == "reload")
        .count()
}

#[test]
fn help_lists_the_dockerd_flags() {
    let out = berthd_output(&args(&["--help"]), REFUSE_DEADLINE);
    assert!(out.status.success(), "berthd --help: {}", text(&out));
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "-H",
        "--host",
        "--data-root",
        "--exec-root",
        "--pidfile",
        "-D",
        "--debug",
        "--log-level",
        "--config-file",
        "--tls",
        "--tlsverify",
        "--tlscacert",
        "--tlscert",
        "--tlskey",
        "--group",
    ] {
        assert!(
            help.split(|c: char| c.is_whitespace() || c == ',')
                .any(|w| w == flag),
            "berthd --help does not list {flag}:\n{help}"
        );
    }
}

#[test]
fn unknown_flag_is_refused() {
    let (out, _dir) = refused(args(&["--no-such-flag"]), None);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"),
        "{}",
        text(&out)
    );
}

#[test]
fn roots_pidfile_and_several_hosts() {
    let extra = TempDir::new("berth-extra-sock");
    let second_socket = extra.join("second.sock");
    let daemon = Daemon::start_with(DaemonOptions {
        args: vec!["-H".into(), format!("unix://{}", second_socket.display())],
        tcp: true,
        ..Default::default()
    });
    // Every -H answers, and they are one daemon.
    let id = info(&daemon)["ID"].clone();
    let second = berth_tests::http::unix_request(
        &second_socket,
        "GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(second.json()["ID"], id, "second unix socket");
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", daemon.tcp_port.unwrap())).unwrap();
    std::io::Write::write_all(&mut tcp, b"GET /_ping HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).unwrap();
    assert!(
        String::from_utf8_lossy(&raw).ends_with("OK"),
        "tcp ping: {raw:?}"
    );

    // --pidfile holds the daemon's PID; --data-root and --exec-root are created and used.
    let pid = std::fs::read_to_string(&daemon.pidfile).expect("pidfile");
    assert_eq!(pid.trim(), daemon.pid().to_string(), "pidfile content");
    assert!(daemon.data_root().is_dir(), "data root not created");
    assert!(daemon.dir.join("run").is_dir(), "exec root not created");
    assert!(
        std::fs::read_dir(daemon.data_root())
            .unwrap()
            .next()
            .is_some(),
        "nothing written to the data root"
    );

    // The unix socket is not world-accessible.
    let mode = std::fs::metadata(&daemon.socket)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode & 0o007, 0, "socket mode {mode:o} is open to others");
}

#[test]
fn group_flag_sets_socket_group_and_mode() {
    let daemon = Daemon::start_with(DaemonOptions {
        args: args(&["--group", "root"]),
        ..Default::default()
    });
    let meta = std::fs::metadata(&daemon.socket).unwrap();
    assert_eq!(meta.gid(), 0, "socket group");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "socket mode");

    let (out, _dir) = refused(args(&["--group", "no-such-group-berth-test"]), None);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-group-berth-test"),
        "{}",
        text(&out)
    );
}

#[test]
fn debug_flag_and_log_level() {
    let daemon = Daemon::start_with(DaemonOptions {
        args: args(&["-D"]),
        ..Default::default()
    });
    assert_eq!(info(&daemon)["Debug"], true, "-D not reflected in /info");
    drop(daemon);

    // At level error, the info lines of a normal start are not logged.
    let quiet = Daemon::start_with(DaemonOptions {
        args: args(&["--log-level", "error"]),
        ..Default::default()
    });
    let normal = Daemon::start();
    assert!(
        normal.log().contains("API listening on"),
        "an info-level daemon does not log its listeners:\n{}",
        normal.log()
    );
    assert!(
        !quiet.log().contains("API listening on"),
        "--log-level error still logs info lines:\n{}",
        quiet.log()
    );

    let (out, _dir) = refused(args(&["--log-level", "chatty"]), None);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chatty"),
        "bad log level message: {}",
        text(&out)
    );
}

#[test]
fn daemon_json_values_apply() {
    let daemon = Daemon::start_with(DaemonOptions {
        config_json: Some(r#"{"debug": true, "labels": ["tier=test", "owner=berth"]}"#.into()),
        ..Default::default()
    });
    let info = info(&daemon);
    assert_eq!(info["Debug"], true, "debug from daemon.json: {info}");
    assert_eq!(
        info["Labels"],
        serde_json::json!(["tier=test", "owner=berth"]),
        "labels from daemon.json"
    );
}

#[test]
fn daemon_json_data_root_and_hosts_apply_without_flags() {
    let daemon = Daemon::start_custom(None, |d| {
        let json = serde_json::json!({
            "data-root": d.dir.join("data").display().to_string(),
            "exec-root": d.dir.join("run").display().to_string(),
            "pidfile": d.pidfile.display().to_string(),
            "hosts": [format!("unix://{}", d.socket.display())],
        });
        std::fs::write(&d.config_file, json.to_string()).unwrap();
        vec!["--config-file".into(), d.config_file.display().to_string()]
    });
    assert_eq!(
        info(&daemon)["DockerRootDir"].as_str(),
        Some(daemon.data_root().to_str().unwrap())
    );
    assert!(
        daemon.pidfile.exists(),
        "pidfile from daemon.json not written"
    );
}

#[test]
fn daemon_json_unknown_key_is_refused() {
    let (out, _dir) = refused(Vec::new(), Some(r#"{"debug": false, "no-such-option": 1}"#));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("don't match any configuration option: no-such-option"),
        "{}",
        text(&out)
    );
}

#[test]
fn daemon_json_key_also_given_as_flag_is_refused() {
    let (out, _dir) = refused(args(&["--debug"]), Some(r#"{"debug": true}"#));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("specified both as a flag and in the configuration file")
            && stderr.contains("debug"),
        "{}",
        text(&out)
    );
    // -H is repeatable, and "hosts" in the file conflicts with it too.
    let (out, _dir) = refused(
        Vec::new(),
        Some(r#"{"hosts": ["unix:///tmp/berth-never.sock"]}"#),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("specified both as a flag and in the configuration file")
            && stderr.contains("hosts"),
        "{}",
        text(&out)
    );
}

#[test]
fn daemon_json_invalid_json_or_missing_file_is_refused() {
    let (out, _dir) = refused(Vec::new(), Some("{not json"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("daemon.json"),
        "{}",
        text(&out)
    );
    let (out, _dir) = refused(
        args(&["--config-file", "/nonexistent/berth/daemon.json"]),
        None,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/berth/daemon.json"),
        "{}",
        text(&out)
    );
}

#[test]
fn sighup_reloads_debug_labels_and_log_level() {
    let daemon = Daemon::start();
    assert_eq!(info(&daemon)["Labels"], serde_json::json!([]));
    assert_eq!(info(&daemon)["Debug"], false);

    std::fs::write(
        &daemon.config_file,
        r#"{"debug": true, "labels": ["tier=test", "owner=berth"]}"#,
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    let reloaded = wait_for(SIGNAL_DEADLINE, || {
        let info = info(&daemon);
        info["Labels"] == serde_json::json!(["tier=test", "owner=berth"]) && info["Debug"] == true
    });
    assert!(
        reloaded,
        "SIGHUP did not reload labels/debug: {}\n{}",
        info(&daemon),
        daemon.log()
    );
    let events = events_history(&daemon, "");
    let reload = events
        .iter()
        .find(|e| e["Type"] == "daemon" && e["Action"] == "reload")
        .unwrap_or_else(|| panic!("no daemon reload event: {events:?}"));
    assert_eq!(
        reload["Actor"]["ID"],
        info(&daemon)["ID"],
        "reload event actor"
    );
    assert_eq!(reload["scope"], "local");

    // log-level: at "error", the next reload no longer logs its info line, yet happens.
    let logged = |d: &Daemon| d.log().matches("configuration reloaded").count();
    assert_eq!(logged(&daemon), 1, "{}", daemon.log());
    // dockerd changes only the keys the file sets, so debug is switched off explicitly.
    std::fs::write(
        &daemon.config_file,
        r#"{"debug": false, "log-level": "error", "labels": ["tier=quiet"]}"#,
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    assert!(
        wait_for(SIGNAL_DEADLINE, || info(&daemon)["Labels"]
            == serde_json::json!(["tier=quiet"])),
        "second reload not applied"
    );
    assert_eq!(
        info(&daemon)["Debug"],
        false,
        "debug not switched back off by reload"
    );
    assert_eq!(reload_events(&daemon), 2, "second reload event");
    std::fs::write(
        &daemon.config_file,
        r#"{"debug": false, "log-level": "error", "labels": ["tier=quieter"]}"#,
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    assert!(
        wait_for(SIGNAL_DEADLINE, || reload_events(&daemon) == 3),
        "third reload"
    );
    assert_eq!(
        logged(&daemon),
        1,
        "after reloading log-level=error, info lines are still logged:\n{}",
        daemon.log()
    );
}

#[test]
fn sighup_with_a_bad_file_keeps_the_running_configuration() {
    let daemon = Daemon::start_with(DaemonOptions {
        config_json: Some(r#"{"labels": ["keep=me"]}"#.into()),
        ..Default::default()
    });
    for bad in ["{broken", r#"{"labels": ["x=y"], "no-such-option": true}"#] {
        std::fs::write(&daemon.config_file, bad).unwrap();
        let before = daemon.log().len();
        daemon.signal(libc::SIGHUP);
        assert!(
            wait_for(SIGNAL_DEADLINE, || daemon.log().len() > before),
            "a failed reload logs nothing:\n{}",
            daemon.log()
        );
        assert_eq!(
            info(&daemon)["Labels"],
            serde_json::json!(["keep=me"]),
            "a bad file changed the labels ({bad})"
        );
    }
    assert_eq!(
        reload_events(&daemon),
        0,
        "a failed reload emitted a reload event"
    );
}

fn assert_clean_exit(daemon: &mut Daemon, signal: i32) {
    let socket = daemon.socket.clone();
    let pidfile = daemon.pidfile.clone();
    assert!(
        socket.exists() && pidfile.exists(),
        "socket/pidfile missing while running"
    );
    daemon.signal(signal);
    let status = daemon.wait_exit(SIGNAL_DEADLINE);
    let status = status
        .unwrap_or_else(|| panic!("berthd still runs after signal {signal}:\n{}", daemon.log()));
    assert_eq!(
        status.code(),
        Some(0),
        "exit after signal {signal}:\n{}",
        daemon.log()
    );
    assert!(!socket.exists(), "socket left behind after signal {signal}");
    assert!(
        !pidfile.exists(),
        "pidfile left behind after signal {signal}"
    );
}

#[test]
fn sigterm_exits_zero_and_removes_socket_and_pidfile() {
    let mut daemon = Daemon::start_with(DaemonOptions {
        tcp: true,
        ..Default::default()
    });
    assert_clean_exit(&mut daemon, libc::SIGTERM);
    let port = daemon.tcp_port.unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "TCP port still accepts after exit"
    );
}

#[test]
fn sigint_exits_zero_and_removes_socket_and_pidfile() {
    let mut daemon = Daemon::start();
    assert_clean_exit(&mut daemon, libc::SIGINT);
}

#[test]
fn sigterm_ends_open_event_streams() {
    let mut daemon = Daemon::start();
    let mut stream = UnixStream::connect(&daemon.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::io::Write::write_all(&mut stream, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert!(
        wait_for(SIGNAL_DEADLINE, || info(&daemon)["NEventsListener"]
            .as_u64()
            == Some(1)),
        "events listener not registered"
    );
    assert_clean_exit(&mut daemon, libc::SIGTERM);
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("the events stream was not closed when the daemon stopped");
}

#[test]
fn second_daemon_on_the_same_data_root_is_refused() {
    let daemon = Daemon::start();
    let dir = TempDir::new("berth-second");
    let mut argv = private_args(&dir);
    argv[1] = daemon.data_root().display().to_string();
    let out = berthd_output(&argv, REFUSE_DEADLINE);
    assert!(
        !out.status.success(),
        "second daemon started: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already running"),
        "unclear refusal: {}",
        text(&out)
    );
    assert!(
        !dir.join("berth.sock").exists(),
        "the refused daemon bound its socket"
    );
    // The first one is untouched.
    assert_eq!(daemon.get("/_ping").status, 200);
    assert!(daemon.pidfile.exists() && daemon.socket.exists());
    let pid = std::fs::read_to_string(&daemon.pidfile).unwrap();
    assert_eq!(pid.trim(), daemon.pid().to_string(), "pidfile overwritten");
}

#[test]
fn second_daemon_on_a_live_socket_is_refused() {
    let daemon = Daemon::start();
    let dir = TempDir::new("berth-second");
    let mut argv = private_args(&dir);
    argv[7] = format!("unix://{}", daemon.socket.display());
    let out = berthd_output(&argv, REFUSE_DEADLINE);
    assert!(
        !out.status.success(),
        "second daemon started on a live socket: {}",
        text(&out)
    );
    assert!(
        daemon.socket.exists(),
        "the refused daemon removed the live socket"
    );
    assert_eq!(
        daemon.get("/_ping").status,
        200,
        "first daemon no longer answers"
    );
}

#[test]
fn stale_socket_and_pidfile_are_replaced() {
    let daemon = Daemon::start_custom(Some("{}"), |d| {
        // A socket file nobody listens on, as a crashed daemon leaves it.
        drop(UnixListener::bind(&d.socket).unwrap());
        assert!(d.socket.exists());
        assert!(UnixStream::connect(&d.socket).is_err());
        // A pidfile naming a process that no longer exists.
        std::fs::write(&d.pidfile, "999999999").unwrap();
        d.base_args()
    });
    assert_eq!(daemon.get("/_ping").status, 200);
    let pid = std::fs::read_to_string(&daemon.pidfile).unwrap();
    assert_eq!(
        pid.trim(),
        daemon.pid().to_string(),
        "stale pidfile not rewritten"
    );
}
