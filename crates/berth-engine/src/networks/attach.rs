//! Containers joining networks when they start and leaving when they exit.
//!
//! The shim creates the container (and with it its network namespace) before the
//! process starts; the engine connects the namespace then, so the process never sees a
//! half-configured network.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use berth_api::ApiError;
use berth_net::ports::{PortMapping, Protocol, PublishedPort};
use berth_net::{Endpoint, EndpointOptions, NetNs};
use serde::{Deserialize, Serialize};

use super::{NetworkRecord, DEFAULT_NETWORK};
use crate::containers::Record;
use crate::Engine;

/// A container's attachment to one network, kept in its record while it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerNetworking {
    pub network_name: String,
    pub endpoint: Endpoint,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
}

/// What a container asked for: the network of `NetworkMode` plus
/// `NetworkingConfig.EndpointsConfig` entries.
struct Request {
    name: String,
    ip: Option<Ipv4Addr>,
    aliases: Vec<String>,
    mac: Option<String>,
}

impl Engine {
    /// Whether one of the container's networks runs the embedded DNS server (its
    /// resolv.conf then points at 127.0.0.11), as docker starts the resolver when any
    /// endpoint needs it (a default-bridge container also connected to a user network).
    pub(crate) fn uses_embedded_dns(&self, record: &Record) -> bool {
        requests(record)
            .iter()
            .filter_map(|r| self.networks.get(&r.name).ok())
            .any(|n| n.state.dns)
    }

