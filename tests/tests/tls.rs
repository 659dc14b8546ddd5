//! TCP with TLS: `--tlsverify` (mutual TLS, client certificates signed by the CA) and
//! `--tls` (server certificate only), driven by `berth`, `curl` and `docker`. Plain TCP
//! without TLS logs the insecurity warning. Certificates are made at run time with the
//! `openssl` CLI in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use berth_tests::{
    berth_command, docker_cli, output_with_deadline, Daemon, DaemonOptions, TempDir,
};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(30);

/// A CA, a server certificate for 127.0.0.1 and a client certificate signed by the CA,
/// plus a client certificate signed by another CA.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        let pki = Pki {
            dir: TempDir::new("berth-pki"),
        };
        pki.ca("ca");
        pki.ca("rogue-ca");
        pki.leaf(
            "server",
            "ca",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        pki.leaf("client", "ca", "extendedKeyUsage=clientAuth\n");
        pki.leaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n");
        // docker's conventional names in one folder, for DOCKER_CERT_PATH.
        let docker = pki.dir.join("docker");
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::copy(pki.path("ca.pem"), docker.join("ca.pem")).unwrap();
        std::fs::copy(pki.path("client-cert.pem"), docker.join("cert.pem")).unwrap();
        std::fs::copy(pki.path("client-key.pem"), docker.join("key.pem")).unwrap();
        std::fs::create_dir_all(pki.dir.join("empty")).unwrap();
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir.path)
            .stdin(Stdio::null())
            .output()
            .expect("openssl CLI");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn ca(&self, name: &str) {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN=berth test {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    fn leaf(&self, name: &str, ca: &str, extensions: &str) {
        let ext = format!("{name}.ext");
        std::fs::write(self.path(&ext), extensions).unwrap();
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}-key.pem"),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}-cert.pem"),
            "-extfile",
            &ext,
        ]);
    }

    fn server_flags(&self, verify: bool) -> Vec<String> {
        let mut flags = vec![
            if verify { "--tlsverify" } else { "--tls" }.to_string(),
            "--tlscert".into(),
            self.p("server-cert.pem"),
            "--tlskey".into(),
            self.p("server-key.pem"),
        ];
        if verify {
            flags.push("--tlscacert".into());
            flags.push(self.p("ca.pem"));
        }
        flags
    }
}

fn start(pki: &Pki, verify: bool) -> (Daemon, String) {
    let daemon = Daemon::start_with(DaemonOptions {
        args: pki.server_flags(verify),
        tcp: true,
        ..Default::default()
    });
    let host = format!("tcp://127.0.0.1:{}", daemon.tcp_port.unwrap());
    (daemon, host)
}

/// Runs `berth args...` with DOCKER_CERT_PATH pointing at `cert_dir` (so no certificate
/// from the user's ~/.docker sneaks in).
fn berth(cert_dir: &Path, args: &[&str]) -> Output {
    let mut command = berth_command();
    command
        .env("DOCKER_CERT_PATH", cert_dir)
        .env("DOCKER_CONFIG", cert_dir)
        .args(args);
    output_with_deadline(command, DEADLINE)
}

