//! Legacy links (`--link name:alias`) on the default bridge: resolved to the linked
//! container's ID at create (its later name and address are looked up at start), and at
//! start turned into `/etc/hosts` lines and docker's `ALIAS_PORT_80_TCP_ADDR`-style
//! environment (moby's `daemon/links`). On a user-defined network a link is only a DNS
//! alias that the linking container sees (see `networks::attach`).

use std::collections::BTreeMap;

use berth_api::ApiError;
use serde::{Deserialize, Serialize};

use super::record::{Record, Status};
use super::Containers;
use crate::networks::DEFAULT_NETWORK;

/// One link of a container, as persisted in its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The linked ("child") container.
    pub container_id: String,
    /// The name the linking container knows it by.
    pub alias: String,
}

/// What the links of a starting container give it.
#[derive(Debug, Default)]
pub struct LinkSettings {
    /// `/etc/hosts` lines: address and names (`alias hostname name`).
    pub hosts: Vec<(String, String)>,
    pub env: Vec<String>,
}

/// docker's `ParseLink`: `name:alias`, `name` (alias = name), or the `/name:/parent/alias`
/// form inspect shows.
pub fn parse(text: &str) -> Result<(String, String), ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid("empty string specified for links"));
    }
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    match parts[..] {
        [name] => Ok((name.to_string(), name.to_string())),
        [name, alias] if name.starts_with('/') => {
            let alias = alias.rsplit('/').next().unwrap_or(alias);
            Ok((name[1..].to_string(), alias.to_string()))
        }
        [name, alias] => Ok((name.to_string(), alias.to_string())),
        _ => Err(ApiError::invalid(format!("bad format for links: {text}"))),
    }
}

const HOST_CONFLICT: &str = "conflicting options: host type networking can't be used with links. This would result in undefined behavior";
const CONTAINER_CONFLICT: &str = "conflicting options: container type network can't be used with links. This would result in undefined behavior";

/// Resolves `HostConfig.Links` at create. Links only register on the default bridge
/// (moby skips user-defined networks, whose links are DNS aliases).
pub(crate) fn resolve(
    containers: &Containers,
    network_mode: &str,
    links: &[String],
) -> Result<Vec<Link>, ApiError> {
    if links.is_empty() {
        return Ok(Vec::new());
    }
    match network_mode {
        "host" => return Err(ApiError::invalid(HOST_CONFLICT)),
        m if m.starts_with("container:") => return Err(ApiError::invalid(CONTAINER_CONFLICT)),
        "" | "default" | "bridge" | "none" => {}
        _ => return Ok(Vec::new()),
    }
    let mut out: Vec<Link> = Vec::new();
    for text in links {
        let (name, alias) = parse(text)?;
        let child = containers.get(&name).map_err(|e| {
            ApiError::invalid(format!("could not get container for {name}: {}", e.message))
        })?;
        let child_record = child.snapshot();
        if child_record.host_config.network_mode == "host" {
            return Err(ApiError::invalid(HOST_CONFLICT));
        }
        out.retain(|l| l.alias != alias);
        out.push(Link {
            container_id: child.id.clone(),
            alias,
        });
    }
    Ok(out)
}

