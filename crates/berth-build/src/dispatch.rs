//! What each instruction does to a stage's state: metadata instructions change the image
//! config here; `RUN`, `COPY` and `ADD` come back as actions for the engine to execute.
//! The history lines (`CreatedBy`) follow docker's classic builder.

use std::collections::{BTreeMap, HashMap};

use berth_image::config::ContainerConfig;
use serde_json::{json, Value};

use crate::error::BuildError;
use crate::parser::{json_array, Node};
use crate::words::Lexer;

/// Build args usable without an `ARG`, and kept out of history (docker's list).
pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A name and its value.
type Pair = (String, String);

const DEFAULT_SHELL: &[&str] = &["/bin/sh", "-c"];

/// The state of one stage while it builds.
#[derive(Debug, Clone)]
pub struct StageState {
    pub lexer: Lexer,
    /// The current image (`None`: `FROM scratch` before any step).
    pub image: Option<String>,
    pub config: ContainerConfig,
    /// `MAINTAINER` (the image's `Author`).
    pub author: Option<String>,
    /// Declared `ARG`s in scope, in order, with their values.
    pub args: Vec<(String, Option<String>)>,
    /// `--build-arg` values of the request.
    pub build_args: HashMap<String, Option<String>>,
    /// Values of the `ARG`s before the first FROM (usable after a redeclaration).
    pub meta_args: Vec<(String, Option<String>)>,
    /// A `CMD` ran in this stage (an `ENTRYPOINT` then keeps it).
    pub cmd_set: bool,
}

/// What the engine must do for an instruction.
#[derive(Debug, Clone)]
pub enum Action {
    /// The config changed: an image with no new layer.
    Commit {
        created_by: String,
    },
    /// Run `cmd` in a container of the current image.
    Run {
        cmd: Vec<String>,
        /// The container's environment: the config's plus the build args in scope.
        env: Vec<String>,
        created_by: String,
    },
    Copy(CopySpec),
}

/// A `COPY` or `ADD`.
#[derive(Debug, Clone)]
pub struct CopySpec {
    pub add: bool,
    pub sources: Vec<Source>,
    /// Absolute, as written after expansion (a trailing `/` means a folder).
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path (or wildcard) in the context or the `--from` image.
    Path(String),
    /// An `http(s)://` URL (`ADD`).
    Url(String),
    /// A heredoc: a file with this name and content.
    Inline { name: String, content: String },
}

impl StageState {
    pub fn new(lexer: Lexer, build_args: HashMap<String, Option<String>>) -> StageState {
        StageState {
            lexer,
            image: None,
            config: ContainerConfig::default(),
            author: None,
            args: Vec::new(),
            build_args,
            meta_args: Vec::new(),
            cmd_set: false,
        }
    }

    /// The variables expansion sees: `ENV` wins over `ARG`.
    pub fn lookup(&self, name: &str) -> Option<String> {
        if let Some(env) = &self.config.env {
            for entry in env.iter().rev() {
                if let Some((k, v)) = entry.split_once('=') {
                    if k == name {
                        return Some(v.to_string());
                    }
                }
            }
        }
        self.args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    }

    pub fn expand(&self, text: &str) -> Result<String, BuildError> {
        self.lexer.expand(text, &|n: &str| self.lookup(n))
    }

    pub fn expand_words(&self, text: &str) -> Result<Vec<String>, BuildError> {
        self.lexer.expand_words(text, &|n: &str| self.lookup(n))
    }

