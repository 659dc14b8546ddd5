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
    assert!(c.cgroup_dirs().is_empty(), "cgroups left: {:?}", c.cgroup_dirs());
    assert!(!c.runtime_state().exists(), "libcontainer state left");
    assert!(!c.state_dir.join("shim.sock").exists());
}

#[test]
fn kill_over_the_socket() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new(&["sleep", "100"]);
    let pid = c.started();
    assert!(alive(pid as i32));
    assert!(!c.cgroup_dirs().is_empty(), "container runs in its cgroup");

    let state = c.call(Request::State).state.unwrap();
    assert_eq!(state.status, Status::Running);
    assert_eq!(state.pid, pid);
    assert_eq!(state.id, c.id);

    let r = c.call(Request::Kill {
        signal: 15,
        all: false,
    });
    assert!(r.ok, "{r:?}");
    let exit = c.wait();
    assert_eq!(exit.exit_code, 143);
    assert_eq!(exit.signal, Some(15));
    c.wait_shim_gone();
    assert!(!alive(pid as i32));
    assert!(c.cgroup_dirs().is_empty(), "cgroups left: {:?}", c.cgroup_dirs());
    assert!(!c.runtime_state().exists());
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
    assert!(c.cgroup_dirs().is_empty(), "cgroups left: {:?}", c.cgroup_dirs());
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
        "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>/dev/null; \
         n=$(ls /proc | grep -c '^[0-9]'); kill $(jobs -p) 2>/dev/null; echo procs=$n",
    ]);
    c.config.resources.pids_limit = Some(4);
    c.started();
    c.wait();
    let out: String = c
        .log_records()
        .iter()
        .map(|r| r["log"].as_str().unwrap().to_string())
        .collect();
    let n: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(99);
    assert!(n <= 4, "{out}");
}

#[test]
fn no_start_then_start_request() {
    if !can_run() {
        return;
    }
    let mut c = TestContainer::new(&["sh", "-c", "echo started"]);
    c.options.no_start = true;
    c.started();
    eprintln!("launched");
    let state = c.call(Request::State).state.unwrap();
    eprintln!("state {state:?}");
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
