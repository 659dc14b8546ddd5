//! Creating and removing networks.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api::{ApiError, Filters};
use berth_net::NetworkSpec;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{predefined_id, NetworkConfig, NetworkRecord, Networks, DEFAULT_NETWORK};
use crate::containers::now_rfc3339;
use crate::Engine;

/// `POST /networks/create` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateNetwork {
    pub name: String,
    pub driver: Option<String>,
    pub internal: bool,
    pub attachable: bool,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: Option<bool>,
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    pub options: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub check_duplicate: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipam {
    pub driver: Option<String>,
    pub config: Option<Vec<IpamConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    pub subnet: Option<String>,
    #[serde(rename = "IPRange")]
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| ApiError::invalid(format!("invalid {what} {text:?}: {e}")))
}

impl Networks {
    pub(crate) fn create_default(
        &self,
        daemon_id: &str,
        config: &NetworkConfig,
    ) -> Result<(), ApiError> {
        let driver = self.driver()?;
        let id = predefined_id(daemon_id, DEFAULT_NETWORK);
        let mut spec = NetworkSpec::user(&id, DEFAULT_NETWORK);
        spec.bridge = config.bridge.clone();
        spec.dns = false;
        spec.icc = config.icc;
        spec.mtu = config.mtu;
        if let Some(bip) = &config.bip {
            let (ip, prefix) = bip.split_once('/').ok_or_else(|| {
                ApiError::invalid(format!("invalid bip {bip:?}: expected IP/PREFIX"))
            })?;
            let gateway: std::net::Ipv4Addr = parse("bip", ip)?;
            let bits: u32 = parse("bip prefix", prefix)?;
            if bits > 30 {
                return Err(ApiError::invalid(format!(
                    "invalid bip {bip:?}: the prefix must be /30 or shorter"
                )));
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            let network = std::net::Ipv4Addr::from(u32::from(gateway) & mask);
            let subnet: berth_net::Subnet = parse("bip", &format!("{network}/{bits}"))?;
            spec.gateway = Some(gateway);
            spec.subnet = Some(subnet);
        }
        if let Some(cidr) = &config.fixed_cidr {
            spec.ip_range = Some(parse("fixed-cidr", cidr)?);
        }
        let state = driver.create_network(&spec).map_err(|e| {
            ApiError::system(format!(
                "creating the default bridge {}: {e}",
                config.bridge
            ))
        })?;
        self.insert(NetworkRecord {
            state,
            created: now_rfc3339(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            attachable: false,
        })
    }
}

impl Engine {
    /// `POST /networks/create`.
    pub fn network_create(&self, request: CreateNetwork) -> Result<Value, ApiError> {
        let name = request.name.trim().to_string();
        if name.is_empty() {
            return Err(ApiError::invalid("network name cannot be empty"));
        }
        if matches!(name.as_str(), "host" | "none" | DEFAULT_NETWORK) {
            return Err(ApiError::new(
                berth_api::ErrorKind::Forbidden,
                format!("{name} is a pre-defined network and cannot be created"),
            ));
        }
        if self.networks.get(&name).is_ok_and(|r| r.state.name == name) {
            return Err(ApiError::conflict(format!(
                "network with name {name} already exists"
            )));
        }
        match request.driver.as_deref() {
            None | Some("") | Some("bridge") => {}
            Some(other) => {
                return Err(ApiError::not_found(format!("plugin \"{other}\" not found")))
            }
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        let mut spec = NetworkSpec::user(&id, &name);
        spec.internal = request.internal;
        let options = request.options.clone().unwrap_or_default();
        if let Some(bridge) = options.get("com.docker.network.bridge.name") {
            spec.bridge = bridge.clone();
        }
        if let Some(icc) = options.get("com.docker.network.bridge.enable_icc") {
            spec.icc = icc != "false";
        }
        if let Some(masq) = options.get("com.docker.network.bridge.enable_ip_masquerade") {
            spec.masquerade = masq != "false";
        }
        if let Some(mtu) = options.get("com.docker.network.driver.mtu") {
            spec.mtu = Some(parse("mtu", mtu)?);
        }
        if let Some(ip) = options.get("com.docker.network.bridge.host_binding_ipv4") {
            spec.host_binding_ipv4 = Some(parse("host binding address", ip)?);
        }
        if let Some(config) = request
            .ipam
            .as_ref()
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.first())
        {
            if let Some(subnet) = &config.subnet {
                spec.subnet = Some(parse("subnet", subnet)?);
            }
            if let Some(range) = &config.ip_range {
                spec.ip_range = Some(parse("ip-range", range)?);
            }
            if let Some(gateway) = &config.gateway {
                spec.gateway = Some(parse("gateway", gateway)?);
            }
        }
        let state = self
            .networks
            .driver()?
            .create_network(&spec)
            .map_err(|e| net_error(e, &name))?;
        let record = NetworkRecord {
            state,
            created: now_rfc3339(),
            labels: request.labels.unwrap_or_default(),
            options,
            attachable: request.attachable,
        };
        self.networks.insert(record)?;
        self.network_event("create", &id, &name);
        Ok(json!({ "Id": id, "Warning": "" }))
    }

    /// `DELETE /networks/{id}`: refused while containers use it.
    pub fn network_remove(&self, reference: &str) -> Result<(), ApiError> {
        if matches!(reference, "host" | "none" | DEFAULT_NETWORK) {
            return Err(ApiError::new(
                berth_api::ErrorKind::Forbidden,
                format!("{reference} is a pre-defined network and cannot be removed"),
            ));
        }
        let record = self.networks.get(reference)?;
        let users = self.network_users(&record.state.id);
        if !users.is_empty() {
            return Err(ApiError::new(
                berth_api::ErrorKind::Forbidden,
                format!(
                    "error while removing network: network {} id {} has active endpoints",
                    record.state.name, record.state.id
                ),
            ));
        }
        self.networks
            .driver()?
            .delete_network(&record.state)
            .map_err(|e| {
                ApiError::system(format!("removing network {}: {e}", record.state.name))
            })?;
        self.networks.remove_record(&record.state.id);
        self.network_event("destroy", &record.state.id, &record.state.name);
        Ok(())
    }

    /// `POST /networks/prune`: user networks without containers.
    pub fn network_prune(&self, filters: Filters) -> Result<Value, ApiError> {
        filters.validate(&["until", "label", "label!"])?;
        let until = filters
            .get("until")
            .first()
            .map(|u| crate::containers::parse_time_filter(u))
            .transpose()?;
        let mut deleted = Vec::new();
        for record in self.networks.all() {
            if record.state.name == DEFAULT_NETWORK
                || !filters.matches_labels("label", &record.labels)
            {
                continue;
            }
            let excluded = filters
                .get("label!")
                .iter()
                .any(|l| match l.split_once('=') {
                    Some((k, v)) => record.labels.get(k).is_some_and(|x| x == v),
                    None => record.labels.contains_key(l),
                });
            if excluded {
                continue;
            }
            // Only networks created before `until`.
            if let Some(until) = until {
                let created = chrono::DateTime::parse_from_rfc3339(&record.created)
                    .map(|t| t.timestamp())
                    .unwrap_or(0);
                if created >= until {
                    continue;
                }
            }
            if self.network_remove(&record.state.id).is_ok() {
                deleted.push(record.state.name.clone());
            }
        }
        Ok(
            json!({ "NetworksDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) } }),
        )
    }

    pub(crate) fn network_event(&self, action: &str, id: &str, name: &str) {
        let attributes = [
            ("name".to_string(), name.to_string()),
            ("type".to_string(), "bridge".to_string()),
        ]
        .into_iter()
        .collect();
        self.events.publish("network", action, id, attributes);
    }

    /// IDs of running containers attached to a network.
    pub(crate) fn network_users(&self, network_id: &str) -> Vec<String> {
        self.containers
            .all()
            .iter()
            .filter(|c| {
                c.snapshot()
                    .state
                    .networks
                    .iter()
                    .any(|e| e.endpoint.network == network_id)
            })
            .map(|c| c.id.clone())
            .collect()
    }

    /// Deletes the bridges and firewall rules of this daemon on a clean stop, when no
    /// container keeps running.
    pub async fn network_shutdown(self: &Arc<Self>) {
        if self.config().live_restore {
            return;
        }
        let Some(driver) = self.networks.driver.as_ref() else {
            return;
        };
        for record in self.networks.all() {
            if let Err(e) = driver.delete_network(&record.state) {
                tracing::warn!("removing bridge {}: {e}", record.state.bridge);
            }
        }
        if let Err(e) = driver.teardown_firewall() {
            tracing::warn!("removing firewall rules: {e}");
        }
    }
}

pub(crate) fn net_error(error: berth_net::NetError, name: &str) -> ApiError {
    let text = error.to_string();
    if text.contains("overlap")
        || text.contains("in use")
        || text.contains("invalid")
        || text.contains("not in")
    {
        ApiError::invalid(format!("network {name}: {text}"))
    } else if text.contains("exhausted") || text.contains("no available") {
        ApiError::new(
            berth_api::ErrorKind::Forbidden,
            format!("network {name}: {text}"),
        )
    } else {
        ApiError::system(format!("network {name}: {text}"))
    }
}
