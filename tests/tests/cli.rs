//! The `berth` CLI against a real berthd: version, info, system df, help, host selection
//! (`-H`, `BERTH_HOST`, `DOCKER_HOST`), connection errors and exit codes; and the docker CLI
//! against the same daemon when one is installed.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use berth_tests::{berth_command, docker_cli, output_with_deadline, wait_for, Daemon};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(30);

fn run(mut command: Command) -> Output {
    command.stdin(Stdio::null());
    output_with_deadline(command, DEADLINE)
}

fn show(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn berth_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = berth_command();
    for (k, v) in env {
        command.env(k, v);
    }
    command.args(args);
    run(command)
}

fn server_json(daemon: &Daemon, path: &str) -> Value {
    let response = daemon.get(path);
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.json()
}

#[test]
fn version_shows_client_and_server() {
    let daemon = Daemon::start();
    let text = daemon.berth_ok(&["version"]);
    let client = text
        .find("Client:")
        .unwrap_or_else(|| panic!("no Client: section:\n{text}"));
    let server = text
        .find("Server:")
        .unwrap_or_else(|| panic!("no Server: section:\n{text}"));
    assert!(client < server, "Client: must come before Server:\n{text}");
    let server_part = &text[server..];
    let api_line = server_part
        .lines()
        .find(|l| l.trim_start().starts_with("API version:"))
        .unwrap_or_else(|| panic!("no server API version line:\n{text}"));
    let normalized: Vec<&str> = api_line.split_whitespace().collect();
    assert_eq!(
        normalized.join(" "),
        "API version: 1.55 (minimum version 1.24)",
        "server API version line:\n{text}"
    );
    assert!(
        server_part.contains("Engine:"),
        "no Engine component:\n{text}"
    );
    let client_part = &text[client..server];
    assert!(
        client_part.contains("Version:"),
        "client version missing:\n{text}"
    );

    let version = server_json(&daemon, "/version");
    let formatted = daemon.berth_ok(&["version", "--format", "{{.Server.Version}}"]);
    assert_eq!(
        formatted.trim(),
        version["Version"].as_str().unwrap(),
        "--format Server.Version"
    );
    let formatted = daemon.berth_ok(&["version", "--format", "{{.Server.ApiVersion}}"]);
    assert_eq!(formatted.trim(), "1.55");
    let as_json = daemon.berth_ok(&["version", "--format", "{{json .}}"]);
    let parsed: Value =
        serde_json::from_str(as_json.trim()).unwrap_or_else(|e| panic!("{e}: {as_json}"));
    assert_eq!(parsed["Server"]["ApiVersion"], "1.55", "{as_json}");
    assert!(parsed["Client"]["Version"].is_string(), "{as_json}");
}

#[test]
fn info_shows_server_fields_and_formats() {
    let daemon = Daemon::start();
    let info = server_json(&daemon, "/info");
    let text = daemon.berth_ok(&["info"]);
    for needle in [
        "Server Version:".to_string(),
        format!(" ID: {}", info["ID"].as_str().unwrap()),
        format!(" Docker Root Dir: {}", daemon.data_root().display()),
        format!(" CPUs: {}", info["NCPU"]),
        " Storage Driver: overlay2".to_string(),
    ] {
        assert!(
            text.contains(&needle),
            "berth info lacks {needle:?}:\n{text}"
        );
    }

    let version = daemon.berth_ok(&["info", "--format", "{{.ServerVersion}}"]);
    assert_eq!(version.trim(), info["ServerVersion"].as_str().unwrap());
    let as_json = daemon.berth_ok(&["info", "--format", "{{json .}}"]);
    let parsed: Value = serde_json::from_str(as_json.trim()).unwrap_or_else(|e| {
        panic!("berth info --format '{{{{json .}}}}' is not JSON ({e}): {as_json}")
    });
    assert_eq!(parsed["ID"], info["ID"], "{as_json}");
    // `system info` is the same command.
    let again = daemon.berth_ok(&["system", "info", "--format", "{{.ID}}"]);
    assert_eq!(again.trim(), info["ID"].as_str().unwrap());
}

