//! The shim's command line, shared by the binary (parsing) and its callers (building).
//!
//! ```text
//! berth-shim --id ID --bundle DIR --state-dir DIR
//!            [--runtime-root DIR]      libcontainer state (default STATE_DIR/runtime)
//!            [--log-path FILE]         json-file log (default STATE_DIR/ID-json.log)
//!            [--log-driver json-file|none|syslog]
//!            [--log-max-size BYTES] [--log-max-file N]
//!            [--syslog-address URL]    unix:///dev/log (default), unixgram://PATH,
//!                                      udp://HOST:PORT, tcp://HOST:PORT
//!            [--syslog-facility NAME|N] (default daemon)
//!            [--syslog-tag TAG]        (default: the short container ID)
//!            [--syslog-format rfc3164|rfc5424|rfc5424micro]
//!            [--stdin] [--stdin-once]  keep a stdin pipe for attach (docker -i)
//!            [--no-start]              create only; start on a `start` request
//!            [--foreground]            do not detach (debugging, tests)
//! ```

use std::ffi::OsString;
use std::path::PathBuf;

/// Parsed `berth-shim` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShimOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub state_dir: PathBuf,
    pub runtime_root: Option<PathBuf>,
    pub log_path: Option<PathBuf>,
    /// False with `--log-driver none`.
    pub log: bool,
    /// `--log-driver syslog` (with `log`): output goes to syslog, not the json-file log.
    pub syslog: Option<SyslogOptions>,
    /// Rotate the log when it reaches this many bytes (0 = never).
    pub log_max_size: u64,
    /// Number of log files kept, the live one included (min 1).
    pub log_max_file: u32,
    pub stdin: bool,
    pub stdin_once: bool,
    pub no_start: bool,
    pub foreground: bool,
}

impl ShimOptions {
    pub fn new(id: &str, bundle: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        ShimOptions {
            id: id.to_string(),
            bundle: bundle.into(),
            state_dir: state_dir.into(),
            log: true,
            log_max_file: 1,
            ..Default::default()
        }
    }

    /// Where libcontainer keeps its state for this container's id.
    pub fn runtime_root(&self) -> PathBuf {
        self.runtime_root
            .clone()
            .unwrap_or_else(|| self.state_dir.join("runtime"))
    }

    /// The json-file log.
    pub fn log_path(&self) -> PathBuf {
        self.log_path
            .clone()
            .unwrap_or_else(|| self.state_dir.join(format!("{}-json.log", self.id)))
    }

