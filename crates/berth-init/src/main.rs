//! `berth-init`: the tiny PID 1 behind `docker run --init`.
//!
//! `berth-init [--] CMD [ARG...]` runs CMD as its child, forwards every signal it
//! receives to that child, reaps all zombies (it is PID 1 of the container, or a child
//! subreaper elsewhere), and exits with the child's status: its exit code, or 128 + the
//! signal that killed it. It is linked statically so that it runs in any image.
//!
//! The process is single-threaded: all catchable signals stay blocked and are consumed
//! with `sigtimedwait`, so no code ever runs in a signal handler.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;

/// Signals the kernel raises synchronously for a faulting thread: never forwarded.
const SYNCHRONOUS: &[libc::c_int] = &[
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

const USAGE: &str = "usage: berth-init [--] CMD [ARG...]\n\
Runs CMD, forwards signals to it, reaps zombies, exits with its status.";

fn eprint(msg: &str) {
    let line = format!("berth-init: {msg}\n");
    // SAFETY: writing a valid buffer to stderr.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
    }
}

/// The full signal set minus the synchronous ones (and the unblockable KILL/STOP).
fn forwardable_set() -> libc::sigset_t {
    // SAFETY: sigfillset/sigdelset initialise and edit a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for s in SYNCHRONOUS {
            libc::sigdelset(&mut set, *s);
        }
        set
    }
}

/// Maps a wait status to a shell-style exit code.
fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// In the forked child: restore the signal state and exec the command.
fn exec_child(argv: &[CString], parent_mask: &libc::sigset_t) -> ! {
    // SAFETY: only async-signal-safe calls between fork and exec: setpgid, sigprocmask,
    // signal, execvp, write, _exit. `argv` holds valid NUL-terminated strings.
    unsafe {
        // Own process group, so that a TTY's job control targets the command.
        libc::setpgid(0, 0);
        for sig in 1..libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        libc::sigprocmask(libc::SIG_SETMASK, parent_mask, std::ptr::null_mut());
        let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        libc::execvp(ptrs[0], ptrs.as_ptr());
        let err = std::io::Error::last_os_error();
        let code = match err.raw_os_error() {
            Some(libc::ENOENT) => 127,
            _ => 126,
        };
        eprint(&format!("exec {} failed: {err}", argv[0].to_string_lossy()));
        libc::_exit(code)
    }
}

fn run(args: Vec<OsString>) -> i32 {
    let mut args = args;
    if args.first().map(|a| a == "--").unwrap_or(false) {
        args.remove(0);
    } else if let Some(first) = args.first() {
        match first.to_str() {
            Some("-h") | Some("--help") => {
                println!("{USAGE}");
                return 0;
            }
            Some("--version") => {
                println!("berth-init {}", env!("CARGO_PKG_VERSION"));
                return 0;
            }
            _ => {}
        }
    }
    if args.is_empty() {
        eprint(USAGE);
        return 2;
    }
    let argv: Vec<CString> = match args
        .into_iter()
        .map(|a| CString::new(a.into_vec()))
        .collect::<Result<_, _>>()
    {
        Ok(v) => v,
        Err(_) => {
            eprint("arguments must not contain NUL bytes");
            return 2;
        }
    };

    let set = forwardable_set();
    // SAFETY: plain libc calls on valid local structures; the process is single-threaded.
    let (child, old_mask) = unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        // Outside a PID namespace orphans would go to the host's init: take them.
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        let pid = libc::fork();
        if pid < 0 {
            eprint(&format!("fork: {}", std::io::Error::last_os_error()));
            return 1;
        }
        if pid == 0 {
            exec_child(&argv, &old);
        }
        // Give the command the terminal, if we have one, so job control works.
        if libc::isatty(0) == 1 {
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetpgrp(0, pid);
        }
        (pid, old)
    };
    let _ = old_mask;

    let mut child_status: Option<i32> = None;
    loop {
        // Reap everything that has exited: the command and any orphan.
        loop {
            let mut status = 0;
            // SAFETY: `status` is a valid out-pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == child {
                child_status = Some(exit_code(status));
            }
        }
        if let Some(code) = child_status {
            return code;
        }
        let timeout = libc::timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        // SAFETY: `info` is a valid out-parameter, `set` and `timeout` are initialised.
        let sig = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::sigtimedwait(&set, &mut info, &timeout)
        };
        if sig <= 0 || sig == libc::SIGCHLD {
            continue;
        }
        // SAFETY: kill with plain integers; the child is not reaped yet, so its pid
        // still names it.
        unsafe {
            libc::kill(child, sig);
        }
    }
}

fn main() {
    let code = run(std::env::args_os().skip(1).collect());
    std::process::exit(code);
}