#[test]
fn info_shows_labels_reloaded_by_sighup() {
    let daemon = Daemon::start();
    let text = daemon.berth_ok(&["info"]);
    assert!(
        !text.contains(" Labels:"),
        "labels on a daemon without any:\n{text}"
    );
    std::fs::write(
        &daemon.config_file,
        r#"{"debug": true, "labels": ["tier=test", "owner=berth"]}"#,
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    let reloaded = wait_for(DEADLINE, || {
        server_json(&daemon, "/info")["Labels"] == serde_json::json!(["tier=test", "owner=berth"])
    });
    assert!(
        reloaded,
        "SIGHUP did not reload the labels:\n{}",
        daemon.log()
    );
    let text = daemon.berth_ok(&["info"]);
    assert!(
        text.contains(" Labels:\n  tier=test\n  owner=berth\n"),
        "berth info does not show the reloaded labels:\n{text}"
    );
    assert!(
        text.contains(" Debug Mode: true"),
        "berth info Debug Mode:\n{text}"
    );
    let labels = daemon.berth_ok(&["info", "--format", "{{.Labels}}"]);
    assert_eq!(
        labels.trim(),
        "[tier=test owner=berth]",
        "Go template of a list"
    );
}

#[test]
fn system_df_prints_docker_table() {
    let daemon = Daemon::start();
    let text = daemon.berth_ok(&["system", "df"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"),
        "header:\n{text}"
    );
    assert_eq!(lines.len(), 5, "header and 4 rows:\n{text}");
    for (line, kind) in
        lines[1..]
            .iter()
            .zip(["Images", "Containers", "Local Volumes", "Build Cache"])
    {
        assert!(
            line.starts_with(kind),
            "row {line:?} should be {kind}:\n{text}"
        );
        let rest: Vec<&str> = line[kind.len()..].split_whitespace().collect();
        assert_eq!(
            rest.first().copied(),
            Some("0"),
            "{kind} total on an empty daemon:\n{text}"
        );
    }
}

#[test]
fn host_selection_flag_then_berth_host_then_docker_host() {
    let one = Daemon::start();
    let two = Daemon::start();
    let id = |d: &Daemon| server_json(d, "/info")["ID"].as_str().unwrap().to_string();
    let (id_one, id_two) = (id(&one), id(&two));
    let info_id = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["info", "--format", "{{.ID}}"]);
        let out = berth_env(env, &args);
        assert!(
            out.status.success(),
            "berth {args:?} with {env:?}: {}",
            show(&out)
        );
        stdout(&out).trim().to_string()
    };
    let (h1, h2) = (one.host(), two.host());
    assert_eq!(
        info_id(&[("DOCKER_HOST", &h2)], &[]),
        id_two,
        "DOCKER_HOST alone"
    );
    assert_eq!(
        info_id(&[("BERTH_HOST", &h1)], &[]),
        id_one,
        "BERTH_HOST alone"
    );
    assert_eq!(
        info_id(&[("BERTH_HOST", &h1), ("DOCKER_HOST", &h2)], &[]),
        id_one,
        "BERTH_HOST must win over DOCKER_HOST"
    );
    assert_eq!(
        info_id(&[("BERTH_HOST", &h1), ("DOCKER_HOST", &h1)], &["-H", &h2]),
        id_two,
        "-H must win over the environment"
    );
}

#[test]
fn unreachable_daemon_message_and_exit_code() {
    let out = berth_env(&[], &["-H", "unix:///nonexistent.sock", "version"]);
    assert_eq!(out.status.code(), Some(1), "exit code: {}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?"),
        "{}",
        show(&out)
    );
    // `version` still prints the client part, as docker does.
    assert!(stdout(&out).contains("Client:"), "{}", show(&out));

    for args in [vec!["info"], vec!["system", "df"]] {
        let out = berth_env(&[("DOCKER_HOST", "unix:///nonexistent.sock")], &args);
        assert_eq!(out.status.code(), Some(1), "berth {args:?}: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("Cannot connect to the Docker daemon at unix:///nonexistent.sock"),
            "berth {args:?}: {}",
            show(&out)
        );
    }
}

#[test]
fn usage_errors_help_and_version_flag() {
    let out = berth_env(&[], &["--no-such-flag", "version"]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "unknown global flag: {}",
        show(&out)
    );
    let out = berth_env(&[], &["version", "--no-such-flag"]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "unknown command flag: {}",
        show(&out)
    );
    assert!(!out.stderr.is_empty(), "no message for an unknown flag");

    let out = berth_env(&[], &["--help"]);
    assert_eq!(out.status.code(), Some(0), "berth --help: {}", show(&out));
    let help = stdout(&out);
    for command in ["version", "info", "events", "system"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "berth --help does not list {command}:\n{help}"
        );
    }
    assert!(
        help.contains("-H") && help.contains("--host"),
        "global flags missing:\n{help}"
    );

    for flag in ["-v", "--version"] {
        let out = berth_env(&[], &[flag]);
        assert_eq!(out.status.code(), Some(0), "berth {flag}: {}", show(&out));
        assert!(
            stdout(&out).starts_with("Berth version "),
            "berth {flag}: {}",
            show(&out)
        );
    }
}

#[test]
fn docker_cli_drives_berthd() {
    let Some(docker) = docker_cli() else {
        eprintln!("note: no docker CLI on this machine; skipping the docker CLI checks");
        return;
    };
    let daemon = Daemon::start();
    let info = server_json(&daemon, "/info");
    let docker_run = |args: &[&str]| {
        let mut command = Command::new(&docker);
        command
            .env_remove("DOCKER_HOST")
            .arg("-H")
            .arg(daemon.host())
            .args(args);
        let out = run(command);
        assert!(
            out.status.success(),
            "docker {args:?}: {}\n{}",
            show(&out),
            daemon.log()
        );
        stdout(&out)
    };
    let version = docker_run(&["version"]);
    assert!(
        version.contains("Server:") && version.contains("Engine:"),
        "docker version:\n{version}"
    );
    let text = docker_run(&["info"]);
    assert!(text.contains("Server Version:"), "docker info:\n{text}");
    assert!(
        text.contains(&format!(" ID: {}", info["ID"].as_str().unwrap())),
        "docker info:\n{text}"
    );
    assert_eq!(
        docker_run(&["info", "--format", "{{.ID}}"]).trim(),
        info["ID"].as_str().unwrap()
    );
    assert_eq!(
        docker_run(&["version", "--format", "{{.Server.Version}}"]).trim(),
        info["ServerVersion"].as_str().unwrap()
    );
    let df = docker_run(&["system", "df"]);
    assert!(df.starts_with("TYPE"), "docker system df:\n{df}");
    assert_eq!(df.lines().count(), 5, "docker system df:\n{df}");
}