    /// The arguments that reproduce these options (without the program name).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "--id".into(),
            self.id.clone().into(),
            "--bundle".into(),
            self.bundle.clone().into(),
            "--state-dir".into(),
            self.state_dir.clone().into(),
        ];
        if let Some(r) = &self.runtime_root {
            a.push("--runtime-root".into());
            a.push(r.clone().into());
        }
        if let Some(p) = &self.log_path {
            a.push("--log-path".into());
            a.push(p.clone().into());
        }
        if !self.log {
            a.push("--log-driver".into());
            a.push("none".into());
        } else if let Some(syslog) = &self.syslog {
            a.push("--log-driver".into());
            a.push("syslog".into());
            if syslog.address != SyslogAddress::Local {
                a.push("--syslog-address".into());
                a.push(syslog.address.to_url().into());
            }
            if syslog.facility != FACILITY_DAEMON {
                a.push("--syslog-facility".into());
                a.push(syslog.facility.to_string().into());
            }
            if let Some(tag) = &syslog.tag {
                a.push("--syslog-tag".into());
                a.push(tag.into());
            }
            if let Some(name) = syslog.format.name() {
                a.push("--syslog-format".into());
                a.push(name.into());
            }
        }
        if self.log_max_size > 0 {
            a.push("--log-max-size".into());
            a.push(self.log_max_size.to_string().into());
        }
        if self.log_max_file > 1 {
            a.push("--log-max-file".into());
            a.push(self.log_max_file.to_string().into());
        }
        for (flag, on) in [
            ("--stdin", self.stdin),
            ("--stdin-once", self.stdin_once),
            ("--no-start", self.no_start),
            ("--foreground", self.foreground),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        a
    }

    /// Parses arguments (without the program name).
    pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Self, String> {
        let mut o = ShimOptions {
            log: true,
            log_max_file: 1,
            ..Default::default()
        };
        let mut syslog = SyslogOptions::default();
        let mut syslog_flags = false;
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let arg = arg
                .into_string()
                .map_err(|a| format!("invalid argument {a:?}"))?;
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(OsString::from(v))),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<OsString, String> {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            let text = |v: OsString, name: &str| -> Result<String, String> {
                v.into_string().map_err(|_| format!("{name}: not UTF-8"))
            };
            match flag.as_str() {
                "--id" => o.id = text(value("--id")?, "--id")?,
                "--bundle" => o.bundle = value("--bundle")?.into(),
                "--state-dir" => o.state_dir = value("--state-dir")?.into(),
                "--runtime-root" => o.runtime_root = Some(value("--runtime-root")?.into()),
                "--log-path" => o.log_path = Some(value("--log-path")?.into()),
                "--log-driver" => match text(value("--log-driver")?, "--log-driver")?.as_str() {
                    "json-file" => (o.log, o.syslog) = (true, None),
                    "none" => (o.log, o.syslog) = (false, None),
                    "syslog" => (o.log, o.syslog) = (true, Some(SyslogOptions::default())),
                    other => return Err(format!("unsupported log driver {other:?}")),
                },
                "--syslog-address" => {
                    let url = text(value("--syslog-address")?, "--syslog-address")?;
                    syslog.address =
                        SyslogAddress::parse(&url).map_err(|e| format!("--syslog-address: {e}"))?;
                    syslog_flags = true;
                }
                "--syslog-facility" => {
                    let f = text(value("--syslog-facility")?, "--syslog-facility")?;
                    syslog.facility =
                        parse_facility(&f).map_err(|e| format!("--syslog-facility: {e}"))?;
                    syslog_flags = true;
                }
                "--syslog-tag" => {
                    syslog.tag = Some(text(value("--syslog-tag")?, "--syslog-tag")?);
                    syslog_flags = true;
                }
                "--syslog-format" => {
                    let f = text(value("--syslog-format")?, "--syslog-format")?;
                    syslog.format =
                        SyslogFormat::parse(&f).map_err(|e| format!("--syslog-format: {e}"))?;
                    syslog_flags = true;
                }
                "--log-max-size" => {
                    o.log_max_size = text(value("--log-max-size")?, "--log-max-size")?
                        .parse()
                        .map_err(|_| "--log-max-size: not a number".to_string())?
                }
                "--log-max-file" => {
                    o.log_max_file = text(value("--log-max-file")?, "--log-max-file")?
                        .parse::<u32>()
                        .map_err(|_| "--log-max-file: not a number".to_string())?
                        .max(1)
                }
                "--stdin" => o.stdin = true,
                "--stdin-once" => o.stdin_once = true,
                "--no-start" => o.no_start = true,
                "--foreground" => o.foreground = true,
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        if o.id.is_empty() || o.bundle.as_os_str().is_empty() || o.state_dir.as_os_str().is_empty()
        {
            return Err("--id, --bundle and --state-dir are required".into());
        }
        match &mut o.syslog {
            Some(s) => *s = syslog,
            None if syslog_flags => {
                return Err("--syslog-* options need --log-driver syslog".into())
            }
            None => {}
        }
        Ok(o)
    }
}

/// The `daemon` facility, docker's default for `syslog-facility`.
pub const FACILITY_DAEMON: u8 = 3;

/// Settings of the `syslog` log driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogOptions {
    pub address: SyslogAddress,
    /// 0..=23 (`kern` .. `local7`).
    pub facility: u8,
    /// The expanded `tag`; `None` is docker's default, the short container ID.
    pub tag: Option<String>,
    pub format: SyslogFormat,
}

impl Default for SyslogOptions {
    fn default() -> Self {
        SyslogOptions {
            address: SyslogAddress::Local,
            facility: FACILITY_DAEMON,
            tag: None,
            format: SyslogFormat::Unix,
        }
    }
}

/// Where syslog messages go (`syslog-address`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SyslogAddress {
    /// No address: the local syslog socket (`/dev/log`, datagram or stream).
    #[default]
    Local,
    /// `unix://PATH`: a stream socket (a datagram socket is used when the path is one).
    Unix(PathBuf),
    /// `unixgram://PATH`.
    Unixgram(PathBuf),
    /// `udp://HOST:PORT` (port 514 when missing).
    Udp(String),
    /// `tcp://HOST:PORT` (port 514 when missing); messages end with a newline.
    Tcp(String),
    /// `tcp+tls://HOST:PORT`: accepted by docker, not supported by berth.
    TcpTls(String),
}