    fn shell(&self) -> Vec<String> {
        self.config
            .shell
            .clone()
            .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect())
    }

    /// Declares an `ARG` (value: `--build-arg`, else the default, else a meta arg).
    pub fn declare_arg(&mut self, name: &str, default: Option<String>, meta: bool) {
        let value = match self.build_args.get(name) {
            Some(v) => v.clone().or(default),
            None => default.or_else(|| {
                if meta {
                    None
                } else {
                    self.meta_args
                        .iter()
                        .rev()
                        .find(|(k, _)| k == name)
                        .and_then(|(_, v)| v.clone())
                }
            }),
        };
        self.args.retain(|(k, _)| k != name);
        self.args.push((name.to_string(), value));
    }

    /// Build args with a value that a RUN sees: declared ones, plus proxy args given on
    /// the command line.
    fn run_args(&self) -> (Vec<Pair>, Vec<Pair>) {
        let declared: Vec<(String, String)> = self
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        let proxies: Vec<(String, String)> = PROXY_ARGS
            .iter()
            .filter(|p| !self.args.iter().any(|(k, _)| k == *p))
            .filter_map(|p| {
                self.build_args
                    .get(*p)
                    .cloned()
                    .flatten()
                    .map(|v| (p.to_string(), v))
            })
            .collect();
        (declared, proxies)
    }

    /// The next action for `node` (not `FROM`, handled by the engine).
    pub fn dispatch(&mut self, node: &Node) -> Result<Action, BuildError> {
        self.dispatch_inner(node).map_err(|e| e.at_line(node.line))
    }

    fn dispatch_inner(&mut self, node: &Node) -> Result<Action, BuildError> {
        let keyword = node.keyword.as_str();
        match keyword {
            "copy" | "add" => {}
            "healthcheck" => node.check_flags(&[
                "interval",
                "timeout",
                "start-period",
                "start-interval",
                "retries",
            ])?,
            "run" => node.check_flags(&[])?,
            _ => {}
        }
        match keyword {
            "run" => self.run(node),
            "cmd" => {
                let cmd = self.command(node);
                self.config.cmd = Some(cmd.clone());
                self.cmd_set = true;
                Ok(self.commit(format!("CMD {}", go_quote_list(&cmd))))
            }
            "entrypoint" => {
                let entrypoint = self.command(node);
                // docker: a new ENTRYPOINT resets a CMD inherited from the base image.
                self.config.entrypoint = if node.args.trim().is_empty() {
                    None
                } else {
                    Some(entrypoint.clone())
                };
                if !self.cmd_set {
                    self.config.cmd = None;
                }
                Ok(self.commit(format!("ENTRYPOINT {}", go_quote_list(&entrypoint))))
            }
            "env" => {
                let pairs = self.key_values(node, "ENV")?;
                let mut env = self.config.env.clone().unwrap_or_default();
                let mut message = String::from("ENV");
                for (k, v) in pairs {
                    env.retain(|e| {
                        e.split_once('=').map(|(ek, _)| ek) != Some(k.as_str()) && e != &k
                    });
                    env.push(format!("{k}={v}"));
                    message.push_str(&format!(" {k}={v}"));
                }
                self.config.env = Some(env);
                Ok(self.commit(message))
            }
            "label" => {
                let pairs = self.key_values(node, "LABEL")?;
                let mut labels = self.config.labels.clone().unwrap_or_default();
                let mut message = String::from("LABEL");
                for (k, v) in pairs {
                    message.push_str(&format!(" {k}={v}"));
                    labels.insert(k, v);
                }
                self.config.labels = Some(labels);
                Ok(self.commit(message))
            }
            "arg" => {
                let mut message = String::from("ARG");
                for word in node.args.split_whitespace() {
                    let (name, default) = match word.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(self.expand(v)?)),
                        None => (word.to_string(), None),
                    };
                    if name.is_empty() {
                        return Err(BuildError::syntax("ARG names can not be blank"));
                    }
                    message.push(' ');
                    message.push_str(word);
                    self.declare_arg(&name, default, false);
                }
                Ok(self.commit(message))
            }
            "maintainer" => {
                let name = node.args.trim().to_string();
                self.author = Some(name.clone());
                Ok(self.commit(format!("MAINTAINER {name}")))
            }
            "user" => {
                let user = self.expand(node.args.trim())?;
                self.config.user = Some(user.clone());
                Ok(self.commit(format!("USER {user}")))
            }
            "workdir" => {
                let dir = self.expand(node.args.trim())?;
                let base = self
                    .config
                    .working_dir
                    .clone()
                    .unwrap_or_else(|| "/".into());
                let joined = clean_path(&join_path(&base, &dir));
                self.config.working_dir = Some(joined.clone());
                // docker writes WORKDIR's history with a single space after `#(nop)`.
                Ok(Action::Commit {
                    created_by: format!("{} #(nop) WORKDIR {joined}", self.shell().join(" ")),
                })
            }
            "volume" => {
                let volumes = match node.json_args() {
                    Some(list) => list
                        .into_iter()
                        .map(|v| self.expand(&v))
                        .collect::<Result<Vec<_>, _>>()?,
                    None => self.expand_words(&node.args)?,
                };
                let mut map = self.config.volumes.clone().unwrap_or_default();
                for v in &volumes {
                    if v.trim().is_empty() {
                        return Err(BuildError::syntax(
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    map.insert(v.clone(), json!({}));
                }
                self.config.volumes = Some(map);
                Ok(self.commit(format!("VOLUME [{}]", volumes.join(" "))))
            }
            "expose" => {
                let ports = self.expand_words(&node.args)?;
                let mut map = self.config.exposed_ports.clone().unwrap_or_default();
                for port in &ports {
                    for key in expand_port(port)? {
                        map.insert(key, json!({}));
                    }
                }
                self.config.exposed_ports = Some(map);
                Ok(self.commit(format!("EXPOSE {}", ports.join(" "))))
            }
            "stopsignal" => {
                let signal = self.expand(node.args.trim())?;
                self.config.stop_signal = Some(signal.clone());
                Ok(self.commit(format!("STOPSIGNAL {signal}")))
            }
            "shell" => {
                let shell = node.json_args().ok_or_else(|| {
                    BuildError::syntax("SHELL requires the arguments to be in JSON form")
                })?;
                if shell.is_empty() {
                    return Err(BuildError::syntax("SHELL requires at least one argument"));
                }
                self.config.shell = Some(shell.clone());
                Ok(self.commit(format!("SHELL {}", go_quote_list(&shell))))
            }
            "healthcheck" => self.healthcheck(node),
            "onbuild" => {
                let trigger = node.args.trim().to_string();
                let first = trigger
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                match first.as_str() {
                    "onbuild" => {
                        return Err(BuildError::syntax(
                            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                        ))
                    }
                    "from" | "maintainer" => {
                        return Err(BuildError::syntax(format!(
                            "{} isn't allowed as an ONBUILD trigger",
                            first.to_uppercase()
                        )))
                    }
                    _ => {}
                }
                if !crate::plan::KEYWORDS.contains(&first.as_str()) {
                    return Err(BuildError::syntax(format!(
                        "unknown instruction: {}",
                        first.to_uppercase()
                    )));
                }
                let mut triggers = self.config.on_build.clone().unwrap_or_default();
                triggers.push(trigger.clone());
                self.config.on_build = Some(triggers);
                Ok(self.commit(format!("ONBUILD {trigger}")))
            }
            "copy" | "add" => self.copy(node),
            other => Err(BuildError::syntax(format!(
                "unknown instruction: {}",
                other.to_uppercase()
            ))),
        }
    }

    fn commit(&self, message: String) -> Action {
        Action::Commit {
            created_by: format!("{} #(nop)  {message}", self.shell().join(" ")),
        }
    }

    /// CMD/ENTRYPOINT: exec form as is, shell form through the shell.
    fn command(&self, node: &Node) -> Vec<String> {
        match node.json_args() {
            Some(list) => list,
            None => {
                let mut cmd = self.shell();
                cmd.push(node.args.clone());
                cmd
            }
        }
    }

    fn run(&mut self, node: &Node) -> Result<Action, BuildError> {
        let cmd = match node.json_args() {
            Some(list) if node.heredocs.is_empty() => list,
            _ => {
                let script = match node.heredocs.as_slice() {
                    // `RUN <<EOF` alone: the body is the script.
                    [doc] if is_only_marker(&node.args) => doc.content.clone(),
                    [] => node.args.clone(),
                    docs => {
                        let mut script = node.args.clone();
                        for doc in docs {
                            script.push('\n');
                            script.push_str(&doc.content);
                            script.push_str(&doc.name);
                        }
                        script
                    }
                };
                let mut cmd = self.shell();
                cmd.push(script);
                cmd
            }
        };
        let (declared, proxies) = self.run_args();
        let mut env = self.config.env.clone().unwrap_or_default();
        for (k, v) in declared.iter().chain(proxies.iter()) {
            if !env
                .iter()
                .any(|e| e.split_once('=').map(|(ek, _)| ek) == Some(k.as_str()))
            {
                env.push(format!("{k}={v}"));
            }
        }
        // History: `|N k=v ... cmd` with the declared args (proxy args stay out).
        let mut created_by = String::new();
        if !declared.is_empty() {
            created_by.push_str(&format!("|{}", declared.len()));
            for (k, v) in &declared {
                created_by.push_str(&format!(" {k}={v}"));
            }
            created_by.push(' ');
        }
        created_by.push_str(&cmd.join(" "));
        Ok(Action::Run {
            cmd,
            env,
            created_by,
        })
    }

    /// `KEY=VALUE ...` or the legacy `KEY VALUE` form.
    fn key_values(&self, node: &Node, name: &str) -> Result<Vec<(String, String)>, BuildError> {
        let args = node.args.trim();
        let first = split_raw_words(args, self.lexer.escape)
            .into_iter()
            .next()
            .unwrap_or_default();
        if !first.contains('=') {
            if name == "LABEL" {
                return Err(BuildError::syntax(
                    "LABEL requires at least one argument in KEY=VALUE form".to_string(),
                ));
            }
            let (key, value) = match args.find(char::is_whitespace) {
                Some(at) => (&args[..at], args[at..].trim()),
                None => {
                    return Err(BuildError::syntax(format!(
                        "{name} must have two arguments"
                    )))
                }
            };
            return Ok(vec![(key.to_string(), self.expand(value)?)]);
        }
        let mut out = Vec::new();
        for word in split_raw_words(args, self.lexer.escape) {
            let Some((k, v)) = word.split_once('=') else {
                return Err(BuildError::syntax(format!(
                    "Syntax error - can't find = in \"{word}\". Must be of the form: name=value"
                )));
            };
            let key = self.expand(k)?;
            if key.is_empty() {
                return Err(BuildError::syntax(format!("{name} names can not be blank")));
            }
            out.push((key, self.expand(v)?));
        }
        Ok(out)
    }

    fn healthcheck(&mut self, node: &Node) -> Result<Action, BuildError> {
        let args = node.args.trim();
        let (kind, rest) = match args.find(char::is_whitespace) {
            Some(at) => (&args[..at], args[at..].trim()),
            None => (args, ""),
        };
        let value = match kind.to_ascii_uppercase().as_str() {
            "NONE" => {
                if !rest.is_empty() || !node.flags.is_empty() {
                    return Err(BuildError::syntax("HEALTHCHECK NONE takes no arguments"));
                }
                json!({ "Test": ["NONE"] })
            }
            "CMD" => {
                if rest.is_empty() {
                    return Err(BuildError::syntax("Missing command after HEALTHCHECK CMD"));
                }
                let mut test: Vec<String> = match json_array(rest) {
                    Some(list) => {
                        let mut t = vec!["CMD".to_string()];
                        t.extend(list);
                        t
                    }
                    None => vec!["CMD-SHELL".to_string(), rest.to_string()],
                };
                test.shrink_to_fit();
                let mut map = serde_json::Map::new();
                map.insert("Test".into(), json!(test));
                for (flag, key) in [
                    ("interval", "Interval"),
                    ("timeout", "Timeout"),
                    ("start-period", "StartPeriod"),
                    ("start-interval", "StartInterval"),
                ] {
                    if let Some(text) = node.flag(flag) {
                        let ns = berth_api::query::parse_go_duration(text).ok_or_else(|| {
                            BuildError::syntax(format!("invalid duration for --{flag}: {text}"))
                        })?;
                        if ns != 0 && ns < 1_000_000 {
                            return Err(BuildError::syntax(format!(
                                "Interval \"{flag}\" cannot be less than 1ms"
                            )));
                        }
                        map.insert(key.into(), json!(ns));
                    }
                }
                if let Some(text) = node.flag("retries") {
                    let retries: i64 = text.parse().map_err(|_| {
                        BuildError::syntax(format!("invalid value for --retries: {text}"))
                    })?;
                    if retries < 0 {
                        return Err(BuildError::syntax("--retries cannot be negative"));
                    }
                    map.insert("Retries".into(), json!(retries));
                }
                Value::Object(map)
            }
            other => {
                return Err(BuildError::syntax(format!(
                    "Unknown type \"{other}\" in HEALTHCHECK (try CMD)"
                )))
            }
        };
        let test = value["Test"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        self.config.healthcheck = Some(value.clone());
        let field = |k: &str| value.get(k).and_then(Value::as_i64).unwrap_or(0);
        Ok(self.commit(format!(
            "HEALTHCHECK &{{{} \"{}\" \"{}\" \"{}\" \"{}\" '\\x{:02x}'}}",
            go_quote_list(&test),
            go_duration(field("Interval")),
            go_duration(field("Timeout")),
            go_duration(field("StartPeriod")),
            go_duration(field("StartInterval")),
            field("Retries")
        )))
    }

    fn copy(&mut self, node: &Node) -> Result<Action, BuildError> {
        let add = node.keyword == "add";
        let mut allowed = vec!["from", "chown", "chmod", "link", "exclude", "parents"];
        if add {
            allowed.extend(["checksum", "keep-git-dir"]);
        }
        node.check_flags(&allowed)?;
        let words: Vec<String> = match node.json_args() {
            Some(list) => list
                .into_iter()
                .map(|w| self.expand(&w))
                .collect::<Result<_, _>>()?,
            None => {
                // Heredoc markers are kept as written; everything else is expanded.
                let mut out = Vec::new();
                for raw in split_raw_words(&node.args, self.lexer.escape) {
                    if raw.starts_with("<<") {
                        out.push(raw);
                    } else {
                        out.extend(self.expand_words(&raw)?);
                    }
                }
                out
            }
        };
        if words.len() < 2 {
            return Err(BuildError::syntax(format!(
                "{} requires at least two arguments",
                node.keyword.to_uppercase()
            )));
        }
        let (dest_word, source_words) = words.split_last().expect("two words");
        let mut docs = node.heredocs.iter();
        let mut sources = Vec::new();
        for word in source_words {
            if word.starts_with("<<") && !node.heredocs.is_empty() {
                let doc = docs
                    .next()
                    .ok_or_else(|| BuildError::syntax("heredoc without a body"))?;
                let content = if doc.expand {
                    self.expand_heredoc(&doc.content)?
                } else {
                    doc.content.clone()
                };
                sources.push(Source::Inline {
                    name: doc.name.clone(),
                    content,
                });
            } else if add && (word.starts_with("http://") || word.starts_with("https://")) {
                sources.push(Source::Url(word.clone()));
            } else {
                sources.push(Source::Path(word.clone()));
            }
        }
        let workdir = self
            .config
            .working_dir
            .clone()
            .unwrap_or_else(|| "/".into());
        let mut dest = join_path(&workdir, dest_word);
        if (dest_word.ends_with('/') || dest_word == "." || dest_word.ends_with("/."))
            && !dest.ends_with('/')
        {
            dest.push('/');
        }
        let chown = match node.flag("chown") {
            Some(c) if !c.is_empty() => Some(self.expand(c)?),
            _ => None,
        };
        let chmod = match node.flag("chmod") {
            Some(text) if !text.is_empty() => Some(u32::from_str_radix(text, 8).map_err(|_| {
                BuildError::syntax(format!(
                    "invalid chmod parameter: {text}: only octal modes are supported"
                ))
            })?),
            _ => None,
        };
        let from = node
            .flag("from")
            .filter(|f| !f.is_empty())
            .map(|f| self.expand(f))
            .transpose()?;
        if from.is_some() && add && sources.iter().any(|s| matches!(s, Source::Url(_))) {
            return Err(BuildError::syntax("ADD --from does not support URLs"));
        }
        Ok(Action::Copy(CopySpec {
            add,
            sources,
            dest,
            from,
            chown,
            chmod,
        }))
    }

    /// Expands `$VAR`s in a heredoc body, keeping quotes and other characters as written.
    fn expand_heredoc(&self, text: &str) -> Result<String, BuildError> {
        let mut out = String::new();
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let escaped = line.replace('\'', "\\'").replace('"', "\\\"");
            out.push_str(&self.expand(&escaped)?);
        }
        Ok(out)
    }

    /// The environment and config of the image after the stage, for ONBUILD children.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config.labels.clone().unwrap_or_default()
    }
}