/// `HostConfig.Links` as docker's inspect shows them: `/child:/parent/alias`, for the
/// linked containers that still exist.
pub(crate) fn inspect_value(record: &Record, containers: &Containers) -> Option<Vec<String>> {
    let out: Vec<String> = record
        .links
        .iter()
        .filter_map(|link| {
            let child = containers.get(&link.container_id).ok()?;
            Some(format!(
                "{}:{}/{}",
                child.snapshot().name,
                record.name,
                link.alias
            ))
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The hosts lines and environment of a container's links, at its start. Only a
/// container on the default bridge uses them (as moby's `setupLinkedContainers`).
pub(crate) fn settings(record: &Record, containers: &Containers) -> Result<LinkSettings, ApiError> {
    let mut out = LinkSettings::default();
    if record.links.is_empty() || !on_default_bridge(record) {
        return Ok(out);
    }
    for link in &record.links {
        // A removed child takes its links with it, as in moby's link index.
        let Ok(child) = containers.get(&link.container_id) else {
            continue;
        };
        let child = child.snapshot();
        let link_name = format!("{}/{}", record.name, link.alias);
        if child.state.status != Status::Running && child.state.status != Status::Paused {
            return Err(ApiError::system(format!(
                "Cannot link to a non running container: {} AS {link_name}",
                child.name
            )));
        }
        let Some(bridge) = child
            .state
            .networks
            .iter()
            .find(|n| n.network_name == DEFAULT_NETWORK)
        else {
            return Err(ApiError::system(format!(
                "Cannot link to {}, as it does not belong to the default network",
                child.name
            )));
        };
        let ip = bridge.endpoint.ip.to_string();
        out.hosts
            .push((ip.clone(), host_names(&link.alias, &child)));
        let ports: Vec<String> = child
            .config
            .exposed_ports
            .clone()
            .unwrap_or_default()
            .into_keys()
            .collect();
        let child_env = child.config.env.clone().unwrap_or_default();
        out.env
            .extend(link_env(&link_name, &ip, &ports, &child_env));
    }
    Ok(out)
}

/// The hosts names of a link: the alias, the child's hostname, and its name when the
/// alias differs (moby's order).
fn host_names(alias: &str, child: &Record) -> String {
    let mut names = format!("{alias} {}", child.config.hostname);
    if alias != child.bare_name() {
        names.push(' ');
        names.push_str(child.bare_name());
    }
    names
}

/// After `child` (re)started with address `ip` on the default bridge: the running
/// containers linked to it get the new address in their `/etc/hosts` (moby's
/// `updateParentsHosts`), rewritten in place so their bind mounts see it.
pub(crate) fn update_parents(containers: &Containers, child: &Record, ip: &str) {
    for parent in containers.all() {
        let linked = parent.read(|r| {
            r.state.status.is_live() && r.links.iter().any(|l| l.container_id == child.id)
        });
        if !linked {
            continue;
        }
        let record = parent.snapshot();
        for link in record.links.iter().filter(|l| l.container_id == child.id) {
            let names = host_names(&link.alias, child);
            let path = super::etc_files::paths(&parent.dir).hosts;
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mut changed = false;
            let lines: Vec<String> = text
                .lines()
                .map(|line| match line.split_once('\t') {
                    Some((old, rest)) if rest == names && old != ip => {
                        changed = true;
                        format!("{ip}\t{rest}")
                    }
                    _ => line.to_string(),
                })
                .collect();
            if changed {
                if let Err(e) = std::fs::write(&path, lines.join("\n") + "\n") {
                    tracing::warn!("updating {}: {e}", path.display());
                }
            }
        }
    }
}

/// The link names (`/parent/alias`) under which each linked container is known, as
/// docker's name index holds them, sorted; one pass over `records`.
pub(crate) fn link_names(records: &[Record]) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for parent in records {
        for link in &parent.links {
            out.entry(link.container_id.clone())
                .or_default()
                .push(format!("{}/{}", parent.name, link.alias));
        }
    }
    for names in out.values_mut() {
        names.sort();
    }
    out
}

impl crate::Engine {
    /// `DELETE /containers/{parent}/{alias}?link=1` (`rm --link`): drops the link from the
    /// parent's record and, when the parent runs, its `/etc/hosts` line and `--icc=false`
    /// rules (moby's `rmLink` followed by the sandbox refresh). A plain container name is
    /// docker's "default link name" conflict; a name that is no link is "No such
    /// container".
    pub async fn container_remove_link(&self, reference: &str) -> Result<(), ApiError> {
        let name = format!("/{}", reference.trim_matches('/'));
        let not_found = || ApiError::not_found(format!("No such container: {reference}"));
        let (parent_name, alias) = name.rsplit_once('/').unwrap_or(("", &name));
        if parent_name.is_empty() {
            // moby resolves the name first, then refuses to remove a container's own name.
            self.containers.get(reference)?;
            return Err(ApiError::system(
                "Conflict, cannot remove the default link name.",
            ));
        }
        let parent = self.containers.get(parent_name).map_err(|_| not_found())?;
        let _op = parent.op.lock().await;
        let record = parent.snapshot();
        if record.name != parent_name {
            return Err(not_found());
        }
        let Some(link) = record.links.iter().find(|l| l.alias == alias).cloned() else {
            return Err(not_found());
        };
        parent.update(|r| r.links.retain(|l| l.alias != link.alias))?;
        if record.state.status.is_live() {
            if let Ok(child) = self.containers.get(&link.container_id) {
                let child = child.snapshot();
                drop_hosts_line(&parent.dir, &host_names(&link.alias, &child));
                self.remove_link_rule(&record, &child);
            }
        }
        Ok(())
    }
}

/// Removes the `/etc/hosts` line naming `names` from a container's hosts file, rewritten
/// in place so the container's bind mount sees the change.
fn drop_hosts_line(container_dir: &std::path::Path, names: &str) {
    let path = super::etc_files::paths(container_dir).hosts;
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| line.split_once('\t').map(|(_, rest)| rest) != Some(names))
        .collect();
    if kept.len() != text.lines().count() {
        if let Err(e) = std::fs::write(&path, kept.join("\n") + "\n") {
            tracing::warn!("updating {}: {e}", path.display());
        }
    }
}

fn on_default_bridge(record: &Record) -> bool {
    matches!(
        record.host_config.network_mode.as_str(),
        "" | "default" | "bridge"
    )
}

/// moby's `Link.ToEnv`: `ALIAS_PORT`, per port `ALIAS_PORT_80_TCP{,_ADDR,_PORT,_PROTO}`,
/// ranges of consecutive ports as `_START`/`_END`, `ALIAS_NAME=/parent/alias` and the
/// child's environment as `ALIAS_ENV_*` (without HOME and PATH).
pub fn link_env(
    link_name: &str,
    child_ip: &str,
    ports: &[String],
    child_env: &[String],
) -> Vec<String> {
    let short = link_name.rsplit('/').next().unwrap_or(link_name);
    let alias = short.to_ascii_uppercase().replace('-', "_");
    let mut ports: Vec<(u16, String)> = ports
        .iter()
        .filter_map(|p| {
            let (num, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
            Some((num.parse().ok()?, proto.to_string()))
        })
        .collect();
    // TCP first, then by number (then protocol), so consecutive ports form ranges.
    ports.sort_by(|a, b| {
        let rank = |p: &str| if p == "tcp" { 0 } else { 1 };
        (rank(&a.1), &a.1, a.0).cmp(&(rank(&b.1), &b.1, b.0))
    });
    let mut env = Vec::new();
    let mut range: Option<((u16, String), (u16, String))> = None;
    for (i, (num, proto)) in ports.iter().enumerate() {
        if i == 0 {
            env.push(format!("{alias}_PORT={proto}://{child_ip}:{num}"));
        }
        let prefix = format!("{alias}_PORT_{num}_{}", proto.to_ascii_uppercase());
        env.push(format!("{prefix}={proto}://{child_ip}:{num}"));
        env.push(format!("{prefix}_ADDR={child_ip}"));
        env.push(format!("{prefix}_PORT={num}"));
        env.push(format!("{prefix}_PROTO={proto}"));
        let (start, end) =
            range.get_or_insert_with(|| ((*num, proto.clone()), (*num, proto.clone())));
        if i > 0 && *num == end.0 + 1 && *proto == end.1 {
            *end = (*num, proto.clone());
            if i < ports.len() - 1 {
                continue;
            }
        }
        if start != end {
            let prefix = format!("{alias}_PORT_{}_{}", start.0, start.1.to_ascii_uppercase());
            env.push(format!(
                "{prefix}_START={}://{child_ip}:{}",
                start.1, start.0
            ));
            env.push(format!("{prefix}_PORT_START={}", start.0));
            env.push(format!("{prefix}_END={}://{child_ip}:{}", end.1, end.0));
            env.push(format!("{prefix}_PORT_END={}", end.0));
        }
        range = Some(((*num, proto.clone()), (*num, proto.clone())));
    }
    env.push(format!("{alias}_NAME={link_name}"));
    for entry in child_env {
        let Some((name, value)) = entry.split_once('=') else {
            continue;
        };
        if name == "HOME" || name == "PATH" {
            continue;
        }
        env.push(format!("{alias}_ENV_{name}={value}"));
    }
    env
}

/// `base` with `overrides` replacing entries of the same name (moby's
/// `ReplaceOrAppendEnvValues`): link variables first, the container's own win.
pub fn merge_env(base: &[String], overrides: &[String]) -> Vec<String> {
    let mut out: Vec<String> = base.to_vec();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in out.iter().enumerate() {
        index.insert(e.split('=').next().unwrap_or("").to_string(), i);
    }
    for entry in overrides {
        let key = entry.split('=').next().unwrap_or("").to_string();
        match index.get(&key) {
            Some(&i) => out[i] = entry.clone(),
            None => {
                index.insert(key, out.len());
                out.push(entry.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_forms() {
        assert_eq!(parse("db:alias").unwrap(), ("db".into(), "alias".into()));
        assert_eq!(parse("db").unwrap(), ("db".into(), "db".into()));
        assert_eq!(
            parse("/db:/web/alias").unwrap(),
            ("db".into(), "alias".into())
        );
        assert!(parse("a:b:c").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn environment_like_moby() {
        let env = link_env(
            "/web/db-1",
            "172.17.0.2",
            &["80/tcp".into(), "6379/tcp".into()],
            &["PATH=/bin".into(), "PASSWORD=secret".into()],
        );
        assert_eq!(
            env,
            [
                "DB_1_PORT=tcp://172.17.0.2:80",
                "DB_1_PORT_80_TCP=tcp://172.17.0.2:80",
                "DB_1_PORT_80_TCP_ADDR=172.17.0.2",
                "DB_1_PORT_80_TCP_PORT=80",
                "DB_1_PORT_80_TCP_PROTO=tcp",
                "DB_1_PORT_6379_TCP=tcp://172.17.0.2:6379",
                "DB_1_PORT_6379_TCP_ADDR=172.17.0.2",
                "DB_1_PORT_6379_TCP_PORT=6379",
                "DB_1_PORT_6379_TCP_PROTO=tcp",
                "DB_1_NAME=/web/db-1",
                "DB_1_ENV_PASSWORD=secret",
            ]
        );
    }

    #[test]
    fn port_ranges_get_start_and_end() {
        let env = link_env(
            "/a/b",
            "10.0.0.2",
            &[
                "1000/tcp".into(),
                "1001/tcp".into(),
                "1002/tcp".into(),
                "53/udp".into(),
            ],
            &[],
        );
        assert!(
            env.contains(&"B_PORT=tcp://10.0.0.2:1000".to_string()),
            "{env:?}"
        );
        assert!(
            env.contains(&"B_PORT_1000_TCP_START=tcp://10.0.0.2:1000".to_string()),
            "{env:?}"
        );
        assert!(env.contains(&"B_PORT_1000_TCP_END=tcp://10.0.0.2:1002".to_string()));
        assert!(env.contains(&"B_PORT_1000_TCP_PORT_END=1002".to_string()));
        assert!(env.contains(&"B_PORT_53_UDP_ADDR=10.0.0.2".to_string()));
        assert!(!env.iter().any(|e| e.starts_with("B_PORT_53_UDP_START")));
    }

    #[test]
    fn own_environment_wins() {
        let merged = merge_env(
            &["A_NAME=/x/a".into(), "B=1".into()],
            &["B=2".into(), "C=3".into()],
        );
        assert_eq!(merged, ["A_NAME=/x/a", "B=2", "C=3"]);
    }
}