impl SyslogAddress {
    /// Parses a `syslog-address` with docker's rules and error messages (Go's
    /// `url.Parse`, then the scheme, then `host:port` with 514 as the default port). The
    /// existence of a unix socket path is not checked here.
    pub fn parse(address: &str) -> Result<Self, String> {
        if address.is_empty() {
            return Ok(SyslogAddress::Local);
        }
        let bad = |why: String| format!("parse {address:?}: {why}");
        let (scheme, rest) = match address.split_once(':') {
            Some((scheme, rest)) if valid_scheme(scheme) => (scheme.to_ascii_lowercase(), rest),
            Some((first, _)) if !first.contains('/') => {
                return Err(bad(if first.is_empty() {
                    "missing protocol scheme".into()
                } else {
                    "first path segment in URL cannot contain colon".into()
                }))
            }
            _ => (String::new(), address),
        };
        // `//authority/path`, or an opaque/relative remainder without an authority.
        let (authority, path) = match rest.strip_prefix("//") {
            Some(r) => {
                let end = r.find(['/', '?', '#']).unwrap_or(r.len());
                let path_end = r.find(['?', '#']).unwrap_or(r.len()).max(end);
                (&r[..end], &r[end..path_end])
            }
            None => ("", rest.split(['?', '#']).next().unwrap_or("")),
        };
        // Go's url.Parse checks the port of the authority.
        if let Some(i) = authority.rfind(':') {
            let port = &authority[i..];
            if !authority[i..].contains(']') && !port[1..].bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("invalid port {port:?} after host")));
            }
        }
        match scheme.as_str() {
            "unix" => Ok(SyslogAddress::Unix(PathBuf::from(path))),
            "unixgram" => Ok(SyslogAddress::Unixgram(PathBuf::from(path))),
            "udp" | "tcp" | "tcp+tls" => {
                let host = with_default_port(authority)?;
                Ok(match scheme.as_str() {
                    "udp" => SyslogAddress::Udp(host),
                    "tcp" => SyslogAddress::Tcp(host),
                    _ => SyslogAddress::TcpTls(host),
                })
            }
            other => Err(format!("unsupported scheme: '{other}'")),
        }
    }

    /// The URL form that [`SyslogAddress::parse`] reads back.
    pub fn to_url(&self) -> String {
        match self {
            SyslogAddress::Local => String::new(),
            SyslogAddress::Unix(p) => format!("unix://{}", p.display()),
            SyslogAddress::Unixgram(p) => format!("unixgram://{}", p.display()),
            SyslogAddress::Udp(h) => format!("udp://{h}"),
            SyslogAddress::Tcp(h) => format!("tcp://{h}"),
            SyslogAddress::TcpTls(h) => format!("tcp+tls://{h}"),
        }
    }
}

/// Go's URL scheme syntax: a letter, then letters, digits, `+`, `-`, `.`.
fn valid_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `host:port` as Go's `net.SplitHostPort` accepts it, `host:514` when the port is missing.
fn with_default_port(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        return match host.find(']') {
            None => Err(format!("address {host}: missing ']' in address")),
            Some(i) if host[i + 1..].starts_with(':') => Ok(host.to_string()),
            Some(i) if i + 1 == host.len() => Ok(format!("{host}:514")),
            Some(_) => Err(format!("address {host}: missing port in address")),
        };
    }
    match host.matches(':').count() {
        0 => Ok(format!("{host}:514")),
        1 => Ok(host.to_string()),
        _ => Err(format!("address {host}: too many colons in address")),
    }
}

/// A `syslog-facility`: a name (`daemon`, `local0`, ...) or a number 0..=23.
pub fn parse_facility(facility: &str) -> Result<u8, String> {
    const NAMES: [&str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "", "", "", "", "local0", "local1", "local2", "local3", "local4",
        "local5", "local6", "local7",
    ];
    if facility.is_empty() {
        return Ok(FACILITY_DAEMON);
    }
    if let Some(n) = NAMES.iter().position(|n| !n.is_empty() && *n == facility) {
        return Ok(n as u8);
    }
    match facility.parse::<i64>() {
        Ok(n) if (0..=23).contains(&n) => Ok(n as u8),
        _ => Err("invalid syslog facility".into()),
    }
}

/// The message format (`syslog-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogFormat {
    /// Docker's default: `<PRI>Mon _2 15:04:05 TAG[PID]: MESSAGE`.
    #[default]
    Unix,
    /// `<PRI>Mon _2 15:04:05 HOSTNAME TAG[PID]: MESSAGE`.
    Rfc3164,
    /// `<PRI>1 2006-01-02T15:04:05Z07:00 HOSTNAME TAG PID TAG - MESSAGE`.
    Rfc5424,
    /// As `Rfc5424` with microseconds.
    Rfc5424Micro,
}

impl SyslogFormat {
    pub fn parse(format: &str) -> Result<Self, String> {
        match format {
            "" => Ok(SyslogFormat::Unix),
            "rfc3164" => Ok(SyslogFormat::Rfc3164),
            "rfc5424" => Ok(SyslogFormat::Rfc5424),
            "rfc5424micro" => Ok(SyslogFormat::Rfc5424Micro),
            _ => Err("Invalid syslog format".into()),
        }
    }