fn is_only_marker(args: &str) -> bool {
    let a = args.trim();
    a.starts_with("<<") && !a.contains(char::is_whitespace)
}

/// Splits on unquoted blanks without expanding (quotes and escapes kept).
pub fn split_raw_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == escape && q == '"' {
                    if let Some(n) = chars.next() {
                        current.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            None => {
                current.push(c);
                if c == escape {
                    if let Some(n) = chars.next() {
                        current.push(n);
                    }
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `80`, `80/udp`, `8000-8002` → `80/tcp`, ...
fn expand_port(text: &str) -> Result<Vec<String>, BuildError> {
    let (ports, proto) = match text.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if !["tcp", "udp", "sctp"].contains(&proto.as_str()) {
        return Err(BuildError::syntax(format!("invalid proto: {proto}")));
    }
    let bad = || BuildError::syntax(format!("invalid containerPort: {ports}"));
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if end < start {
        return Err(bad());
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// Go's `%q` of a `[]string`: `["a" "b c"]`.
pub fn go_quote_list(list: &[String]) -> String {
    let quoted: Vec<String> = list
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `time.Duration` text for whole units (`30s`, `1m30s`, `0s`).
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns % 1_000_000_000 != 0 {
        return format!("{}ms", ns / 1_000_000);
    }
    let mut secs = ns / 1_000_000_000;
    let mut out = String::new();
    let h = secs / 3600;
    secs %= 3600;
    let m = secs / 60;
    secs %= 60;
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{secs}s"));
    out
}

/// `base` joined with `path` unless `path` is absolute.
pub fn join_path(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else if base.ends_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// Go's `path.Clean` for absolute container paths.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn state() -> StageState {
        let mut args = HashMap::new();
        args.insert("VERSION".to_string(), Some("2".to_string()));
        args.insert("HTTP_PROXY".to_string(), Some("http://p".to_string()));
        StageState::new(Lexer::default(), args)
    }

    fn run_all(state: &mut StageState, text: &str) -> Vec<Action> {
        parse(text)
            .unwrap()
            .nodes
            .iter()
            .map(|n| state.dispatch(n).unwrap())
            .collect()
    }

    fn created_by(action: &Action) -> &str {
        match action {
            Action::Commit { created_by } | Action::Run { created_by, .. } => created_by,
            Action::Copy(_) => "",
        }
    }

    #[test]
    fn metadata_instructions_change_the_config() {
        let mut s = state();
        let actions = run_all(
            &mut s,
            "ENV A=1 B=\"two words\"\nENV C 3 4\nLABEL x=\"$A\"\nWORKDIR /app\nWORKDIR sub\nUSER nobody\nEXPOSE 80 53/udp\nVOLUME [\"/data\"]\nSTOPSIGNAL SIGTERM\nCMD [\"sh\"]\nENTRYPOINT echo hi\nMAINTAINER me\n",
        );
        let c = &s.config;
        assert_eq!(
            c.env.as_ref().unwrap(),
            &vec!["A=1".to_string(), "B=two words".into(), "C=3 4".into()]
        );
        assert_eq!(c.labels.as_ref().unwrap()["x"], "1");
        assert_eq!(c.working_dir.as_deref(), Some("/app/sub"));
        assert_eq!(c.user.as_deref(), Some("nobody"));
        assert!(c.exposed_ports.as_ref().unwrap().contains_key("53/udp"));
        assert!(c.volumes.as_ref().unwrap().contains_key("/data"));
        assert_eq!(c.cmd.as_ref().unwrap(), &vec!["sh".to_string()]);
        assert_eq!(
            c.entrypoint.as_ref().unwrap(),
            &vec!["/bin/sh".to_string(), "-c".into(), "echo hi".into()]
        );
        assert_eq!(s.author.as_deref(), Some("me"));
        assert_eq!(
            created_by(&actions[0]),
            "/bin/sh -c #(nop)  ENV A=1 B=two words"
        );
        assert_eq!(created_by(&actions[3]), "/bin/sh -c #(nop) WORKDIR /app");
        assert_eq!(created_by(&actions[9]), "/bin/sh -c #(nop)  CMD [\"sh\"]");
    }

    #[test]
    fn args_and_run_history() {
        let mut s = state();
        let actions = run_all(&mut s, "ARG VERSION=1\nARG OTHER=x\nRUN echo $VERSION\nENV VERSION=env\nRUN [\"echo\", \"hi\"]\n");
        match &actions[2] {
            Action::Run {
                cmd,
                env,
                created_by,
            } => {
                assert_eq!(
                    cmd,
                    &vec!["/bin/sh".to_string(), "-c".into(), "echo $VERSION".into()]
                );
                assert!(env.contains(&"VERSION=2".to_string()));
                assert!(env.contains(&"HTTP_PROXY=http://p".to_string()));
                assert_eq!(created_by, "|2 VERSION=2 OTHER=x /bin/sh -c echo $VERSION");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.expand("$VERSION").unwrap(), "env", "ENV wins over ARG");
        match &actions[4] {
            Action::Run { cmd, .. } => assert_eq!(cmd, &vec!["echo".to_string(), "hi".into()]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shell_changes_run_and_cmd() {
        let mut s = state();
        let actions = run_all(&mut s, "SHELL [\"/bin/bash\", \"-xc\"]\nRUN echo\n");
        match &actions[1] {
            Action::Run { cmd, .. } => assert_eq!(cmd[0], "/bin/bash"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn copy_specs() {
        let mut s = state();
        let actions = run_all(&mut s, "WORKDIR /w\nCOPY --chown=1:2 --chmod=640 a b dir/\nADD http://127.0.0.1/x.tar rel\nCOPY <<EOF /f\nv=$VERSION\nEOF\n");
        let Action::Copy(spec) = &actions[1] else {
            panic!()
        };
        assert_eq!(spec.dest, "/w/dir/");
        assert_eq!(
            spec.sources,
            vec![Source::Path("a".into()), Source::Path("b".into())]
        );
        assert_eq!(spec.chown.as_deref(), Some("1:2"));
        assert_eq!(spec.chmod, Some(0o640));
        let Action::Copy(spec) = &actions[2] else {
            panic!()
        };
        assert_eq!(
            spec.sources,
            vec![Source::Url("http://127.0.0.1/x.tar".into())]
        );
        assert_eq!(spec.dest, "/w/rel");
        let Action::Copy(spec) = &actions[3] else {
            panic!()
        };
        assert_eq!(
            spec.sources,
            vec![Source::Inline {
                name: "EOF".into(),
                content: "v=\n".into()
            }]
        );
    }

    #[test]
    fn healthcheck_and_onbuild() {
        let mut s = state();
        let actions = run_all(
            &mut s,
            "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost\nONBUILD RUN echo child\n",
        );
        let hc = s.config.healthcheck.clone().unwrap();
        assert_eq!(hc["Test"], json!(["CMD-SHELL", "wget -q localhost"]));
        assert_eq!(hc["Interval"], json!(5_000_000_000i64));
        assert_eq!(hc["Retries"], json!(3));
        assert!(created_by(&actions[0]).contains("HEALTHCHECK &{[\"CMD-SHELL\""));
        assert_eq!(
            s.config.on_build.as_ref().unwrap(),
            &vec!["RUN echo child".to_string()]
        );
        let node = &parse("ONBUILD ONBUILD RUN x\n").unwrap().nodes[0];
        assert!(s.dispatch(node).is_err());
        let node = &parse("HEALTHCHECK NONE\n").unwrap().nodes[0];
        s.dispatch(node).unwrap();
        assert_eq!(
            s.config.healthcheck.clone().unwrap()["Test"],
            json!(["NONE"])
        );
    }

    #[test]
    fn errors_carry_the_line() {
        let mut s = state();
        let file = parse("FROM x\nEXPOSE notaport\n").unwrap();
        let err = s.dispatch(&file.nodes[1]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Dockerfile parse error line 2:"),
            "{err}"
        );
    }
}
