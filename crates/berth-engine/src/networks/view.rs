//! `GET /networks`, `GET /networks/{id}`, and the network parts of container inspect and
//! list output.

use berth_api::{ApiError, Filters};
use serde_json::{json, Map, Value};

use super::{NetworkRecord, DEFAULT_NETWORK};
use crate::containers::Record;
use crate::Engine;

pub const LIST_FILTERS: &[&str] = &["dangling", "driver", "id", "label", "name", "scope", "type"];

impl Engine {
    /// `GET /networks`: the predefined networks plus bridges.
    pub fn network_list(&self, filters: Filters) -> Result<Vec<Value>, ApiError> {
        filters.validate(LIST_FILTERS)?;
        let mut out = Vec::new();
        for value in self.network_values() {
            let name = value["Name"].as_str().unwrap_or("").to_string();
            let id = value["Id"].as_str().unwrap_or("").to_string();
            let driver = value["Driver"].as_str().unwrap_or("").to_string();
            let predefined = matches!(name.as_str(), "bridge" | "host" | "none");
            let labels: std::collections::BTreeMap<String, String> =
                serde_json::from_value(value["Labels"].clone()).unwrap_or_default();
            let name_ok = filters.get("name").is_empty()
                || filters
                    .get("name")
                    .iter()
                    .any(|n| name.contains(n.as_str()));
            let id_ok = filters.get("id").is_empty()
                || filters.get("id").iter().any(|p| id.starts_with(p.as_str()));
            let type_ok = filters.get("type").is_empty()
                || filters
                    .get("type")
                    .iter()
                    .any(|t| (t == "builtin") == predefined);
            let dangling_ok = filters.get("dangling").is_empty() || {
                let used = !self.network_users(&id).is_empty() || predefined;
                filters
                    .get("dangling")
                    .iter()
                    .any(|d| (d == "true" || d == "1") != used)
            };
            if name_ok
                && id_ok
                && type_ok
                && dangling_ok
                && filters.matches("driver", &driver)
                && filters.matches_labels("label", &labels)
                && filters.matches("scope", "local")
            {
                out.push(value);
            }
        }
        Ok(out)
    }

    /// `GET /networks/{id}`.
    pub fn network_inspect(&self, reference: &str) -> Result<Value, ApiError> {
        self.network_values()
            .into_iter()
            .find(|v| v["Name"] == reference || v["Id"] == reference)
            .or_else(|| {
                self.networks
                    .get(reference)
                    .ok()
                    .map(|r| self.network_value(&r))
            })
            .ok_or_else(|| ApiError::not_found(format!("network {reference} not found")))
    }

    fn network_values(&self) -> Vec<Value> {
        let mut values: Vec<Value> = self
            .networks
            .all()
            .iter()
            .map(|r| self.network_value(r))
            .collect();
        for (name, id, driver) in [
            ("host", &self.networks.host_id, "host"),
            ("none", &self.networks.none_id, "null"),
        ] {
            values.push(json!({
                "Name": name, "Id": id, "Created": "0001-01-01T00:00:00Z", "Scope": "local",
                "Driver": driver, "EnableIPv4": true, "EnableIPv6": false,
                "IPAM": {"Driver": "default", "Options": null, "Config": []},
                "Internal": false, "Attachable": false, "Ingress": false,
                "ConfigFrom": {"Network": ""}, "ConfigOnly": false,
                "Containers": self.containers_on(name, id), "Options": {}, "Labels": {},
            }));
        }
        values
    }

    fn containers_on(&self, name: &str, id: &str) -> Value {
        let mut out = Map::new();
        for container in self.containers.all() {
            let record = container.snapshot();
            if !record.state.status.is_live() {
                continue;
            }
            if let Some(attached) = record
                .state
                .networks
                .iter()
                .find(|a| a.endpoint.network == id)
            {
                out.insert(record.id.clone(), json!({
                    "Name": record.bare_name(),
                    "EndpointID": attached.endpoint.host_ifname,
                    "MacAddress": attached.endpoint.mac.to_string(),
                    "IPv4Address": format!("{}/{}", attached.endpoint.ip, attached.endpoint.prefix),
                    "IPv6Address": "",
                }));
            } else if record.host_config.network_mode == name && (name == "host" || name == "none")
            {
                out.insert(
                    record.id.clone(),
                    json!({
                        "Name": record.bare_name(), "EndpointID": "", "MacAddress": "",
                        "IPv4Address": "", "IPv6Address": "",
                    }),
                );
            }
        }
        Value::Object(out)
    }

