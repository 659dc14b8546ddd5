//! The `syslog` log driver: each line of the container's output is one syslog message,
//! formatted like dockerd's (its srslog formatters, with the shim's pid where dockerd puts
//! its own), stdout at severity `info` (6), stderr at `err` (3).
//!
//! Transports: the local socket (`/dev/log`, `/var/run/syslog`, `/var/run/log`; datagram,
//! else stream), `unix://PATH` (stream, or datagram when the socket is one),
//! `unixgram://PATH`, `udp://HOST:PORT` and `tcp://HOST:PORT` (messages end with a
//! newline). The connection is made before the container is created, and a failure
//! there fails the start as in docker. After that nothing blocks the supervisor: sockets
//! are non-blocking; a datagram the kernel does not take is dropped and counted; a stream
//! keeps a bounded backlog that is flushed as later messages come (and, bounded in time,
//! at exit); a lost connection is re-established at most once a second, and messages
//! are dropped meanwhile. Drops are reported in the shim's log.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_shim::{SyslogAddress, SyslogFormat, SyslogOptions};

use super::logfile::{Stream, MAX_LINE};
use super::sys;

/// Severities of `stdout` and `stderr` lines.
const SEVERITY_INFO: u32 = 6;
const SEVERITY_ERR: u32 = 3;
/// Where the local syslog daemon listens (srslog's list).
const LOCAL_SOCKETS: [&str; 3] = ["/dev/log", "/var/run/syslog", "/var/run/log"];
/// Unsent bytes kept at most for a stream connection; messages beyond are dropped.
const MAX_STREAM_BACKLOG: usize = 1 << 20;
/// A lost connection is tried again at most this often.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);
/// TCP connect timeout before the container starts, and later from the loop.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RECONNECT_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the stream backlog may take to drain at exit.
const EXIT_FLUSH: Duration = Duration::from_secs(1);

/// Where messages go, resolved.
#[derive(Debug, Clone)]
enum Target {
    Local,
    Unix(PathBuf),
    Unixgram(PathBuf),
    Udp(SocketAddr),
    Tcp(SocketAddr),
}

enum Conn {
    /// One message per datagram.
    Dgram(OwnedFd),
    /// Newline-terminated messages; `queued` messages are (partly) in `backlog`.
    Stream {
        fd: OwnedFd,
        backlog: Vec<u8>,
        queued: u64,
    },
}

/// A syslog log being written.
pub struct Syslog {
    target: Target,
    conn: Option<Conn>,
    last_attempt: Instant,
    facility: u32,
    tag: String,
    format: SyslogFormat,
    hostname: String,
    pid: u32,
    /// Bytes of an unfinished line, per stream.
    partial: [Vec<u8>; 2],
    sent: u64,
    dropped: u64,
    /// Whether drops have been reported since the last successful send.
    reported: bool,
}

impl Syslog {
    /// Connects; the error reads like docker's (`dial tcp 127.0.0.1:1: connect: ...`).
    pub fn open(options: &SyslogOptions, id: &str) -> Result<Syslog, String> {
        let target = match &options.address {
            SyslogAddress::Local => Target::Local,
            SyslogAddress::Unix(p) => Target::Unix(p.clone()),
            SyslogAddress::Unixgram(p) => Target::Unixgram(p.clone()),
            SyslogAddress::Udp(h) => Target::Udp(resolve("udp", h)?),
            SyslogAddress::Tcp(h) => Target::Tcp(resolve("tcp", h)?),
            SyslogAddress::TcpTls(_) => {
                return Err("syslog-address: tcp+tls is not supported".into())
            }
        };
        let conn = connect(&target, CONNECT_TIMEOUT)?;
        Ok(Syslog {
            target,
            conn: Some(conn),
            last_attempt: Instant::now(),
            facility: u32::from(options.facility),
            tag: options
                .tag
                .clone()
                .unwrap_or_else(|| id.chars().take(12).collect()),
            format: options.format,
            hostname: hostname(),
            pid: std::process::id(),
            partial: [Vec::new(), Vec::new()],
            sent: 0,
            dropped: 0,
            reported: false,
        })
    }

