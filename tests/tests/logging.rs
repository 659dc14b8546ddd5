//! Logging drivers end to end: `--log-driver syslog` to a UDP listener the test starts
//! (priorities, tag, one message per line), docker's check of `syslog-address`, the
//! daemon's default driver and options from daemon.json, `logs` refusing a driver it
//! cannot read, and json-file rotation (`max-size`, `max-file`). Only 127.0.0.1 traffic.

use std::net::UdpSocket;
use std::process::Output;
use std::time::{Duration, Instant};

use berth_tests::containers::TestDaemon;

/// A syslog receiver on 127.0.0.1:<free port>.
struct Listener {
    socket: UdpSocket,
    port: u16,
}

impl Listener {
    fn start() -> Listener {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP listener");
        let port = socket.local_addr().expect("local address").port();
        Listener { socket, port }
    }

    fn address(&self) -> String {
        format!("udp://127.0.0.1:{}", self.port)
    }

    /// Receives `count` messages (or fewer when 10 s pass).
    fn receive(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 70_000];
        while got.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.socket
                .set_read_timeout(Some(left))
                .expect("read timeout");
            match self.socket.recv(&mut buf) {
                Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(_) => break,
            }
        }
        got
    }

    /// Whatever else arrives within a short while.
    fn rest(&self) -> Vec<String> {
        self.socket
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("read timeout");
        let mut got = Vec::new();
        let mut buf = vec![0u8; 70_000];
        while let Ok(n) = self.socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    }
}

