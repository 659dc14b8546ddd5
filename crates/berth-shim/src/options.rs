//! The shim's command line, shared by the binary (parsing) and its callers (building).
//!
//! ```text
//! berth-shim --id ID --bundle DIR --state-dir DIR
//!            [--runtime-root DIR]      libcontainer state (default STATE_DIR/runtime)
//!            [--log-path FILE]         json-file log (default STATE_DIR/ID-json.log)
//!            [--log-driver json-file|none]
//!            [--log-max-size BYTES] [--log-max-file N]
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
                    "json-file" => o.log = true,
                    "none" => o.log = false,
                    other => return Err(format!("unsupported log driver {other:?}")),
                },
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
        Ok(o)
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
}
