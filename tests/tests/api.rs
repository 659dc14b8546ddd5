//! The system endpoints of the Engine API over the unix socket, as a client sees them on the
//! wire: `/_ping`, `/version`, `/info`, `/system/df`, the `/vX.Y` prefix, errors, content
//! types, HTTP/1.0 and keep-alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use berth_tests::http::{self, RawResponse};
use berth_tests::Daemon;
use serde_json::Value;

fn get_ok(daemon: &Daemon, path: &str) -> RawResponse {
    let response = daemon.get(path);
    assert_eq!(
        response.status,
        200,
        "GET {path}: {}\nbody: {}\ndaemon log:\n{}",
        response.status_line,
        response.text(),
        daemon.log()
    );
    response
}

fn assert_json_content_type(response: &RawResponse, what: &str) {
    let content_type = response.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{what}: Content-Type is {content_type:?}, want application/json"
    );
}

fn command_stdout(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn ping_get_and_head_carry_negotiation_headers() {
    let daemon = Daemon::start();
    for method in ["GET", "HEAD"] {
        let response = daemon.raw(&format!(
            "{method} /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        let what = format!("{method} /_ping");
        assert_eq!(response.status, 200, "{what}: {}", response.status_line);
        assert_eq!(
            response.header("api-version"),
            Some("1.55"),
            "{what}: {:?}",
            response.headers
        );
        assert_eq!(
            response.header("ostype"),
            Some("linux"),
            "{what}: {:?}",
            response.headers
        );
        assert!(
            matches!(
                response.header("docker-experimental"),
                Some("true" | "false")
            ),
            "{what}: Docker-Experimental {:?}",
            response.header("docker-experimental")
        );
        assert!(
            response
                .header("builder-version")
                .is_some_and(|v| !v.is_empty()),
            "{what}: no Builder-Version header: {:?}",
            response.headers
        );
        assert!(
            response
                .header("cache-control")
                .is_some_and(|v| v.contains("no-cache")),
            "{what}: Cache-Control {:?}",
            response.header("cache-control")
        );
        if method == "GET" {
            assert_eq!(response.text(), "OK", "{what} body");
        } else {
            assert!(
                response.body.is_empty(),
                "{what} has a body: {:?}",
                response.text()
            );
        }
    }
}

#[test]
fn version_reports_api_range_and_engine_component() {
    let daemon = Daemon::start();
    let response = get_ok(&daemon, "/version");
    assert_json_content_type(&response, "/version");
    let version = response.json();
    assert_eq!(version["ApiVersion"], "1.55", "{version}");
    assert_eq!(version["MinAPIVersion"], "1.24", "{version}");
    assert_eq!(version["Os"], "linux", "{version}");
    assert!(
        version["Version"].as_str().is_some_and(|v| !v.is_empty()),
        "{version}"
    );
    assert_eq!(
        version["KernelVersion"].as_str().unwrap_or(""),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap()
            .trim(),
        "{version}"
    );
    let component = &version["Components"][0];
    assert_eq!(component["Name"], "Engine", "{version}");
    assert_eq!(component["Version"], version["Version"], "{version}");
    assert_eq!(component["Details"]["ApiVersion"], "1.55", "{version}");
    assert_eq!(component["Details"]["MinAPIVersion"], "1.24", "{version}");
}

#[test]
fn info_reports_real_host_values() {
    let daemon = Daemon::start();
    let response = get_ok(&daemon, "/info");
    assert_json_content_type(&response, "/info");
    let info = response.json();

    let nproc: u64 = command_stdout("nproc", &[]).parse().unwrap();
    assert_eq!(info["NCPU"].as_u64(), Some(nproc), "NCPU: {info}");

    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(
        info["MemTotal"].as_u64(),
        Some(mem_kib * 1024),
        "MemTotal: {info}"
    );

    assert_eq!(
        info["DockerRootDir"].as_str(),
        Some(daemon.data_root().to_str().unwrap()),
        "DockerRootDir: {info}"
    );
    assert_eq!(info["Driver"], "overlay2", "{info}");
    assert_eq!(
        info["KernelVersion"].as_str(),
        Some(command_stdout("uname", &["-r"]).as_str())
    );
    assert_eq!(
        info["Architecture"].as_str(),
        Some(command_stdout("uname", &["-m"]).as_str())
    );
    assert_eq!(info["OSType"], "linux", "{info}");
    let cgroup = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    assert_eq!(info["CgroupVersion"], cgroup, "CgroupVersion: {info}");
    assert_eq!(
        info["Name"].as_str(),
        Some(command_stdout("uname", &["-n"]).as_str()),
        "Name: {info}"
    );
    assert!(
        info["OperatingSystem"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{info}"
    );
    for counter in [
        "Containers",
        "ContainersRunning",
        "ContainersPaused",
        "ContainersStopped",
        "Images",
    ] {
        assert_eq!(
            info[counter].as_u64(),
            Some(0),
            "{counter} on a fresh data root: {info}"
        );
    }
    assert!(info["Labels"].is_array(), "Labels: {info}");
    assert_eq!(info["Debug"], false, "{info}");

    let version = get_ok(&daemon, "/version").json();
    assert_eq!(
        info["ServerVersion"], version["Version"],
        "ServerVersion vs /version"
    );
    let id = info["ID"].as_str().unwrap_or("");
    assert!(!id.is_empty(), "no ID: {info}");
}

#[test]
fn info_id_is_stable_across_restarts_and_differs_between_data_roots() {
    let mut daemon = Daemon::start();
    let first = get_ok(&daemon, "/info").json()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    daemon.restart();
    let second = get_ok(&daemon, "/info").json()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        first, second,
        "ID changed across a restart on the same data root"
    );

    let other = Daemon::start();
    let third = get_ok(&other, "/info").json()["ID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, third, "two data roots share one ID");
}

#[test]
fn system_df_has_the_documented_shape() {
    let daemon = Daemon::start();
    let response = get_ok(&daemon, "/system/df");
    assert_json_content_type(&response, "/system/df");
    let df = response.json();
    assert!(
        df["LayersSize"].is_i64() || df["LayersSize"].is_u64(),
        "LayersSize: {df}"
    );
    for key in ["Images", "Containers", "Volumes", "BuildCache"] {
        assert!(df[key].is_array(), "{key} is not an array: {df}");
    }
}

#[test]
fn version_prefix_is_stripped_and_range_checked() {
    let daemon = Daemon::start();
    for path in [
        "/v1.41/info",
        "/v1.24/info",
        "/v1.55/info",
        "/v1.41/_ping",
        "/v1.50/version",
    ] {
        get_ok(&daemon, path);
    }
    let info = get_ok(&daemon, "/v1.41/info").json();
    assert!(info["ID"].is_string(), "/v1.41/info is not /info: {info}");

    let too_new = daemon.get("/v1.99/info");
    assert_eq!(too_new.status, 400, "/v1.99/info: {}", too_new.text());
    assert_json_content_type(&too_new, "/v1.99/info");
    assert_eq!(
        too_new.json()["message"],
        "client version 1.99 is too new. Maximum supported API version is 1.55"
    );

    let too_old = daemon.get("/v1.12/info");
    assert_eq!(too_old.status, 400, "/v1.12/info: {}", too_old.text());
    let message = too_old.json()["message"].as_str().unwrap_or("").to_string();
    assert!(
        message.contains("client version 1.12 is too old") && message.contains("1.24"),
        "/v1.12/info message: {message}"
    );

    let unknown = daemon.get("/v1.41/no-such-endpoint");
    assert_eq!(unknown.status, 404, "{}", unknown.text());
}

#[test]
fn unknown_path_is_404_page_not_found() {
    let daemon = Daemon::start();
    for path in [
        "/no-such-endpoint",
        "/info/extra",
        "/containers/x/frobnicate",
    ] {
        let response = daemon.get(path);
        assert_eq!(response.status, 404, "GET {path}: {}", response.text());
        assert_json_content_type(&response, path);
        assert_eq!(
            response.json(),
            serde_json::json!({"message": "page not found"}),
            "GET {path}"
        );
    }
}

#[test]
fn bad_event_filters_are_400() {
    let daemon = Daemon::start();
    for query in [
        "filters=not-json",
        "filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D",
        "since=yesterday",
    ] {
        let response = daemon.get(&format!("/events?{query}"));
        assert_eq!(response.status, 400, "/events?{query}: {}", response.text());
        assert_json_content_type(&response, query);
        let message = response.json()["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(!message.is_empty(), "/events?{query}: no message");
    }
}

#[test]
fn http_1_0_request_gets_json_and_the_connection_closes() {
    let daemon = Daemon::start();
    let mut stream = UnixStream::connect(&daemon.socket).unwrap();
    // A short timeout: if the server kept the connection open, read_to_end would fail.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"GET /info HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("the server did not close an HTTP/1.0 connection");
    let response = http::parse(&raw).unwrap();
    assert_eq!(response.status, 200, "{}", response.status_line);
    assert!(
        response.status_line.starts_with("HTTP/1."),
        "{}",
        response.status_line
    );
    assert_json_content_type(&response, "HTTP/1.0 /info");
    assert!(response.json()["ID"].is_string(), "{}", response.text());
}

/// Reads one response with a Content-Length body from a kept-alive connection.
fn read_one(reader: &mut BufReader<UnixStream>) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no Content-Length in a keep-alive response: {headers:?}"));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status.trim_end().to_string(), headers, body)
}

#[test]
fn keep_alive_connection_serves_several_requests() {
    let daemon = Daemon::start();
    let stream = UnixStream::connect(&daemon.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);

    writer
        .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, _, body) = read_one(&mut reader);
    assert!(status.contains(" 200 "), "first response: {status}");
    assert_eq!(body, b"OK");

    writer
        .write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, _, body) = read_one(&mut reader);
    assert!(status.contains(" 200 "), "second response: {status}");
    let version: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(version["ApiVersion"], "1.55");

    // Two pipelined requests in one write are both answered, in order.
    writer
        .write_all(
            b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /v1.41/_ping HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
    for n in 1..=2 {
        let (status, _, body) = read_one(&mut reader);
        assert!(status.contains(" 200 "), "pipelined response {n}: {status}");
        assert_eq!(body, b"OK", "pipelined response {n}");
    }
}

#[test]
fn tcp_listener_serves_the_same_api() {
    let daemon = Daemon::start_with(berth_tests::DaemonOptions {
        tcp: true,
        ..Default::default()
    });
    let port = daemon.tcp_port.unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /v1.41/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let response = http::parse(&raw).unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let over_tcp = response.json()["ID"].clone();
    let over_unix = get_ok(&daemon, "/info").json()["ID"].clone();
    assert_eq!(
        over_tcp, over_unix,
        "TCP and unix listeners are different daemons?"
    );
}
