//! Registry settings of the daemon (issue 9): `registry-mirrors` for Docker Hub names
//! (a dead mirror skipped for a working one), certificates from the certs folder (a
//! registry demanding client certificates over TLS), and `search` against a registry
//! with the v1 search API (a test server) and one without it (docker-registry).

use std::process::{Command, Output};
use std::time::Duration;

use berth_tests::images::busybox_tar;
use berth_tests::registry::{Registry, RegistryAuth, Reply, TestServer};
use berth_tests::{berth_command, free_port, output_with_deadline, Daemon, DaemonOptions, TempDir};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(120);

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn berth(daemon: &Daemon, args: &[&str]) -> Output {
    let config = TempDir::new("berth-dcfg");
    let mut command = berth_command();
    command
        .arg("-H")
        .arg(daemon.host())
        .args(args)
        .env("DOCKER_CONFIG", &config.path);
    output_with_deadline(command, DEADLINE)
}

fn berth_ok(daemon: &Daemon, args: &[&str]) -> String {
    let out = berth(daemon, args);
    assert!(
        out.status.success(),
        "berth {args:?}: {}\n{}",
        text(&out),
        daemon.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn with_busybox(options: DaemonOptions) -> Daemon {
    let daemon = Daemon::start_with(options);
    berth_ok(&daemon, &["load", "-i", busybox_tar().to_str().unwrap()]);
    daemon
}

#[test]
fn docker_hub_names_come_from_the_mirrors() {
    if !Registry::available() {
        eprintln!("skipped: no docker-registry");
        return;
    }
    let mirror = Registry::start();
    let dead = free_port();
    let config = json!({
        "registry-mirrors": [format!("http://127.0.0.1:{dead}"), format!("http://{}", mirror.host())],
    });
    let daemon = with_busybox(DaemonOptions {
        config_json: Some(config.to_string()),
        ..Default::default()
    });
    // Put `library/mirrored:1` on the mirror.
    let on_mirror = format!("{}/library/mirrored:1", mirror.host());
    berth_ok(&daemon, &["tag", "busybox:latest", &on_mirror]);
    berth_ok(&daemon, &["push", &on_mirror]);
    berth_ok(&daemon, &["rmi", &on_mirror, "busybox:latest"]);
    // `mirrored:1` is docker.io/library/mirrored:1: served by the second mirror.
    let out = berth_ok(&daemon, &["pull", "mirrored:1"]);
    assert!(out.contains("Pull complete"), "{out}");
    assert!(
        out.contains("Status: Downloaded newer image for mirrored:1"),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("docker.io/library/mirrored:1"),
        "{out}"
    );
    let info = berth_ok(
        &daemon,
        &["info", "--format", "{{json .RegistryConfig.Mirrors}}"],
    );
    assert!(info.contains(&mirror.host()), "{info}");
}

/// openssl, asserting success.
fn openssl(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(&dir.path)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
}

#[test]
fn client_certificates_from_the_certs_folder() {
    if !Registry::available() {
        eprintln!("skipped: no docker-registry");
        return;
    }
    let pki = TempDir::new("berth-pki");
    openssl(
        &pki,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=berth test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    std::fs::write(pki.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        &pki,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        &pki,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
            "-out",
            "server.crt",
        ],
    );
    openssl(
        &pki,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=berth client",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
        ],
    );
    // Extensions make it an X.509 v3 certificate (webpki refuses v1).
    std::fs::write(pki.join("client.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    openssl(
        &pki,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "client.cnf",
            "-out",
            "client.cert",
        ],
    );
    let registry = Registry::start_full(
        RegistryAuth::None,
        Some((
            pki.join("server.crt"),
            pki.join("server.key"),
            Some(pki.join("ca.crt")),
        )),
    );
    // certs.d/<host:port>/{ca.crt, client.cert, client.key}
    let certs = TempDir::new("berth-certsd");
    let host_dir = certs.join(&registry.host());
    std::fs::create_dir_all(&host_dir).unwrap();
    for f in ["ca.crt", "client.cert", "client.key"] {
        std::fs::copy(pki.join(f), host_dir.join(f)).unwrap();
    }
    let daemon = with_busybox(DaemonOptions {
        args: vec![
            "--registry-certs-dir".into(),
            certs.path.display().to_string(),
        ],
        ..Default::default()
    });
    let name = format!("{}/tls/busybox:1", registry.host());
    berth_ok(&daemon, &["tag", "busybox:latest", &name]);
    let out = berth_ok(&daemon, &["push", &name]);
    assert!(out.contains("1: digest: sha256:"), "{out}");
    berth_ok(&daemon, &["rmi", &name, "busybox:latest"]);
    let out = berth_ok(&daemon, &["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");

    // A daemon without the client certificate is turned away.
    let bare = Daemon::start_with(DaemonOptions {
        args: vec![
            "--registry-certs-dir".into(),
            TempDir::new("berth-nocerts").path.display().to_string(),
        ],
        ..Default::default()
    });
    let out = berth(&bare, &["pull", &name]);
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn search_with_limit_filters_and_format() {
    let server = TestServer::start(|request| {
        if !request.path.starts_with("/v1/search") {
            return Reply::Full(404, vec![], Vec::new());
        }
        assert!(request.path.contains("q=busy"), "{}", request.path);
        let body = json!({
            "num_results": 3, "query": "busy",
            "results": [
                { "name": "busybox", "description": "Busybox base image with a description that is longer than forty-five characters", "star_count": 3000, "is_official": true, "is_automated": false },
                { "name": "someone/busy", "description": "a fork", "star_count": 2, "is_official": false, "is_automated": true },
                { "name": "other/busyness", "description": "", "star_count": 10, "is_official": false, "is_automated": false },
            ],
        });
        Reply::Full(
            200,
            vec![("Content-Type".into(), "application/json".into())],
            body.to_string().into_bytes(),
        )
    });
    let daemon = Daemon::start();
    let term = format!("{}/busy", server.host());
    let out = berth_ok(&daemon, &["search", &term]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{out}");
    assert!(
        lines[0].contains("DESCRIPTION")
            && lines[0].contains("STARS")
            && lines[0].contains("OFFICIAL"),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1].contains("busybox") && lines[1].contains("…") && lines[1].contains("[OK]"),
        "{out}"
    );

    let out = berth_ok(
        &daemon,
        &["search", "--limit", "1", "--format", "{{.Name}}", &term],
    );
    assert_eq!(out.trim(), "busybox");
    let out = berth_ok(
        &daemon,
        &[
            "search",
            "--filter",
            "stars=5",
            "--format",
            "{{.Name}} {{.StarCount}}",
            &term,
        ],
    );
    assert_eq!(out.trim(), "busybox 3000\nother/busyness 10");
    let out = berth_ok(
        &daemon,
        &[
            "search",
            "--filter",
            "is-automated=true",
            "--format",
            "{{.Name}}",
            &term,
        ],
    );
    assert_eq!(out.trim(), "someone/busy");
    let out = berth(&daemon, &["search", "--limit", "101", &term]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("limit 101 is outside the range of [1, 100]"),
        "{}",
        text(&out)
    );

    // docker-registry has no search API: a clear error.
    if Registry::available() {
        let registry = Registry::start();
        let out = berth(
            &daemon,
            &["search", &format!("{}/busybox", registry.host())],
        );
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("does not support search"),
            "{}",
            text(&out)
        );
    }
}