    /// Connects a created container (init `pid`) to its networks and publishes its
    /// ports. On failure everything done so far is undone.
    pub(crate) fn connect_container(
        &self,
        record: &Record,
        pid: u32,
    ) -> Result<Vec<ContainerNetworking>, ApiError> {
        let mut wanted = requests(record);
        // With the default bridge disabled (`--bridge none`), default containers get only
        // loopback, as with dockerd.
        if wanted.first().is_some_and(|r| r.name == DEFAULT_NETWORK)
            && self.networks.get(DEFAULT_NETWORK).is_err()
        {
            wanted.remove(0);
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let driver = self.networks.driver()?;
        let netns = NetNs::open(format!("/proc/{pid}/ns/net")).map_err(|e| {
            ApiError::system(format!(
                "opening the network namespace of {}: {e}",
                record.id
            ))
        })?;
        let mut done: Vec<(NetworkRecord, ContainerNetworking)> = Vec::new();
        let mut published = Vec::new();
        let result = (|| {
            for (index, request) in wanted.iter().enumerate() {
                let network = self.networks.get(&request.name).map_err(|_| {
                    ApiError::not_found(format!("network {} not found", request.name))
                })?;
                let mut dns_names =
                    vec![record.bare_name().to_string(), record.id[..12].to_string()];
                dns_names.extend(request.aliases.iter().cloned());
                let options = EndpointOptions {
                    container: record.id.clone(),
                    ifname: format!("eth{index}"),
                    ip: request.ip,
                    mac: request.mac.as_deref().and_then(|m| m.parse().ok()),
                    dns_names,
                    default_route: index == 0,
                };
                let endpoint = driver
                    .connect(&network.state, &netns, &options)
                    .map_err(|e| super::manage::net_error(e, &network.state.name))?;
                let mut attached = ContainerNetworking {
                    network_name: network.state.name.clone(),
                    endpoint,
                    aliases: request.aliases.clone(),
                    ports: Vec::new(),
                };
                if index == 0 {
                    let mappings = port_mappings(record)?;
                    if !mappings.is_empty() {
                        let ports = driver
                            .publish_ports(&network.state, &attached.endpoint, &mappings)
                            .map_err(publish_error)?;
                        attached.ports = ports.ports();
                        published.push(ports);
                    }
                }
                done.push((network, attached));
            }
            Ok(())
        })();
        if let Err(e) = result {
            for ports in published {
                let _ = driver.unpublish(ports);
            }
            for (network, attached) in &done {
                let _ = driver.disconnect(&network.state, &attached.endpoint);
            }
            return Err(e);
        }
        self.networks
            .published
            .lock()
            .expect("published poisoned")
            .insert(record.id.clone(), published);
        if done.iter().any(|(network, _)| network.state.dns) {
            driver.configure_dns(&record.id, resolver(record));
        }
        for (network, _) in &done {
            self.network_event_container(
                "connect",
                &network.state.id,
                &network.state.name,
                &record.id,
            );
        }
        Ok(done.into_iter().map(|(_, a)| a).collect())
    }

    /// Frees what a stopped container held: host ports, addresses, DNS names. Its veths
    /// went away with its network namespace.
    pub(crate) fn release_container_networks(&self, record: &Record) {
        let Some(driver) = self.networks.driver.as_ref() else {
            return;
        };
        if let Some(ports) = self
            .networks
            .published
            .lock()
            .expect("published poisoned")
            .remove(&record.id)
        {
            for p in ports {
                if let Err(e) = driver.unpublish(p) {
                    tracing::warn!("unpublishing ports of {}: {e}", record.id);
                }
            }
        }
        for attached in &record.state.networks {
            let network = self.networks.get(&attached.endpoint.network);
            // Link rules exist only on bridges with icc off; looking for them costs an
            // iptables-save, which the stop path of every other container skips.
            if network.as_ref().map_or(true, |n| !n.state.icc) {
                self.remove_link_rules(&attached.endpoint.host_ifname);
            }
            if let Ok(network) = network {
                if let Err(e) = driver.release_endpoint(&network.state, &attached.endpoint) {
                    tracing::warn!("releasing {} on {}: {e}", record.id, network.state.name);
                }
                self.network_event_container(
                    "disconnect",
                    &network.state.id,
                    &network.state.name,
                    &record.id,
                );
            }
        }
    }

    /// After a daemon restart: keep the host ports of re-adopted running containers, and
    /// give them their embedded DNS sockets and names again (they lived in the old
    /// daemon process).
    pub(crate) fn restore_container_networks(&self, record: &Record) {
        let Some(driver) = self.networks.driver.as_ref() else {
            return;
        };
        let mut dns_restored = false;
        for attached in &record.state.networks {
            let Ok(network) = self.networks.get(&attached.endpoint.network) else {
                continue;
            };
            if !network.state.dns {
                continue;
            }
            let restored = NetNs::open(format!("/proc/{}/ns/net", record.state.pid))
                .map_err(|e| e.to_string())
                .and_then(|netns| {
                    driver
                        .restore_endpoint(&network.state, &netns, &attached.endpoint)
                        .map_err(|e| e.to_string())
                });
            match restored {
                Ok(()) => dns_restored = true,
                Err(e) => tracing::warn!(
                    "restoring DNS of {} on {}: {e}",
                    record.id,
                    network.state.name
                ),
            }
        }
        if dns_restored {
            driver.configure_dns(&record.id, resolver(record));
        }
        let mut held = Vec::new();
        for attached in record.state.networks.iter().filter(|a| !a.ports.is_empty()) {
            if let Ok(network) = self.networks.get(&attached.endpoint.network) {
                match driver.restore_ports(&network.state, &attached.endpoint, &attached.ports) {
                    Ok(ports) => held.push(ports),
                    Err(e) => tracing::warn!("restoring ports of {}: {e}", record.id),
                }
            }
        }
        self.networks
            .published
            .lock()
            .expect("published poisoned")
            .insert(record.id.clone(), held);
    }

    fn network_event_container(&self, action: &str, network_id: &str, name: &str, container: &str) {
        let attributes = [
            ("name".to_string(), name.to_string()),
            ("type".to_string(), "bridge".to_string()),
            ("container".to_string(), container.to_string()),
        ]
        .into_iter()
        .collect();
        self.events
            .publish("network", action, network_id, attributes);
    }
}

fn publish_error(error: berth_net::NetError) -> ApiError {
    let text = error.to_string();
    if text.contains("in use")
        || text.contains("already allocated")
        || text.contains("address already")
    {
        ApiError::system(format!(
            "driver failed programming external connectivity on endpoint: {text}"
        ))
    } else {
        ApiError::system(text)
    }
}

/// What the embedded DNS server does for this container: its `--dns` servers as
/// upstreams, and the links of its user-network endpoints as aliases only it resolves.
fn resolver(record: &Record) -> berth_net::dns::ContainerResolver {
    let mut link_aliases = Vec::new();
    let endpoints = record
        .networking_config
        .as_ref()
        .and_then(|n| n.get("EndpointsConfig"))
        .and_then(|e| e.as_object());
    for config in endpoints.into_iter().flat_map(|e| e.values()) {
        let links: Vec<String> = config
            .get("Links")
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default();
        for link in links {
            if let Ok((name, alias)) = crate::containers::links::parse(&link) {
                if name != alias {
                    link_aliases.push((alias, name));
                }
            }
        }
    }
    berth_net::dns::ContainerResolver {
        upstreams: super::dns_upstreams(record.host_config.dns.as_deref().unwrap_or_default()),
        link_aliases,
    }
}

/// The networks a container joins at start, primary first.
fn requests(record: &Record) -> Vec<Request> {
    let mode = record.host_config.network_mode.as_str();
    let primary = match mode {
        "" | "default" | "bridge" => DEFAULT_NETWORK.to_string(),
        "host" | "none" => return Vec::new(),
        m if m.starts_with("container:") => return Vec::new(),
        other => other.to_string(),
    };
    let endpoints: BTreeMap<String, serde_json::Value> = record
        .networking_config
        .as_ref()
        .and_then(|n| n.get("EndpointsConfig"))
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    let request_for = |name: &str| {
        let config = endpoints.get(name);
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
        Request {
            name: name.to_string(),
            ip: text(config.and_then(|c| c.pointer("/IPAMConfig/IPv4Address")))
                .and_then(|ip| ip.parse().ok()),
            aliases: config
                .and_then(|c| c.get("Aliases"))
                .and_then(|a| serde_json::from_value::<Vec<String>>(a.clone()).ok())
                .unwrap_or_default(),
            mac: text(config.and_then(|c| c.get("MacAddress"))).filter(|m| !m.is_empty()),
        }
    };
    let mut out = vec![request_for(&primary)];
    for name in endpoints.keys() {
        if name != &primary && !(primary == DEFAULT_NETWORK && name == "default") {
            out.push(request_for(name));
        }
    }
    out
}

/// `-p`/`-P` as port mappings: `PortBindings`, plus every exposed port with an ephemeral
/// host port under `PublishAllPorts`.
fn port_mappings(record: &Record) -> Result<Vec<PortMapping>, ApiError> {
    let mut out = Vec::new();
    let bindings = record.host_config.port_bindings.clone().unwrap_or_default();
    let mut keys: Vec<String> = bindings.keys().cloned().collect();
    if record.host_config.publish_all_ports {
        for port in record
            .config
            .exposed_ports
            .clone()
            .unwrap_or_default()
            .keys()
        {
            if !keys.contains(port) {
                keys.push(port.clone());
            }
        }
    }
    for key in keys {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let protocol: Protocol = proto
            .parse()
            .map_err(|_| ApiError::invalid(format!("invalid protocol in port {key}")))?;
        let container_port: u16 = port
            .parse()
            .map_err(|_| ApiError::invalid(format!("invalid container port {key}")))?;
        let host_bindings = bindings.get(&key).cloned().flatten().unwrap_or_default();
        if host_bindings.is_empty() {
            out.push(PortMapping {
                protocol,
                container_port,
                host_ip: None,
                host_ports: None,
            });
            continue;
        }
        for binding in host_bindings {
            let host_ip = match binding.host_ip.as_str() {
                "" | "0.0.0.0" => None,
                ip => match ip.parse::<Ipv4Addr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => continue, // IPv6 host addresses: not published (no IPv6 yet)
                },
            };
            let host_ports = match binding.host_port.as_str() {
                "" | "0" => None,
                text => {
                    let (low, high) = text.split_once('-').unwrap_or((text, text));
                    let low: u16 = low
                        .parse()
                        .map_err(|_| ApiError::invalid(format!("invalid host port {text}")))?;
                    let high: u16 = high
                        .parse()
                        .map_err(|_| ApiError::invalid(format!("invalid host port {text}")))?;
                    Some((low, high))
                }
            };
            out.push(PortMapping {
                protocol,
                container_port,
                host_ip,
                host_ports,
            });
        }
    }
    Ok(out)
}