    /// Logs a chunk of output: complete lines become messages now, the rest waits.
    pub fn write(&mut self, stream: Stream, data: &[u8]) {
        let mut rest = data;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = (&rest[..i], &rest[i + 1..]);
            let pending = &mut self.partial[stream as usize];
            if pending.is_empty() {
                self.log_line(stream, line);
            } else {
                pending.extend_from_slice(line);
                let whole = std::mem::take(pending);
                self.log_line(stream, &whole);
            }
            rest = tail;
        }
        self.partial[stream as usize].extend_from_slice(rest);
        while self.partial[stream as usize].len() >= MAX_LINE {
            let chunk: Vec<u8> = self.partial[stream as usize].drain(..MAX_LINE).collect();
            self.log_line(stream, &chunk);
        }
    }

    /// At exit: logs unfinished lines, gives a stream backlog a moment to drain and
    /// reports what was dropped.
    pub fn finish(&mut self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let pending = std::mem::take(&mut self.partial[stream as usize]);
            self.log_line(stream, &pending);
        }
        let deadline = Instant::now() + EXIT_FLUSH;
        while let Some(Conn::Stream { fd, backlog, .. }) = &self.conn {
            if backlog.is_empty() || Instant::now() >= deadline {
                break;
            }
            let mut pfd = [libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            }];
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = sys::poll(&mut pfd, left.as_millis().max(1) as i32);
            self.flush_stream();
        }
        if let Some(Conn::Stream {
            backlog, queued, ..
        }) = &mut self.conn
        {
            if !backlog.is_empty() {
                self.dropped += *queued;
                backlog.clear();
                *queued = 0;
            }
        }
        if self.dropped > 0 {
            report(&format!(
                "syslog: {} of {} messages dropped",
                self.dropped,
                self.dropped + self.sent
            ));
        }
    }

    /// Messages sent and dropped so far.
    #[cfg(test)]
    fn counts(&self) -> (u64, u64) {
        (self.sent, self.dropped)
    }

    /// One message, unless the line is empty (as docker).
    fn log_line(&mut self, stream: Stream, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        let severity = match stream {
            Stream::Stdout => SEVERITY_INFO,
            Stream::Stderr => SEVERITY_ERR,
        };
        let message = format_message(
            self.format,
            self.facility * 8 + severity,
            &LocalTime::now(),
            &self.hostname,
            &self.tag,
            self.pid,
            line,
        );
        self.send(&message);
    }

    fn send(&mut self, message: &[u8]) {
        if self.conn.is_none() && !self.reconnect() {
            self.drop_message("not connected");
            return;
        }
        match self.conn.as_mut() {
            Some(Conn::Dgram(fd)) => match sys::send(fd.as_raw_fd(), message) {
                Ok(_) => {
                    self.sent += 1;
                    self.reported = false;
                }
                Err(e) => {
                    // A unix receiver that went away (syslogd restarted) needs a new
                    // connection; for UDP a refusal reports an earlier datagram.
                    let refused = e.raw_os_error() == Some(libc::ECONNREFUSED);
                    let udp = matches!(self.target, Target::Udp(_));
                    let transient = e.kind() == io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::ENOBUFS)
                        || (udp && refused);
                    if !transient {
                        self.conn = None;
                    }
                    self.drop_message(&e.to_string());
                }
            },
            Some(Conn::Stream {
                backlog, queued, ..
            }) => {
                if backlog.len() + message.len() > MAX_STREAM_BACKLOG {
                    self.drop_message("backlog full");
                } else {
                    backlog.extend_from_slice(message);
                    *queued += 1;
                }
                self.flush_stream();
            }
            None => self.drop_message("not connected"),
        }
    }

    /// Writes what a stream connection takes now.
    fn flush_stream(&mut self) {
        let Some(Conn::Stream {
            fd,
            backlog,
            queued,
        }) = self.conn.as_mut()
        else {
            return;
        };
        while !backlog.is_empty() {
            match sys::send(fd.as_raw_fd(), backlog) {
                Ok(n) => {
                    backlog.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    let lost = *queued;
                    self.conn = None;
                    self.dropped += lost;
                    self.note_drop(&e.to_string());
                    return;
                }
            }
        }
        self.sent += *queued;
        *queued = 0;
        self.reported = false;
    }

    fn reconnect(&mut self) -> bool {
        if self.last_attempt.elapsed() < RECONNECT_EVERY {
            return false;
        }
        self.last_attempt = Instant::now();
        match connect(&self.target, RECONNECT_TIMEOUT) {
            Ok(c) => {
                self.conn = Some(c);
                true
            }
            Err(e) => {
                self.note_drop(&e);
                false
            }
        }
    }

    fn drop_message(&mut self, why: &str) {
        self.dropped += 1;
        self.note_drop(why);
    }

    /// Says once (until messages get through again) that messages are being dropped.
    fn note_drop(&mut self, why: &str) {
        if !self.reported {
            self.reported = true;
            report(&format!("syslog: dropping messages: {why}"));
        }
    }
}

