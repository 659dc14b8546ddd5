//! Runs the real `berth-init` binary on the host (it makes itself a child subreaper, so
//! orphans come to it just as they would to PID 1 in a container).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INIT: &str = env!("CARGO_BIN_EXE_berth-init");

/// Kills the process (and its children) on drop, so a failing test leaves nothing behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // The command and its orphans are children of berth-init: kill them first, by
        // pid, so that a failed test leaves no `sleep` behind.
        for (pid, _) in children_of(self.0.id()) {
            // SAFETY: kill with plain integers.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Guard {
    Guard(
        Command::new(INIT)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn wait_code(g: &mut Guard, within: Duration) -> i32 {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = g.0.try_wait().unwrap() {
            return status.code().expect("berth-init exits, it is not killed");
        }
        assert!(Instant::now() < deadline, "berth-init did not exit in time");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn children_of(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            let state = fields[0].chars().next().unwrap_or('?');
            let child = entry.file_name().to_string_lossy().parse().unwrap_or(0);
            out.push((child, state));
        }
    }
    out
}

fn signal(g: &Guard, sig: i32) {
    // SAFETY: kill with plain integers on our own child.
    unsafe {
        libc::kill(g.0.id() as i32, sig);
    }
}

#[test]
fn passes_the_exit_code_through() {
    let mut g = spawn(&["--", "sh", "-c", "exit 7"]);
    assert_eq!(wait_code(&mut g, Duration::from_secs(10)), 7);
    let mut g = spawn(&["true"]);
    assert_eq!(wait_code(&mut g, Duration::from_secs(10)), 0);
}

#[test]
fn missing_command_is_127() {
    let g = Command::new(INIT)
        .args(["--", "/nonexistent/cmd"])
        .output()
        .unwrap();
    assert_eq!(g.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&g.stderr).contains("/nonexistent/cmd"));
    let g = Command::new(INIT).output().unwrap();
    assert_eq!(g.status.code(), Some(2), "no command is a usage error");
}

#[test]
fn forwards_sigterm_and_reports_128_plus_signal() {
    let mut g = spawn(&["--", "sleep", "100"]);
    // Let the child exec before signalling.
    std::thread::sleep(Duration::from_millis(200));
    signal(&g, libc::SIGTERM);
    assert_eq!(wait_code(&mut g, Duration::from_secs(10)), 143);
}

#[test]
fn forwards_signals_the_child_handles() {
    let mut g = spawn(&[
        "--",
        "sh",
        "-c",
        "trap 'exit 42' USR1; while :; do sleep 0.05; done",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    signal(&g, libc::SIGUSR1);
    assert_eq!(wait_code(&mut g, Duration::from_secs(10)), 42);
}

#[test]
fn reaps_orphaned_zombies() {
    // The subshell exits at once, orphaning `sleep 0.2`, which comes to berth-init
    // and must be reaped when it exits, while the main command keeps running.
    let mut g = spawn(&["--", "sh", "-c", "(sleep 0.2 &); sleep 1.5"]);
    let pid = g.0.id();
    std::thread::sleep(Duration::from_millis(300));
    let saw_orphan = children_of(pid).len();
    std::thread::sleep(Duration::from_millis(500));
    let zombies: Vec<_> = children_of(pid)
        .into_iter()
        .filter(|(_, s)| *s == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombies left: {zombies:?}");
    assert!(saw_orphan >= 1);
    assert_eq!(wait_code(&mut g, Duration::from_secs(10)), 0);
}

#[test]
fn is_statically_linked() {
    let bytes = std::fs::read(INIT).unwrap();
    // An ELF program header of type PT_INTERP (3) means a dynamic loader is needed.
    assert_eq!(&bytes[..4], b"\x7fELF");
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap()) as usize;
    let phentsize = u16::from_le_bytes(bytes[0x36..0x38].try_into().unwrap()) as usize;
    let phnum = u16::from_le_bytes(bytes[0x38..0x3a].try_into().unwrap()) as usize;
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_ne!(kind, 3, "berth-init has a PT_INTERP: not static");
    }
}