fn curl(args: &[&str]) -> Output {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .stdin(Stdio::null());
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

fn daemon_id(daemon: &Daemon) -> String {
    daemon.get("/info").json()["ID"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn plain_tcp_logs_the_insecurity_warning() {
    let daemon = Daemon::start_with(DaemonOptions {
        tcp: true,
        ..Default::default()
    });
    assert!(
        daemon.log().to_lowercase().contains("insecure"),
        "no warning about plain TCP in the log:\n{}",
        daemon.log()
    );
    let unix_only = Daemon::start();
    assert!(
        !unix_only.log().to_lowercase().contains("insecure"),
        "a unix-only daemon warns about insecurity:\n{}",
        unix_only.log()
    );
}

#[test]
fn tlsverify_accepts_clients_with_a_certificate_signed_by_the_ca() {
    let pki = Pki::new();
    let (daemon, host) = start(&pki, true);
    assert!(
        !daemon.log().contains("insecure"),
        "--tlsverify daemon warns about insecurity:\n{}",
        daemon.log()
    );
    let id = daemon_id(&daemon);

    // curl with a client certificate.
    let out = curl(&[
        "--cacert",
        &pki.p("ca.pem"),
        "--cert",
        &pki.p("client-cert.pem"),
        "--key",
        &pki.p("client-key.pem"),
        &format!("https://127.0.0.1:{}/v1.41/info", daemon.tcp_port.unwrap()),
    ]);
    assert!(
        out.status.success(),
        "curl with client cert: {}",
        show(&out)
    );
    let info: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&out)));
    assert_eq!(info["ID"].as_str(), Some(id.as_str()));

    let out = berth(
        &pki.path("empty"),
        &[
            "--tlsverify",
            "--tlscacert",
            &pki.p("ca.pem"),
            "--tlscert",
            &pki.p("client-cert.pem"),
            "--tlskey",
            &pki.p("client-key.pem"),
            "-H",
            &host,
            "info",
        ],
    );
    assert!(
        out.status.success(),
        "berth --tlsverify info: {}\n{}",
        show(&out),
        daemon.log()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(" ID: {id}")),
        "berth info over TLS: {stdout}"
    );

    // The same through DOCKER_CERT_PATH and DOCKER_TLS_VERIFY, as docker users set them.
    let mut command = berth_command();
    command
        .env("DOCKER_CERT_PATH", pki.path("docker"))
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_HOST", &host)
        .args(["info", "--format", "{{.ID}}"]);
    let out = output_with_deadline(command, DEADLINE);
    assert!(
        out.status.success(),
        "berth with DOCKER_TLS_VERIFY: {}",
        show(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
}

#[test]
fn tlsverify_refuses_clients_without_a_valid_certificate() {
    let pki = Pki::new();
    let (daemon, host) = start(&pki, true);
    let port = daemon.tcp_port.unwrap();
    let url = format!("https://127.0.0.1:{port}/_ping");

    // curl without a client certificate; curl -k does not help either.
    let out = curl(&["--cacert", &pki.p("ca.pem"), &url]);
    assert!(
        !out.status.success(),
        "curl without client cert succeeded: {}",
        show(&out)
    );
    let out = curl(&["-k", &url]);
    assert!(
        !out.status.success(),
        "curl -k without client cert succeeded: {}",
        show(&out)
    );
    let out = curl(&[
        "--cacert",
        &pki.p("ca.pem"),
        "--cert",
        &pki.p("rogue-cert.pem"),
        "--key",
        &pki.p("rogue-key.pem"),
        &url,
    ]);
    assert!(
        !out.status.success(),
        "curl with a foreign client cert succeeded: {}",
        show(&out)
    );

    // berth without a client certificate (and none in DOCKER_CERT_PATH).
    let out = berth(
        &pki.path("empty"),
        &[
            "--tlsverify",
            "--tlscacert",
            &pki.p("ca.pem"),
            "-H",
            &host,
            "info",
        ],
    );
    assert!(
        !out.status.success(),
        "berth without a client cert succeeded: {}",
        show(&out)
    );
    assert!(!out.stderr.is_empty(), "no error message: {}", show(&out));

    // berth with a certificate from another CA.
    let out = berth(
        &pki.path("empty"),
        &[
            "--tlsverify",
            "--tlscacert",
            &pki.p("ca.pem"),
            "--tlscert",
            &pki.p("rogue-cert.pem"),
            "--tlskey",
            &pki.p("rogue-key.pem"),
            "-H",
            &host,
            "version",
        ],
    );
    assert!(
        !out.status.success(),
        "berth with a foreign client cert succeeded: {}",
        show(&out)
    );

    // Plain HTTP on the TLS port gets no API answer.
    let out = curl(&[&format!("http://127.0.0.1:{port}/_ping")]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("OK"),
        "plain HTTP answered on the TLS port: {}",
        show(&out)
    );

    // Failed handshakes do not hurt the daemon.
    assert_eq!(daemon.get("/_ping").status, 200, "{}", daemon.log());
    let out = curl(&[
        "--cacert",
        &pki.p("ca.pem"),
        "--cert",
        &pki.p("client-cert.pem"),
        "--key",
        &pki.p("client-key.pem"),
        &url,
    ]);
    assert!(
        out.status.success(),
        "curl with client cert after failures: {}",
        show(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK");
}

#[test]
fn tls_without_verify_accepts_clients_without_certificates() {
    let pki = Pki::new();
    let (daemon, host) = start(&pki, false);
    let id = daemon_id(&daemon);
    let port = daemon.tcp_port.unwrap();

    let out = curl(&[
        "--cacert",
        &pki.p("ca.pem"),
        &format!("https://127.0.0.1:{port}/_ping"),
    ]);
    assert!(
        out.status.success(),
        "curl --cacert to a --tls daemon: {}",
        show(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK");

    // berth --tls (encrypts, verifies nothing) and berth --tlsverify with the CA only.
    for flags in [
        vec!["--tls"],
        vec!["--tlsverify", "--tlscacert", &pki.p("ca.pem")],
    ] {
        let mut args = flags.clone();
        args.extend(["-H", &host, "info", "--format", "{{.ID}}"]);
        let out = berth(&pki.path("empty"), &args);
        assert!(
            out.status.success(),
            "berth {flags:?}: {}\n{}",
            show(&out),
            daemon.log()
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
    }

    // A client that verifies against another CA refuses this server.
    let out = berth(
        &pki.path("empty"),
        &[
            "--tlsverify",
            "--tlscacert",
            &pki.p("rogue-ca.pem"),
            "-H",
            &host,
            "version",
        ],
    );
    assert!(
        !out.status.success(),
        "berth trusted a server its CA did not sign: {}",
        show(&out)
    );
}

#[test]
fn docker_cli_over_tlsverify() {
    let Some(docker) = docker_cli() else {
        eprintln!("note: no docker CLI on this machine; skipping docker over TLS");
        return;
    };
    let pki = Pki::new();
    let (daemon, host) = start(&pki, true);
    let id = daemon_id(&daemon);
    let run = |extra: &[&str]| {
        let mut command = Command::new(&docker);
        command
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_TLS_VERIFY")
            .env("DOCKER_CERT_PATH", pki.path("empty"))
            .env("DOCKER_CONFIG", pki.path("empty"))
            .arg("--tlsverify")
            .args(["--tlscacert", &pki.p("ca.pem")])
            .args(extra)
            .args(["-H", &host, "info", "--format", "{{.ID}}"])
            .stdin(Stdio::null());
        output_with_deadline(command, DEADLINE)
    };
    let out = run(&[
        "--tlscert",
        &pki.p("client-cert.pem"),
        "--tlskey",
        &pki.p("client-key.pem"),
    ]);
    assert!(
        out.status.success(),
        "docker --tlsverify info: {}\n{}",
        show(&out),
        daemon.log()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
    let out = run(&[]);
    assert!(
        !out.status.success(),
        "docker without client cert succeeded: {}",
        show(&out)
    );
}
