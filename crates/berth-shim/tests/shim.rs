//! End-to-end tests of `berth-shim` with real containers (busybox rootfs, libcontainer,
//! cgroups). They need root; they skip themselves otherwise.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use berth_shim::protocol::{FailureKind, Request, Status};
use berth_shim::LaunchResult;
use common::{alive, can_run, TestContainer};

#[test]
fn logs_and_exit_code() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new(&["sh", "-c", "echo hello; echo err >&2; exit 3"]);
    c.started();
    let exit = c.wait();
    assert_eq!(exit.exit_code, 3);
    assert_eq!(exit.signal, None);
    assert!(!exit.oom_killed);
    c.wait_shim_gone();

    let records = c.log_records();
    assert_eq!(records.len(), 2, "{records:?}");
    let out = records.iter().find(|r| r["stream"] == "stdout").unwrap();
    let err = records.iter().find(|r| r["stream"] == "stderr").unwrap();
    assert_eq!(out["log"], "hello\n");
    assert_eq!(err["log"], "err\n");
    for r in &records {
        let t = r["time"].as_str().unwrap();
        assert!(t.ends_with('Z') && t.contains('T'), "{t}");
    }

    let recorded = berth_shim::read_exit_file(&c.state_dir).unwrap().unwrap();
    assert_eq!(recorded, exit);
    assert!(
        c.cgroup_dirs().is_empty(),
        "cgroups left: {:?}",
        c.cgroup_dirs()
    );
    assert!(!c.runtime_state().exists(), "libcontainer state left");
    assert!(!c.state_dir.join("shim.sock").exists());
}

/// `sleep 100`, `kill 15` over the socket, exit 143. As PID 1 of its namespace `sleep`
/// would ignore SIGTERM (as in Docker), so it runs under `--init` (berth-init forwards
/// the signal and exits with 128 + 15); without a built berth-init, under a shell that
/// does the same.
#[test]
fn kill_over_the_socket() {
    if !can_run() {
        return;
    }
    let init = common::berth_init();
    let mut c = match &init {
        Some(_) => TestContainer::new(&["sleep", "100"]),
        None => TestContainer::new(&[
            "sh",
            "-c",
            "sleep 100 & c=$!; trap 'kill -TERM $c; wait $c; exit $?' TERM; wait $c",
        ]),
    };
    c.config.init_binary = init.clone();
    let pid = c.started();
    assert!(alive(pid as i32));
    assert!(!c.cgroup_dirs().is_empty(), "container runs in its cgroup");

    let state = c.call(Request::State).state.unwrap();
    assert_eq!(state.status, Status::Running);
    assert_eq!(state.pid, pid);
    assert_eq!(state.id, c.id);

    // Give the command time to start under init before signalling.
    std::thread::sleep(Duration::from_millis(300));
    let r = c.call(Request::Kill {
        signal: 15,
        all: false,
    });
    assert!(r.ok, "{r:?}");
    let exit = c.wait();
    assert_eq!(exit.exit_code, 143, "{exit:?}");
    c.wait_shim_gone();
    assert!(!alive(pid as i32));
    assert!(
        c.cgroup_dirs().is_empty(),
        "cgroups left: {:?}",
        c.cgroup_dirs()
    );
    assert!(!c.runtime_state().exists());
    assert!(!c.state_dir.join("shim.sock").exists());
    let after = c.client_result(Request::State);
    assert!(after.is_err(), "socket is gone after the exit");
}

#[test]
fn sigkill_is_128_plus_9() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new(&["sleep", "100"]);
    c.started();
    assert!(
        c.call(Request::Kill {
            signal: 9,
            all: false
        })
        .ok
    );
    let exit = c.wait();
    assert_eq!((exit.exit_code, exit.signal), (137, Some(9)));
    assert!(!exit.oom_killed);
    c.wait_shim_gone();
    assert!(c.cgroup_dirs().is_empty());
}