fn report(text: &str) {
    eprintln!(
        "{} berth-shim: {text}",
        super::logfile::rfc3339_nano(SystemTime::now())
    );
}

/// `host:port` to an address (the first one, as Go's dialer tries first).
fn resolve(net: &str, host: &str) -> Result<SocketAddr, String> {
    host.to_socket_addrs()
        .map_err(|e| format!("dial {net} {host}: {}", go_error(&e)))?
        .next()
        .ok_or_else(|| format!("dial {net} {host}: no such host"))
}

/// An OS error as Go prints it: `connection refused`, not `Connection refused (os error 111)`.
fn go_error(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

fn connect(target: &Target, timeout: Duration) -> Result<Conn, String> {
    match target {
        Target::Local => {
            for path in LOCAL_SOCKETS {
                if let Ok(fd) = unixgram(Path::new(path)) {
                    return Ok(Conn::Dgram(fd));
                }
                if let Ok(s) = UnixStream::connect(path) {
                    return stream(s.into());
                }
            }
            Err("Unix syslog delivery error".into())
        }
        Target::Unix(path) => match UnixStream::connect(path) {
            Ok(s) => stream(s.into()),
            Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {
                unixgram(path).map(Conn::Dgram).map_err(|e| {
                    format!(
                        "dial unixgram {}: connect: {}",
                        path.display(),
                        go_error(&e)
                    )
                })
            }
            Err(e) => Err(format!(
                "dial unix {}: connect: {}",
                path.display(),
                go_error(&e)
            )),
        },
        Target::Unixgram(path) => unixgram(path).map(Conn::Dgram).map_err(|e| {
            format!(
                "dial unixgram {}: connect: {}",
                path.display(),
                go_error(&e)
            )
        }),
        Target::Udp(addr) => {
            let local: SocketAddr = if addr.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let sock = UdpSocket::bind(local)
                .and_then(|s| s.connect(addr).map(|()| s))
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
                .map_err(|e| format!("dial udp {addr}: {}", go_error(&e)))?;
            Ok(Conn::Dgram(sock.into()))
        }
        Target::Tcp(addr) => {
            let s = TcpStream::connect_timeout(addr, timeout)
                .map_err(|e| format!("dial tcp {addr}: connect: {}", go_error(&e)))?;
            stream(s.into())
        }
    }
}

fn unixgram(path: &Path) -> io::Result<OwnedFd> {
    let sock = UnixDatagram::unbound()?;
    sock.connect(path)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

fn stream(fd: OwnedFd) -> Result<Conn, String> {
    sys::set_nonblocking(fd.as_raw_fd()).map_err(|e| format!("set non-blocking: {e}"))?;
    Ok(Conn::Stream {
        fd,
        backlog: Vec::new(),
        queued: 0,
    })
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is valid for writes of its length; gethostname NUL-terminates
    // within it (or truncates, and the last byte stays 0).
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(0);
    if ok && end > 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "localhost".into()
    }
}

/// The wall clock in the local time zone, as Go's `time.Now()` formats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LocalTime {
    year: i32,
    /// 1..=12
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
    /// Seconds east of UTC.
    offset: i64,
}

impl LocalTime {
    fn now() -> LocalTime {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let t = d.as_secs() as libc::time_t;
        // SAFETY: an all-zero `tm` is a valid value for localtime_r to overwrite.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call; localtime_r is reentrant.
        let ok = !unsafe { libc::localtime_r(&t, &mut tm) }.is_null();
        if !ok {
            // SAFETY: as above, with gmtime_r.
            unsafe { libc::gmtime_r(&t, &mut tm) };
        }
        LocalTime {
            year: tm.tm_year + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            micros: d.subsec_micros(),
            offset: if ok { tm.tm_gmtoff as i64 } else { 0 },
        }
    }