impl Engine {
    /// `POST /networks/{id}/connect`: a running container joins now; a stopped one joins
    /// at its next start.
    pub async fn network_connect(
        &self,
        network_ref: &str,
        container_ref: &str,
        endpoint_config: Option<serde_json::Value>,
    ) -> Result<(), ApiError> {
        let network = self.networks.get(network_ref)?;
        let container = self.containers.get(container_ref)?;
        let _op = container.op.lock().await;
        let record = container.snapshot();
        if record
            .state
            .networks
            .iter()
            .any(|a| a.endpoint.network == network.state.id)
        {
            return Err(ApiError::new(
                berth_api::ErrorKind::Forbidden,
                format!(
                    "endpoint with name {} already exists in network {}",
                    record.bare_name(),
                    network.state.name
                ),
            ));
        }
        if matches!(record.host_config.network_mode.as_str(), "host" | "none")
            || record.host_config.network_mode.starts_with("container:")
        {
            return Err(ApiError::invalid(format!(
                "container cannot be connected to network {}: it uses network mode {}",
                network.state.name, record.host_config.network_mode
            )));
        }
        let config = endpoint_config.unwrap_or(serde_json::Value::Null);
        if !record.state.status.is_live() {
            container.update(|r| {
                let networking = r
                    .networking_config
                    .get_or_insert_with(|| serde_json::json!({"EndpointsConfig": {}}));
                if networking
                    .get("EndpointsConfig")
                    .is_none_or(|e| !e.is_object())
                {
                    networking["EndpointsConfig"] = serde_json::json!({});
                }
                networking["EndpointsConfig"][network.state.name.as_str()] = config.clone();
            })?;
            return Ok(());
        }
        let driver = self.networks.driver()?;
        let text = |pointer: &str| {
            config
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let aliases: Vec<String> = config
            .get("Aliases")
            .and_then(|a| serde_json::from_value(a.clone()).ok())
            .unwrap_or_default();
        let mut dns_names = vec![record.bare_name().to_string(), record.id[..12].to_string()];
        dns_names.extend(aliases.iter().cloned());
        let options = EndpointOptions {
            container: record.id.clone(),
            ifname: format!("eth{}", record.state.networks.len()),
            ip: text("/IPAMConfig/IPv4Address").and_then(|ip| ip.parse().ok()),
            mac: text("/MacAddress").and_then(|m| m.parse().ok()),
            dns_names,
            default_route: record.state.networks.is_empty(),
        };
        let netns = NetNs::open(format!("/proc/{}/ns/net", record.state.pid)).map_err(|e| {
            ApiError::system(format!(
                "opening the network namespace of {}: {e}",
                record.id
            ))
        })?;
        let endpoint = driver
            .connect(&network.state, &netns, &options)
            .map_err(|e| super::manage::net_error(e, &network.state.name))?;
        let attached = ContainerNetworking {
            network_name: network.state.name.clone(),
            endpoint,
            aliases,
            ports: Vec::new(),
        };
        crate::containers::add_own_addresses(
            &container.dir,
            &record,
            std::slice::from_ref(&attached),
        );
        let record = container.update(|r| {
            r.state.networks.push(attached);
            // Kept for the next start, as docker does.
            let networking = r
                .networking_config
                .get_or_insert_with(|| serde_json::json!({"EndpointsConfig": {}}));
            if networking
                .get("EndpointsConfig")
                .is_none_or(|e| !e.is_object())
            {
                networking["EndpointsConfig"] = serde_json::json!({});
            }
            networking["EndpointsConfig"][network.state.name.as_str()] = config.clone();
        })?;
        if network.state.dns {
            // As docker: a container that joins a user network (a default-bridge one
            // included) now asks the embedded server, which forwards what it does not
            // know to the servers the container used before.
            crate::containers::switch_to_embedded_dns(&container.dir, &record);
            driver.configure_dns(&record.id, resolver(&record));
        }
        self.network_event_container(
            "connect",
            &network.state.id,
            &network.state.name,
            &record.id,
        );
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(
        &self,
        network_ref: &str,
        container_ref: &str,
        force: bool,
    ) -> Result<(), ApiError> {
        let network = self.networks.get(network_ref)?;
        let container = match self.containers.get(container_ref) {
            Ok(c) => c,
            Err(e) if force => {
                tracing::debug!("disconnect -f of a missing container: {}", e.message);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let _op = container.op.lock().await;
        let record = container.snapshot();
        let Some(attached) = record
            .state
            .networks
            .iter()
            .find(|a| a.endpoint.network == network.state.id)
            .cloned()
        else {
            let configured = record
                .networking_config
                .as_ref()
                .and_then(|n| n.pointer(&format!("/EndpointsConfig/{}", network.state.name)))
                .is_some();
            if configured {
                container.update(|r| {
                    if let Some(map) = r
                        .networking_config
                        .as_mut()
                        .and_then(|n| n.get_mut("EndpointsConfig"))
                        .and_then(|e| e.as_object_mut())
                    {
                        map.remove(&network.state.name);
                    }
                })?;
                return Ok(());
            }
            return Err(ApiError::new(
                berth_api::ErrorKind::Forbidden,
                format!(
                    "container {} is not connected to network {}",
                    record.id, network.state.name
                ),
            ));
        };
        let driver = self.networks.driver()?;
        // Ports published through this endpoint go with it, or its address (back in the
        // pool) would receive them.
        let ports: Vec<_> = {
            let mut published = self.networks.published.lock().expect("published poisoned");
            match published.get_mut(&record.id) {
                Some(list) => {
                    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(list)
                        .into_iter()
                        .partition(|p| p.endpoint() == attached.endpoint.host_ifname);
                    *list = kept;
                    gone
                }
                None => Vec::new(),
            }
        };
        for p in ports {
            if let Err(e) = driver.unpublish(p) {
                tracing::warn!("unpublishing ports of {}: {e}", record.id);
            }
        }
        self.remove_link_rules(&attached.endpoint.host_ifname);
        driver
            .disconnect(&network.state, &attached.endpoint)
            .map_err(|e| {
                ApiError::system(format!("disconnecting from {}: {e}", network.state.name))
            })?;
        container.update(|r| {
            r.state
                .networks
                .retain(|a| a.endpoint.network != network.state.id);
            // Not joined again at the next start.
            if let Some(map) = r
                .networking_config
                .as_mut()
                .and_then(|n| n.get_mut("EndpointsConfig"))
                .and_then(|e| e.as_object_mut())
            {
                map.remove(&network.state.name);
            }
        })?;
        self.network_event_container(
            "disconnect",
            &network.state.id,
            &network.state.name,
            &record.id,
        );
        Ok(())
    }
}