    fn network_value(&self, record: &NetworkRecord) -> Value {
        let state = &record.state;
        let mut options: Map<String, Value> = record
            .options
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        // Like dockerd, a user network shows only the options it was created with:
        // docker-compose 1.x recreates (or refuses) a network whose options differ.
        if state.name == DEFAULT_NETWORK {
            options.insert("com.docker.network.bridge.name".into(), json!(state.bridge));
            options.insert(
                "com.docker.network.bridge.default_bridge".into(),
                json!("true"),
            );
        }
        let mut ipam =
            json!({"Subnet": state.subnet.to_string(), "Gateway": state.gateway.to_string()});
        if let Some(range) = &state.ip_range {
            ipam["IPRange"] = json!(range.to_string());
        }
        json!({
            "Name": state.name,
            "Id": state.id,
            "Created": record.created,
            "Scope": "local",
            "Driver": "bridge",
            "EnableIPv4": true,
            "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": null, "Config": [ipam]},
            "Internal": state.internal,
            "Attachable": record.attachable,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": self.containers_on(&state.name, &state.id),
            "Options": options,
            "Labels": record.labels,
        })
    }
}

/// `NetworkSettings.Networks`: one entry per joined network (plus host/none), which is
/// also all that `ps` shows of a container's networking.
pub(crate) fn networks_by_name(record: &Record, networks: &super::Networks) -> Map<String, Value> {
    let mut by_name = Map::new();
    for attached in &record.state.networks {
        let e = &attached.endpoint;
        by_name.insert(
            attached.network_name.clone(),
            json!({
                "IPAMConfig": null,
                "Links": null,
                "Aliases": attached.aliases,
                "MacAddress": e.mac.to_string(),
                "DriverOpts": null,
                "NetworkID": e.network,
                "EndpointID": e.host_ifname,
                "Gateway": e.gateway.to_string(),
                "IPAddress": e.ip.to_string(),
                "IPPrefixLen": e.prefix,
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "DNSNames": e.dns_names,
            }),
        );
    }
    let mode = record.host_config.network_mode.as_str();
    if matches!(mode, "host" | "none") && record.state.status.is_live() {
        let id = if mode == "host" {
            &networks.host_id
        } else {
            &networks.none_id
        };
        by_name.insert(mode.to_string(), json!({
            "IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "", "DriverOpts": null,
            "NetworkID": id, "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null,
        }));
    }
    by_name
}

/// `NetworkSettings` of container inspect.
pub(crate) fn network_settings(record: &Record, networks: &super::Networks) -> Value {
    let by_name = networks_by_name(record, networks);
    let mut ports = Map::new();
    for attached in &record.state.networks {
        for port in &attached.ports {
            let key = format!("{}/{}", port.container_port, port.protocol.as_str());
            let entry = ports.entry(key).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!({"HostIp": port.host_ip.to_string(), "HostPort": port.host_port.to_string()}));
            }
        }
    }
    // Exposed but unpublished ports show with null, as docker.
    for port in record
        .config
        .exposed_ports
        .clone()
        .unwrap_or_default()
        .keys()
    {
        ports.entry(port.clone()).or_insert(Value::Null);
    }
    if !record.state.status.is_live() {
        ports.clear();
    }
    let primary = record.state.networks.first();
    json!({
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": if record.state.pid != 0 { format!("/proc/{}/ns/net", record.state.pid) } else { String::new() },
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "Gateway": primary.map(|p| p.endpoint.gateway.to_string()).unwrap_or_default(),
        "IPAddress": primary.map(|p| p.endpoint.ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": primary.map(|p| p.endpoint.prefix).unwrap_or(0),
        "MacAddress": primary.map(|p| p.endpoint.mac.to_string()).unwrap_or_default(),
        "Networks": by_name,
    })
}

/// `Ports` of a `ps` entry.
pub(crate) fn summary_ports(record: &Record) -> Value {
    let mut out = Vec::new();
    for attached in &record.state.networks {
        for port in &attached.ports {
            out.push(json!({
                "IP": port.host_ip.to_string(),
                "PrivatePort": port.container_port,
                "PublicPort": port.host_port,
                "Type": port.protocol.as_str(),
            }));
        }
    }
    for port in record
        .config
        .exposed_ports
        .clone()
        .unwrap_or_default()
        .keys()
    {
        let (number, proto) = port.split_once('/').unwrap_or((port.as_str(), "tcp"));
        let published = record
            .state
            .networks
            .iter()
            .flat_map(|a| a.ports.iter())
            .any(|p| p.container_port.to_string() == number && p.protocol.as_str() == proto);
        if !published {
            if let Ok(n) = number.parse::<u16>() {
                out.push(json!({"PrivatePort": n, "Type": proto}));
            }
        }
    }
    Value::Array(out)
}
