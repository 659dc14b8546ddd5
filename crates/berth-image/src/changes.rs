//! `--change` instructions of `docker import` / `docker commit`: the Dockerfile
//! instructions that only touch the image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
//! ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR), applied in order.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::ContainerConfig;
use crate::error::ImageError;

/// Applies change lines (each may hold several lines) to `config`.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<(), ImageError> {
    let mut cmd_set = false;
    for line in changes.iter().flat_map(|c| c.lines()) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (instruction, rest) = match line.split_once(char::is_whitespace) {
            Some((i, r)) => (i, r.trim()),
            None => (line, ""),
        };
        let invalid = |why: &str| {
            ImageError::InvalidParameter(format!("{} {why}", instruction.to_uppercase()))
        };
        match instruction.to_ascii_lowercase().as_str() {
            "cmd" => {
                config.cmd = Some(command(rest));
                cmd_set = true;
            }
            "entrypoint" => {
                config.entrypoint = Some(command(rest));
                if !cmd_set {
                    config.cmd = None;
                }
            }
            "env" => {
                let pairs = key_values(rest, "ENV").map_err(|e| invalid(&e))?;
                let env = config.env.get_or_insert_with(Vec::new);
                for (key, value) in pairs {
                    let entry = format!("{key}={value}");
                    match env
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(key.as_str()))
                    {
                        Some(existing) => *existing = entry,
                        None => env.push(entry),
                    }
                }
            }
            "label" => {
                let pairs = key_values(rest, "LABEL").map_err(|e| invalid(&e))?;
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(pairs);
            }
            "expose" => {
                let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for spec in words(rest).map_err(|e| invalid(&e))? {
                    for port in expand_port(&spec).map_err(|e| invalid(&e))? {
                        ports.insert(port, Value::Object(Default::default()));
                    }
                }
            }
            "user" => config.user = Some(single(rest).map_err(|e| invalid(&e))?),
            "workdir" => {
                let dir = single(rest).map_err(|e| invalid(&e))?;
                let joined = if dir.starts_with('/') {
                    dir
                } else {
                    let base = config.working_dir.clone().unwrap_or_else(|| "/".into());
                    format!("{}/{dir}", base.trim_end_matches('/'))
                };
                config.working_dir = Some(joined);
            }
            "stopsignal" => config.stop_signal = Some(single(rest).map_err(|e| invalid(&e))?),
            "volume" => {
                let list = if rest.starts_with('[') {
                    serde_json::from_str::<Vec<String>>(rest)
                        .map_err(|_| invalid("expects a JSON array of strings"))?
                } else {
                    words(rest).map_err(|e| invalid(&e))?
                };
                let volumes = config.volumes.get_or_insert_with(BTreeMap::new);
                for v in list {
                    if v.trim().is_empty() {
                        return Err(invalid("specified an empty volume"));
                    }
                    volumes.insert(v, Value::Object(Default::default()));
                }
            }
            "onbuild" => {
                let inner = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if matches!(inner.as_str(), "onbuild" | "from" | "maintainer" | "") {
                    return Err(invalid("cannot be used with that instruction"));
                }
                config
                    .on_build
                    .get_or_insert_with(Vec::new)
                    .push(rest.to_string());
            }
            other => {
                return Err(ImageError::InvalidParameter(format!(
                    "{other} is not a valid change command"
                )));
            }
        }
    }
    Ok(())
}

/// JSON array form, or shell form run by `/bin/sh -c`.
fn command(rest: &str) -> Vec<String> {
    if rest.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(rest) {
            return list;
        }
    }
    vec!["/bin/sh".into(), "-c".into(), rest.to_string()]
}

/// Splits words with Dockerfile quoting: "..." and '...' group, backslash escapes.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => current.push(c),
            (_, '\\') => {
                match chars.next() {
                    Some(next) => current.push(next),
                    None => current.push('\\'),
                }
                in_word = true;
            }
            (_, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("has an unmatched quote".into());
    }
    if in_word {
        out.push(current);
    }
    Ok(out)
}

/// `k=v k2="v 2"` or the legacy `k v w` (one pair, the value is the rest).
fn key_values(rest: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    let list = words(rest)?;
    if list.is_empty() {
        return Err(format!("requires at least one argument ({name} key=value)"));
    }
    if !list[0].contains('=') {
        let (key, value) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("must have two arguments ({name} key value)"))?;
        let value = words(value)?.join(" ");
        return Ok(vec![(key.to_string(), value)]);
    }
    list.into_iter()
        .map(|word| match word.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("has a syntax error: {word:?} is not key=value")),
        })
        .collect()
}

fn single(rest: &str) -> Result<String, String> {
    let list = words(rest)?;
    match list.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err("requires exactly one argument".into()),
    }
}

/// `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`, ...
fn expand_port(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("has an invalid protocol in {spec:?}"));
    }
    let parse = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("has an invalid port {spec:?}"))
    };
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if start > end {
        return Err(format!("has an invalid port range {spec:?}"));
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<ContainerConfig, ImageError> {
        let mut config = ContainerConfig::default();
        apply_changes(
            &mut config,
            &changes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )?;
        Ok(config)
    }

    #[test]
    fn all_instructions() {
        let c = apply(&[
            "CMD [\"sh\", \"-c\", \"echo hi\"]",
            "ENV A=1 B=\"two words\"",
            "ENV LEGACY value with spaces",
            "EXPOSE 80 53/udp 8000-8001",
            "LABEL com.example=yes other=\"a b\"",
            "USER nobody",
            "VOLUME [\"/data\", \"/logs\"]",
            "WORKDIR /srv\nWORKDIR app",
            "STOPSIGNAL SIGINT",
            "ONBUILD RUN echo hi",
        ])
        .unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["sh", "-c", "echo hi"]);
        assert_eq!(
            c.env.unwrap(),
            vec!["A=1", "B=two words", "LEGACY=value with spaces"]
        );
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, vec!["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        assert_eq!(c.labels.unwrap()["other"], "a b");
        assert_eq!(c.user.as_deref(), Some("nobody"));
        assert_eq!(c.volumes.unwrap().len(), 2);
        assert_eq!(c.working_dir.as_deref(), Some("/srv/app"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(c.on_build.unwrap(), vec!["RUN echo hi"]);
    }

    #[test]
    fn shell_form_and_entrypoint_reset() {
        let c = apply(&["ENTRYPOINT /bin/app --flag"]).unwrap();
        assert_eq!(
            c.entrypoint.unwrap(),
            vec!["/bin/sh", "-c", "/bin/app --flag"]
        );
        assert!(c.cmd.is_none());
        let c = apply(&["CMD [\"x\"]", "ENTRYPOINT [\"y\"]"]).unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["x"]);
    }

    #[test]
    fn refuses_other_instructions() {
        let err = apply(&["RUN rm -rf /"]).unwrap_err();
        assert_eq!(err.to_string(), "run is not a valid change command");
        assert!(apply(&["EXPOSE 70000"]).is_err());
        assert!(apply(&["USER"]).is_err());
    }
}