#[test]
fn missing_command_fails_like_docker() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new(&["nope-not-here"]);
    match c.launch() {
        LaunchResult::Failed { kind, message } => {
            assert_eq!(kind, FailureKind::NotFound);
            assert_eq!(
                message,
                "exec: \"nope-not-here\": executable file not found in $PATH"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    c.wait_shim_gone();
    assert!(
        c.cgroup_dirs().is_empty(),
        "cgroups left: {:?}",
        c.cgroup_dirs()
    );
    assert!(!c.runtime_state().exists(), "libcontainer state left");
}

#[test]
fn attach_streams_stdin_and_output() {
    if !can_run() {
        return;
    }
    let mut c = TestContainer::new(&["sh", "-c", "cat; echo done >&2"]);
    c.options.stdin = true;
    c.options.stdin_once = true;
    c.started();

    let mut client = c.client();
    let r = client
        .call(&Request::Attach {
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .unwrap();
    assert!(r.ok, "{r:?}");
    let (mut stream, mut got) = client.into_stream();
    stream.write_all(b"ping\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.read_to_end(&mut got).unwrap();

    // Docker's multiplexed frames: [stream, 0, 0, 0, len(4, big endian)] + payload.
    let mut frames = Vec::new();
    let mut rest = &got[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        frames.push((rest[0], rest[8..8 + len].to_vec()));
        rest = &rest[8 + len..];
    }
    assert!(rest.is_empty());
    let stdout: Vec<u8> = frames
        .iter()
        .filter(|f| f.0 == 1)
        .flat_map(|f| f.1.clone())
        .collect();
    let stderr: Vec<u8> = frames
        .iter()
        .filter(|f| f.0 == 2)
        .flat_map(|f| f.1.clone())
        .collect();
    assert_eq!(stdout, b"ping\n");
    assert_eq!(stderr, b"done\n");
    assert_eq!(c.wait().exit_code, 0);
}

#[test]
fn default_profile_allows_fork_and_denies_namespaces() {
    if !can_run() {
        return;
    }
    // A pipeline forks (clone without namespace flags); unshare needs CAP_SYS_ADMIN.
    let c = TestContainer::new(&[
        "sh",
        "-c",
        "echo piped | cat; unshare -n true 2>/dev/null && echo escaped; \
         grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status; hostname; id -u",
    ]);
    c.started();
    assert_eq!(c.wait().exit_code, 0);
    let out: String = c
        .log_records()
        .iter()
        .filter(|r| r["stream"] == "stdout")
        .map(|r| r["log"].as_str().unwrap().to_string())
        .collect();
    assert!(out.contains("piped\n"), "{out}");
    assert!(!out.contains("escaped"), "{out}");
    assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains(&c.id[..12]), "{out}");
    assert!(out.ends_with("0\n"), "{out}");
}

#[test]
fn oom_kill_is_detected() {
    if !can_run() {
        return;
    }
    let mut c = TestContainer::new(&[
        "sh",
        "-c",
        "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
    ]);
    c.config.resources.memory = 16 << 20;
    c.config.resources.memory_swap = 16 << 20;
    c.started();
    let exit = c.wait();
    assert!(exit.oom_killed, "{exit:?}");
    c.wait_shim_gone();
    assert!(c.cgroup_dirs().is_empty());
}

#[test]
fn pids_limit_refuses_forks() {
    if !can_run() {
        return;
    }
    let mut c = TestContainer::new(&[
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6; do sleep 2 & done; echo spawned; wait",
    ]);
    c.config.resources.pids_limit = Some(4);
    c.started();
    c.wait();
    let records = c.log_records();
    let all: String = records
        .iter()
        .map(|r| r["log"].as_str().unwrap().to_string())
        .collect();
    // busybox sh gives up on the first failed fork.
    assert!(all.contains("can't fork"), "{all}");
}

#[test]
fn no_start_then_start_request() {
    if !can_run() {
        return;
    }
    let mut c = TestContainer::new(&["sh", "-c", "echo started"]);
    c.options.no_start = true;
    c.started();
    let state = c.call(Request::State).state.unwrap();
    assert_eq!(state.status, Status::Created);
    assert!(c.log_records().is_empty());
    assert!(c.call(Request::Start).ok);
    assert_eq!(c.wait().exit_code, 0);
    c.wait_shim_gone();
    assert_eq!(c.log_records()[0]["log"], "started\n");
}

#[test]
fn tty_output_is_logged_as_stdout() {
    if !can_run() {
        return;
    }
    let mut c = TestContainer::new(&["sh", "-c", "sleep 0.3; stty size; tty"]);
    c.config.tty = true;
    c.config.console_size = Some((30, 100));
    c.started();
    let r = c.call(Request::Resize {
        height: 40,
        width: 120,
        exec_id: None,
    });
    assert!(r.ok, "{r:?}");
    assert_eq!(c.wait().exit_code, 0);
    c.wait_shim_gone();
    let out: String = c
        .log_records()
        .iter()
        .inspect(|r| assert_eq!(r["stream"], "stdout"))
        .map(|r| r["log"].as_str().unwrap().to_string())
        .collect();
    assert!(out.contains("40 120"), "{out:?}");
    assert!(out.contains("/dev/pts/0"), "{out:?}");
}

/// Resident memory of a shim supervising `sleep`: the product figure of DESIGN.md
/// (goal: at most 3 MB). Run with `BERTH_SHIM_BIN=target/release/berth-shim` for the
/// release build; the debug build is larger.
#[test]
fn shim_resident_memory() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new(&["sleep", "30"]);
    let t = std::time::Instant::now();
    c.started();
    eprintln!("spec + bundle + launch until started: {:?}", t.elapsed());
    // Exercise the socket once, as the engine would.
    assert!(c.call(Request::State).ok);
    let shim = c.shim_pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{shim}/status")).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    eprintln!(
        "berth-shim RSS: {rss_kb} kB ({})",
        common::shim_binary().display()
    );
    if std::env::var_os("BERTH_SHIM_SMAPS").is_some() {
        let smaps = std::fs::read_to_string(format!("/proc/{shim}/smaps")).unwrap();
        let mut name = String::new();
        for l in smaps.lines() {
            if l.contains('-') && !l.starts_with(char::is_uppercase) {
                name = l.to_string();
            } else if let Some(v) = l.strip_prefix("Rss:") {
                if v.trim() != "0 kB" {
                    eprintln!("{v:>12} {name}");
                }
            }
        }
    }
    assert!(rss_kb < 16 * 1024, "{rss_kb} kB");

    // After an exec (libcontainer runs again inside the supervisor) and some output.
    let mut client = c.client();
    let r = client
        .call(&Request::Exec(exec_request(
            "m1",
            &["sh", "-c", "seq 1 2000"],
        )))
        .unwrap();
    assert!(r.ok, "{r:?}");
    let (stream, rest) = client.into_stream();
    let (out, _) = demux(stream, rest);
    assert!(out.ends_with("2000\n"));
    let status = std::fs::read_to_string(format!("/proc/{shim}/status")).unwrap();
    let after_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    eprintln!("berth-shim RSS after an exec: {after_kb} kB");
    assert!(after_kb < 16 * 1024, "{after_kb} kB");
    assert!(
        c.call(Request::Kill {
            signal: 9,
            all: false
        })
        .ok
    );
    c.wait();
}

/// Reads an attach/exec stream to EOF and splits Docker's frames into stdout, stderr.
fn demux(mut stream: std::os::unix::net::UnixStream, mut got: Vec<u8>) -> (String, String) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.read_to_end(&mut got).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rest = &got[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let payload = &rest[8..8 + len];
        match rest[0] {
            1 => out.extend_from_slice(payload),
            2 => err.extend_from_slice(payload),
            other => panic!("bad stream id {other}"),
        }
        rest = &rest[8 + len..];
    }
    assert!(rest.is_empty(), "trailing bytes");
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn exec_request(id: &str, args: &[&str]) -> berth_shim::ExecRequest {
    berth_shim::ExecRequest {
        exec_id: id.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn exec_exit(c: &TestContainer, id: &str) -> berth_shim::ExitStatus {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = c.call(Request::ExecState { exec_id: id.into() });
        let state = r.exec.clone().unwrap_or_else(|| panic!("{r:?}"));
        if let Some(exit) = state.exit {
            return exit;
        }
        assert!(std::time::Instant::now() < deadline, "exec {id} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exec_streams_and_records_exit_codes() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new(&["sleep", "30"]);
    c.started();

    // Output on both streams, an exit code, and the container's environment.
    let mut client = c.client();
    let mut req = exec_request(
        "e1",
        &["sh", "-c", "echo out $HOSTNAME $FOO; echo err >&2; exit 5"],
    );
    req.env = vec!["FOO=bar".into()];
    let r = client.call(&Request::Exec(req)).unwrap();
    assert!(r.ok && r.pid.is_some(), "{r:?}");
    let (stream, rest) = client.into_stream();
    let (out, err) = demux(stream, rest);
    assert_eq!(out, format!("out {} bar\n", &c.id[..12]));
    assert_eq!(err, "err\n");
    assert_eq!(exec_exit(&c, "e1").exit_code, 5);

    // stdin goes to the exec'd process; EOF closes it.
    let mut client = c.client();
    let mut req = exec_request("e2", &["cat"]);
    req.stdin = true;
    assert!(client.call(&Request::Exec(req)).unwrap().ok);
    let (mut stream, rest) = client.into_stream();
    stream.write_all(b"through stdin\n").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let (out, _) = demux(stream, rest);
    assert_eq!(out, "through stdin\n");
    assert_eq!(exec_exit(&c, "e2").exit_code, 0);

    // A terminal: raw output from a pty.
    let mut client = c.client();
    let mut req = exec_request("e3", &["tty"]);
    req.tty = true;
    assert!(client.call(&Request::Exec(req)).unwrap().ok);
    let (mut stream, mut raw) = client.into_stream();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.read_to_end(&mut raw).unwrap();
    assert!(
        String::from_utf8_lossy(&raw).contains("/dev/pts/"),
        "{raw:?}"
    );

    // Detached, and a missing command.
    let mut req = exec_request("e4", &["sh", "-c", "exit 9"]);
    req.detach = true;
    assert!(c.call(Request::Exec(req)).ok);
    assert_eq!(exec_exit(&c, "e4").exit_code, 9);
    let r = c.call(Request::Exec(exec_request("e5", &["no-such-cmd"])));
    assert!(!r.ok);
    assert_eq!(
        r.error.unwrap(),
        "exec: \"no-such-cmd\": executable file not found in $PATH"
    );

    // Exec output is not the container's log.
    assert!(c.log_records().is_empty(), "{:?}", c.log_records());
    assert!(
        c.call(Request::Kill {
            signal: 9,
            all: false
        })
        .ok
    );
    assert_eq!(c.wait().exit_code, 137);
    c.wait_shim_gone();
    assert!(c.cgroup_dirs().is_empty());
}

fn stdout_of(c: &TestContainer) -> String {
    c.log_records()
        .iter()
        .filter(|r| r["stream"] == "stdout")
        .map(|r| r["log"].as_str().unwrap().to_string())
        .collect()
}

fn host_nofile_hard() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the valid struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim.rlim_max
}

/// The generated spec, run for real: user, read-only rootfs, sysctl, ulimit clamping,
/// masked paths, privileged with the host's capabilities only.
#[test]
fn docker_defaults_hold_in_a_real_container() {
    if !can_run() {
        return;
    }
    let mut c = TestContainer::new(&[
        "sh",
        "-c",
        "id -u; id -g; touch /x 2>/dev/null || echo read-only; \
         cat /proc/sys/net/core/somaxconn; ulimit -Hn; ulimit -Sn; \
         wc -c < /proc/interrupts; echo $HOME; grep NoNewPrivs /proc/self/status",
    ]);
    c.config.security_opt = vec!["no-new-privileges".into()];
    c.config.user = "nobody".into();
    c.config.readonly_rootfs = true;
    c.config
        .sysctls
        .insert("net.core.somaxconn".into(), "1234".into());
    c.config.ulimits = vec![berth_runtime::spec::Ulimit {
        name: "nofile".into(),
        soft: 1 << 40,
        hard: 1 << 40,
    }];
    c.started();
    assert_eq!(c.wait().exit_code, 0, "{:?}", c.log_records());
    let hard = host_nofile_hard();
    let want = format!("65534\n65534\nread-only\n1234\n{hard}\n{hard}\n0\n/home\nNoNewPrivs:\t1\n");
    assert_eq!(stdout_of(&c), want, "{:?}", c.log_records());

    let mut p = TestContainer::new(&[
        "sh",
        "-c",
        "grep -E '^(CapBnd|Seccomp):' /proc/self/status; test -e /dev/kmsg && echo devices",
    ]);
    p.config.privileged = true;
    p.started();
    assert_eq!(p.wait().exit_code, 0, "{:?}", p.log_records());
    let out = stdout_of(&p);
    let host_bnd = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .unwrap()
        .to_string();
    assert!(out.contains(&host_bnd), "{out} vs {host_bnd}");
    assert!(out.contains("Seccomp:\t0"), "{out}");
    assert!(out.contains("devices"), "{out}");
}

/// `--log-driver syslog` to a UDP listener of the test: one message per line, stdout at
/// `info` and stderr at `err` of the facility, the tag and the shim's pid; no json log.
#[test]
fn syslog_over_udp() {
    if !can_run() {
        return;
    }
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut c = TestContainer::new(&["sh", "-c", "echo hello; echo oops >&2; printf tail"]);
    c.options.syslog = Some(berth_shim::SyslogOptions {
        address: berth_shim::SyslogAddress::Udp(format!("127.0.0.1:{port}")),
        facility: 16, // local0
        tag: Some("mytag".into()),
        ..Default::default()
    });
    c.started();
    assert_eq!(c.wait().exit_code, 0);
    c.wait_shim_gone();

    listener
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 3 {
        let n = listener.recv(&mut buf).expect("syslog message");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let stdout: Vec<&String> = got.iter().filter(|m| m.starts_with("<134>")).collect();
    let stderr: Vec<&String> = got.iter().filter(|m| m.starts_with("<131>")).collect();
    assert_eq!(stdout.len(), 2, "{got:?}");
    assert_eq!(stderr.len(), 1, "{got:?}");
    assert!(stdout.iter().any(|m| m.ends_with("]: hello\n")), "{got:?}");
    assert!(stdout.iter().any(|m| m.ends_with("]: tail\n")), "{got:?}");
    assert!(stderr[0].ends_with("]: oops\n"), "{got:?}");
    for m in &got {
        // <PRI>Mon _2 15:04:05 mytag[PID]: ...
        assert_eq!(&m[m.find('>').unwrap() + 16..][..7], " mytag[", "{m}");
    }
    assert!(
        !c.options.log_path().exists(),
        "no json-file log with syslog"
    );
}

/// An unreachable syslog server fails the start, as docker ("failed to initialize
/// logging driver"), and leaves nothing behind.
#[test]
fn unreachable_syslog_fails_the_start() {
    if !can_run() {
        return;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = TestContainer::new(&["true"]);
    c.options.syslog = Some(berth_shim::SyslogOptions {
        address: berth_shim::SyslogAddress::Tcp(format!("127.0.0.1:{port}")),
        ..Default::default()
    });
    match c.launch() {
        LaunchResult::Failed { kind, message } => {
            assert_eq!(kind, FailureKind::Other);
            assert_eq!(
                message,
                format!(
                    "failed to initialize logging driver: dial tcp 127.0.0.1:{port}: connect: connection refused"
                )
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    c.wait_shim_gone();
    assert!(c.cgroup_dirs().is_empty());
    assert!(!c.runtime_state().exists(), "libcontainer state left");
}