/// A message in docker's default format, `<PRI>Mon _2 15:04:05 TAG[PID]: TEXT\n`, split
/// into (priority, tag, text).
fn parse_message(message: &str) -> (u32, String, String) {
    fn bad<T>(message: &str) -> T {
        panic!("not a docker-style syslog message: {message:?}")
    }
    let rest = message.strip_prefix('<').unwrap_or_else(|| bad(message));
    let (priority, rest) = rest.split_once('>').unwrap_or_else(|| bad(message));
    let priority: u32 = priority.parse().unwrap_or_else(|_| bad(message));
    // "Jan _2 15:04:05 " is 16 characters.
    let stamp = rest.get(..16).unwrap_or_else(|| bad(message));
    let b = stamp.as_bytes();
    assert!(
        b[3] == b' ' && b[6] == b' ' && b[9] == b':' && b[12] == b':' && b[15] == b' ',
        "timestamp {stamp:?} in {message:?}"
    );
    let rest = &rest[16..];
    let (tag_pid, text) = rest.split_once("]: ").unwrap_or_else(|| bad(message));
    let (tag, pid) = tag_pid.rsplit_once('[').unwrap_or_else(|| bad(message));
    assert!(pid.parse::<u32>().is_ok(), "pid {pid:?} in {message:?}");
    let text = text.strip_suffix('\n').unwrap_or_else(|| bad(message));
    (priority, tag.to_string(), text.to_string())
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn syslog_driver_sends_each_line_with_priority_and_tag() {
    let d = TestDaemon::start();
    let listener = Listener::start();
    let address = format!("syslog-address={}", listener.address());
    let out = d.berth(&[
        "run",
        "--name",
        "sl",
        "--log-driver",
        "syslog",
        "--log-opt",
        &address,
        "--log-opt",
        "tag=mytag",
        "busybox",
        "sh",
        "-c",
        "echo hello; echo oops >&2",
    ]);
    assert!(
        out.status.success(),
        "run: {}\n{}",
        text(&out),
        d.log_tail()
    );
    // The attached client still gets the output.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");

    let mut got: Vec<(u32, String, String)> = listener
        .receive(2)
        .iter()
        .map(|m| parse_message(m))
        .collect();
    got.extend(listener.rest().iter().map(|m| parse_message(m)));
    got.sort();
    // Facility daemon (3): stderr at err (3) = 27, stdout at info (6) = 30.
    assert_eq!(
        got,
        vec![
            (27, "mytag".to_string(), "oops".to_string()),
            (30, "mytag".to_string(), "hello".to_string()),
        ],
        "{}",
        d.log_tail()
    );

    let inspect = d.inspect("sl");
    assert_eq!(inspect["HostConfig"]["LogConfig"]["Type"], "syslog");
    assert_eq!(
        inspect["HostConfig"]["LogConfig"]["Config"]["syslog-address"],
        listener.address()
    );
    let logs = d.berth(&["logs", "sl"]);
    assert!(!logs.status.success(), "logs: {}", text(&logs));
    assert!(
        String::from_utf8_lossy(&logs.stderr)
            .contains("configured logging driver does not support reading"),
        "logs: {}",
        text(&logs)
    );
    d.berth_ok(&["rm", "sl"]);
}

#[test]
fn syslog_options_are_checked_like_docker() {
    let d = TestDaemon::start();
    let cases: [(&str, &str); 5] = [
        (
            "syslog-address=foo://127.0.0.1:514",
            "unsupported scheme: 'foo'",
        ),
        (
            "syslog-address=127.0.0.1:514",
            "first path segment in URL cannot contain colon",
        ),
        (
            "syslog-address=unix:///nonexistent/berth-test.sock",
            "stat /nonexistent/berth-test.sock: no such file or directory",
        ),
        ("syslog-facility=bogus", "invalid syslog facility"),
        ("bogus=1", "unknown log opt 'bogus' for syslog log driver"),
    ];
    for (option, message) in cases {
        let out = d.berth(&[
            "run",
            "--log-driver",
            "syslog",
            "--log-opt",
            option,
            "busybox",
            "true",
        ]);
        // docker's CLI exits 127 when the message says "no such file or directory".
        let code = if message.contains("no such file") {
            127
        } else {
            125
        };
        assert_eq!(out.status.code(), Some(code), "{option}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{option}: expected {message:?}: {}",
            text(&out)
        );
    }
    let ps = d.berth_ok(&["ps", "-aq"]);
    assert!(ps.trim().is_empty(), "containers left: {ps}");
}

#[test]
fn daemon_json_log_driver_is_the_default() {
    let mut d = TestDaemon::start();
    let listener = Listener::start();
    std::fs::write(
        &d.config_file,
        format!(
            r#"{{"log-driver":"syslog","log-opts":{{"syslog-address":"{}"}}}}"#,
            listener.address()
        ),
    )
    .expect("write daemon.json");
    d.restart();

    let out = d.berth(&[
        "run",
        "--name",
        "plain",
        "busybox",
        "echo",
        "from the default",
    ]);
    assert!(
        out.status.success(),
        "run: {}\n{}",
        text(&out),
        d.log_tail()
    );
    let id = d.id_of("plain");
    let got: Vec<(u32, String, String)> = listener
        .receive(1)
        .iter()
        .map(|m| parse_message(m))
        .collect();
    // docker's default tag is the short container ID.
    assert_eq!(
        got,
        vec![(30, id[..12].to_string(), "from the default".to_string())],
        "{}",
        d.log_tail()
    );
    let inspect = d.inspect("plain");
    assert_eq!(inspect["HostConfig"]["LogConfig"]["Type"], "syslog");

    let logs = d.berth(&["logs", "plain"]);
    assert!(!logs.status.success(), "logs: {}", text(&logs));
    assert!(
        String::from_utf8_lossy(&logs.stderr)
            .contains("configured logging driver does not support reading"),
        "logs: {}",
        text(&logs)
    );

    // The container's own options join the daemon's for the same driver.
    let out = d.berth(&[
        "run",
        "--rm",
        "--log-opt",
        "tag={{.Name}}/{{.ImageName}}",
        "--name",
        "tagged",
        "busybox",
        "echo",
        "tagged",
    ]);
    assert!(
        out.status.success(),
        "run: {}\n{}",
        text(&out),
        d.log_tail()
    );
    let got: Vec<(u32, String, String)> = listener
        .receive(1)
        .iter()
        .map(|m| parse_message(m))
        .collect();
    assert_eq!(
        got,
        vec![(30, "tagged/busybox".to_string(), "tagged".to_string())]
    );

    // An explicit json-file still works and is readable.
    let out = d.berth(&[
        "run",
        "--name",
        "jf",
        "--log-driver",
        "json-file",
        "busybox",
        "echo",
        "to the file",
    ]);
    assert!(out.status.success(), "run: {}", text(&out));
    assert_eq!(d.berth_ok(&["logs", "jf"]), "to the file\n");
    assert!(
        listener.rest().is_empty(),
        "json-file output went to syslog"
    );
    d.berth_ok(&["rm", "plain", "jf"]);
}

#[test]
fn json_file_rotation_keeps_max_file_and_logs_reads_the_tail() {
    let d = TestDaemon::start();
    let out = d.berth(&[
        "run",
        "--name",
        "rot",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=2",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done",
    ]);
    assert!(
        out.status.success(),
        "run: {}\n{}",
        text(&out),
        d.log_tail()
    );

    let inspect = d.inspect("rot");
    let log_path = std::path::PathBuf::from(inspect["LogPath"].as_str().expect("LogPath"));
    let name = log_path
        .file_name()
        .expect("log file name")
        .to_string_lossy()
        .into_owned();
    let dir = log_path.parent().expect("log folder");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("container folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&name))
        .collect();
    files.sort();
    assert_eq!(files, vec![name.clone(), format!("{name}.1")]);
    for f in &files {
        let size = std::fs::metadata(dir.join(f)).expect("log file").len();
        assert!(size <= 1024, "{f} has {size} bytes");
    }

    let logs = d.berth_ok(&["logs", "rot"]);
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.last(), Some(&"line-499"), "{logs}");
    assert!(
        lines.len() < 40,
        "older lines were kept: {} lines",
        lines.len()
    );
    // The lines that are left are the newest, in order.
    let first: usize = lines[0]["line-".len()..].parse().expect("line number");
    let expected: Vec<String> = (first..500).map(|i| format!("line-{i}")).collect();
    assert_eq!(
        lines,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        d.berth_ok(&["logs", "--tail", "2", "rot"]),
        "line-498\nline-499\n"
    );
    d.berth_ok(&["rm", "rot"]);
}
