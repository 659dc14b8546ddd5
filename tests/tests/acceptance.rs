//! The issue's acceptance script, step by step: berthd on a unix socket and on
//! tcp://127.0.0.1:PORT, then `berth version`, `docker info`, curl over the socket and over
//! TCP, and a raw HTTP/1.0 request through `nc -U`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use berth_tests::{berth_command, docker_cli, output_with_deadline, Daemon, DaemonOptions};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(30);

fn run(mut command: Command) -> Output {
    command.stdin(Stdio::null());
    output_with_deadline(command, DEADLINE)
}

fn check(what: &str, out: &Output, daemon: &Daemon) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        daemon.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn acceptance_script() {
    let daemon = Daemon::start_with(DaemonOptions {
        tcp: true,
        ..Default::default()
    });
    let sock = daemon.socket.display().to_string();
    let port = daemon.tcp_port.unwrap();
    let id = daemon.get("/info").json()["ID"]
        .as_str()
        .unwrap()
        .to_string();

    // berth -H unix://SOCK version
    let mut command = berth_command();
    command.args(["-H", &format!("unix://{sock}"), "version"]);
    let text = check("berth version", &run(command), &daemon);
    assert!(
        text.contains("Client:") && text.contains("Server:"),
        "berth version:\n{text}"
    );

    // docker -H unix://SOCK info
    match docker_cli() {
        Some(docker) => {
            let mut command = Command::new(docker);
            command
                .env_remove("DOCKER_HOST")
                .args(["-H", &format!("unix://{sock}"), "info"]);
            let text = check("docker info", &run(command), &daemon);
            assert!(text.contains(&format!(" ID: {id}")), "docker info:\n{text}");
        }
        None => eprintln!("note: no docker CLI on this machine; skipping `docker info`"),
    }

    // curl --unix-socket SOCK http://localhost/v1.41/info
    let mut command = Command::new("curl");
    command.args(["-sS", "--unix-socket", &sock, "http://localhost/v1.41/info"]);
    let text = check("curl over the unix socket", &run(command), &daemon);
    let info: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(info["ID"].as_str(), Some(id.as_str()));

    // curl http://127.0.0.1:PORT/_ping
    let mut command = Command::new("curl");
    command.args(["-sS", &format!("http://127.0.0.1:{port}/_ping")]);
    assert_eq!(check("curl over TCP", &run(command), &daemon), "OK");

    // echo -e "GET /info HTTP/1.0\r\n" | nc -U SOCK
    if !Path::new("/usr/bin/nc").exists() && !Path::new("/bin/nc").exists() {
        eprintln!("note: no nc on this machine; skipping the nc step");
        return;
    }
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(r#"echo -e "GET /info HTTP/1.0\r\n" | nc -U "$1""#)
        .arg("bash")
        .arg(&sock);
    let text = check("nc -U", &run(command), &daemon);
    assert!(text.starts_with("HTTP/1."), "nc output:\n{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let info: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("nc body is not JSON ({e}):\n{text}"));
    assert_eq!(info["ID"].as_str(), Some(id.as_str()));
}