    /// Go's `time.Stamp`: `Jan _2 15:04:05`.
    fn stamp(&self) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {:>2} {:02}:{:02}:{:02}",
            MONTHS[(self.month.clamp(1, 12) - 1) as usize],
            self.day,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// `2006-01-02T15:04:05Z07:00`, with `.000000` before the zone when `micro`.
    fn rfc3339(&self, micro: bool) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if micro {
            s.push_str(&format!(".{:06}", self.micros));
        }
        if self.offset == 0 {
            s.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let abs = self.offset.abs();
            s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60));
        }
        s
    }
}

/// One message in docker's formats, newline-terminated (as srslog sends them).
fn format_message(
    format: SyslogFormat,
    priority: u32,
    time: &LocalTime,
    hostname: &str,
    tag: &str,
    pid: u32,
    line: &[u8],
) -> Vec<u8> {
    let head = match format {
        SyslogFormat::Unix => format!("<{priority}>{} {tag}[{pid}]: ", time.stamp()),
        SyslogFormat::Rfc3164 => {
            format!("<{priority}>{} {hostname} {tag}[{pid}]: ", time.stamp())
        }
        SyslogFormat::Rfc5424 | SyslogFormat::Rfc5424Micro => format!(
            "<{priority}>1 {} {hostname} {tag} {pid} {tag} - ",
            time.rfc3339(format == SyslogFormat::Rfc5424Micro)
        ),
    };
    let mut out = Vec::with_capacity(head.len() + line.len() + 1);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(line);
    if !line.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    const T: LocalTime = LocalTime {
        year: 2024,
        month: 5,
        day: 1,
        hour: 9,
        minute: 3,
        second: 7,
        micros: 42,
        offset: 7200,
    };

    fn text(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn formats_like_docker() {
        let f = |format| text(format_message(format, 30, &T, "host", "tag", 77, b"hi"));
        assert_eq!(f(SyslogFormat::Unix), "<30>May  1 09:03:07 tag[77]: hi\n");
        assert_eq!(
            f(SyslogFormat::Rfc3164),
            "<30>May  1 09:03:07 host tag[77]: hi\n"
        );
        assert_eq!(
            f(SyslogFormat::Rfc5424),
            "<30>1 2024-05-01T09:03:07+02:00 host tag 77 tag - hi\n"
        );
        assert_eq!(
            f(SyslogFormat::Rfc5424Micro),
            "<30>1 2024-05-01T09:03:07.000042+02:00 host tag 77 tag - hi\n"
        );
        let utc = LocalTime {
            offset: 0,
            day: 21,
            ..T
        };
        assert_eq!(utc.rfc3339(false), "2024-05-21T09:03:07Z");
        assert_eq!(utc.stamp(), "May 21 09:03:07");
        let west = LocalTime {
            offset: -(5 * 3600 + 30 * 60),
            ..T
        };
        assert!(west.rfc3339(false).ends_with("-05:30"));
    }

    fn options(address: SyslogAddress) -> SyslogOptions {
        SyslogOptions {
            address,
            tag: Some("t".into()),
            ..Default::default()
        }
    }

    fn recv_all(sock: &UdpSocket) -> Vec<String> {
        sock.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 70_000];
        while let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    }

    #[test]
    fn udp_lines_become_messages() {
        let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let address = SyslogAddress::Udp(format!("127.0.0.1:{port}"));
        let mut log = Syslog::open(&options(address), "0123456789abcdef").unwrap();
        log.write(Stream::Stdout, b"hel");
        log.write(Stream::Stderr, b"oops\n\n");
        log.write(Stream::Stdout, b"lo\nwor");
        log.finish();
        let got = recv_all(&listener);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got[0].starts_with("<27>")
                && got[0].ends_with(
                    " t[{}]: oops\n"
                        .replace("{}", &std::process::id().to_string())
                        .as_str()
                ),
            "{}",
            got[0]
        );
        assert!(
            got[1].starts_with("<30>") && got[1].ends_with("]: hello\n"),
            "{}",
            got[1]
        );
        assert!(
            got[2].starts_with("<30>") && got[2].ends_with("]: wor\n"),
            "{}",
            got[2]
        );
    }

    #[test]
    fn udp_messages_have_priority_tag_and_text() {
        let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut o = options(SyslogAddress::Udp(format!("127.0.0.1:{port}")));
        o.tag = None;
        o.facility = 16;
        let mut log = Syslog::open(&o, "0123456789abcdef").unwrap();
        log.write(Stream::Stdout, b"hello\n");
        log.write(Stream::Stderr, b"oops\n");
        log.finish();
        let got = recv_all(&listener);
        let pid = std::process::id();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("<134>"), "{}", got[0]);
        assert!(
            got[0].ends_with(&format!(" 0123456789ab[{pid}]: hello\n")),
            "{}",
            got[0]
        );
        assert!(got[1].starts_with("<131>"), "{}", got[1]);
        assert!(got[1].ends_with("]: oops\n"), "{}", got[1]);
    }

    #[test]
    fn long_lines_are_split() {
        let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let address = SyslogAddress::Udp(format!("127.0.0.1:{port}"));
        let mut log = Syslog::open(&options(address), "id").unwrap();
        log.write(Stream::Stdout, &vec![b'x'; MAX_LINE + 10]);
        log.write(Stream::Stdout, b"\n");
        log.finish();
        let got = recv_all(&listener);
        assert_eq!(got.len(), 2);
        assert!(got[0].ends_with(&format!("{}\n", "x".repeat(MAX_LINE))));
        assert!(got[1].ends_with(": xxxxxxxxxx\n"));
    }

    #[test]
    fn a_missing_receiver_never_blocks() {
        // A port nobody listens on: sends are refused (ICMP) or vanish; nothing blocks.
        let port = {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let address = SyslogAddress::Udp(format!("127.0.0.1:{port}"));
        let mut log = Syslog::open(&options(address), "id").unwrap();
        let started = Instant::now();
        for _ in 0..2000 {
            log.write(Stream::Stdout, b"into the void\n");
        }
        log.finish();
        assert!(started.elapsed() < Duration::from_secs(5));
        let (sent, dropped) = log.counts();
        assert_eq!(sent + dropped, 2000);
        assert!(dropped > 0, "ICMP refusals are counted as drops");
    }

    #[test]
    fn unixgram_full_queue_drops_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let receiver = UnixDatagram::bind(&path).unwrap();
        let url = format!("unixgram://{}", path.display());
        let address = SyslogAddress::parse(&url).unwrap();
        let mut log = Syslog::open(&options(address), "id").unwrap();
        let started = Instant::now();
        // Nobody reads: the receive queue fills up, then messages are dropped.
        for _ in 0..5000 {
            log.write(Stream::Stdout, &[b'y'; 1000]);
            log.write(Stream::Stdout, b"\n");
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        let (sent, dropped) = log.counts();
        assert_eq!(sent + dropped, 5000);
        assert!(sent > 0 && dropped > 0, "sent {sent} dropped {dropped}");
        let mut buf = [0u8; 2048];
        let n = receiver.recv(&mut buf).unwrap();
        assert!(buf[..n].ends_with(b"yyy\n"));
        // The receiver goes away: still no error, no block.
        drop(receiver);
        log.write(Stream::Stdout, b"gone\n");
        log.finish();
    }

    #[test]
    fn tcp_messages_are_newline_framed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut o = options(SyslogAddress::Tcp(format!("127.0.0.1:{port}")));
        o.format = SyslogFormat::Rfc5424;
        let mut log = Syslog::open(&o, "id").unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        log.write(Stream::Stdout, b"one\ntwo\n");
        log.write(Stream::Stderr, b"three");
        log.finish();
        drop(log);
        let mut got = String::new();
        peer.read_to_string(&mut got).unwrap();
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines.len(), 3, "{got}");
        assert!(lines[0].starts_with("<30>1 ") && lines[0].ends_with(" t - one"));
        assert!(lines[2].starts_with("<27>1 ") && lines[2].ends_with(" t - three"));
    }

    #[test]
    fn unreachable_tcp_fails_like_docker() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let o = options(SyslogAddress::Tcp(format!("127.0.0.1:{port}")));
        let err = Syslog::open(&o, "id").err().unwrap();
        assert_eq!(
            err,
            format!("dial tcp 127.0.0.1:{port}: connect: connection refused")
        );
        let o = options(SyslogAddress::Unixgram("/nonexistent/log".into()));
        let err = Syslog::open(&o, "id").err().unwrap();
        assert_eq!(
            err,
            "dial unixgram /nonexistent/log: connect: no such file or directory"
        );
    }
}