    /// The option value, `None` for the default.
    pub fn name(self) -> Option<&'static str> {
        match self {
            SyslogFormat::Unix => None,
            SyslogFormat::Rfc3164 => Some("rfc3164"),
            SyslogFormat::Rfc5424 => Some("rfc5424"),
            SyslogFormat::Rfc5424Micro => Some("rfc5424micro"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut o = ShimOptions::new("abc", "/b", "/s");
        o.log_max_size = 1024;
        o.log_max_file = 3;
        o.stdin = true;
        o.no_start = true;
        o.log_path = Some("/var/lib/berth/containers/abc/abc-json.log".into());
        let back = ShimOptions::parse(o.to_args()).unwrap();
        assert_eq!(back, o);
        assert_eq!(back.runtime_root(), PathBuf::from("/s/runtime"));
    }

    #[test]
    fn errors() {
        assert!(ShimOptions::parse(vec![OsString::from("--id")]).is_err());
        assert!(ShimOptions::parse(vec![OsString::from("--bogus")]).is_err());
        assert!(ShimOptions::parse(Vec::<OsString>::new()).is_err());
        let o = ShimOptions::parse(
            [
                "--id=x",
                "--bundle=/b",
                "--state-dir",
                "/s",
                "--log-driver=none",
            ]
            .iter()
            .map(OsString::from),
        )
        .unwrap();
        assert!(!o.log);
        assert_eq!(o.log_path(), PathBuf::from("/s/x-json.log"));
    }

    #[test]
    fn syslog_round_trip() {
        let mut o = ShimOptions::new("abc", "/b", "/s");
        o.syslog = Some(SyslogOptions {
            address: SyslogAddress::Udp("127.0.0.1:5514".into()),
            facility: 16,
            tag: Some("my tag".into()),
            format: SyslogFormat::Rfc5424Micro,
        });
        let back = ShimOptions::parse(o.to_args()).unwrap();
        assert_eq!(back, o);
        o.syslog = Some(SyslogOptions::default());
        assert_eq!(ShimOptions::parse(o.to_args()).unwrap(), o);
        let mut args = ShimOptions::new("abc", "/b", "/s").to_args();
        args.push("--syslog-tag=x".into());
        assert!(ShimOptions::parse(args).is_err());
    }

    #[test]
    fn syslog_addresses_like_docker() {
        use SyslogAddress::*;
        let ok = |s: &str| SyslogAddress::parse(s).unwrap();
        let err = |s: &str| SyslogAddress::parse(s).unwrap_err();
        assert_eq!(ok(""), Local);
        assert_eq!(ok("udp://127.0.0.1:5514"), Udp("127.0.0.1:5514".into()));
        assert_eq!(ok("udp://127.0.0.1"), Udp("127.0.0.1:514".into()));
        assert_eq!(ok("tcp://logs.example:601"), Tcp("logs.example:601".into()));
        assert_eq!(ok("tcp://[::1]:601"), Tcp("[::1]:601".into()));
        assert_eq!(ok("tcp://[::1]"), Tcp("[::1]:514".into()));
        assert_eq!(ok("unix:///dev/log"), Unix("/dev/log".into()));
        assert_eq!(ok("unixgram:///run/x.sock"), Unixgram("/run/x.sock".into()));
        assert_eq!(err("foo://bar"), "unsupported scheme: 'foo'");
        assert_eq!(err("localhost"), "unsupported scheme: ''");
        assert_eq!(
            err("127.0.0.1:514"),
            "parse \"127.0.0.1:514\": first path segment in URL cannot contain colon"
        );
        assert_eq!(
            err("udp://127.0.0.1:abc"),
            "parse \"udp://127.0.0.1:abc\": invalid port \":abc\" after host"
        );
        for a in ["udp://127.0.0.1:5514", "unix:///dev/log", "tcp://h:1"] {
            assert_eq!(ok(&ok(a).to_url()), ok(a));
        }
    }

    #[test]
    fn facilities_and_formats() {
        assert_eq!(parse_facility(""), Ok(3));
        assert_eq!(parse_facility("local0"), Ok(16));
        assert_eq!(parse_facility("kern"), Ok(0));
        assert_eq!(parse_facility("23"), Ok(23));
        assert!(parse_facility("24").is_err());
        assert!(parse_facility("bogus").is_err());
        assert_eq!(SyslogFormat::parse("rfc5424"), Ok(SyslogFormat::Rfc5424));
        assert_eq!(
            SyslogFormat::parse("json"),
            Err("Invalid syslog format".to_string())
        );
    }
}
