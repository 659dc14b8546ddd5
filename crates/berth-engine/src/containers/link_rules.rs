//! Firewall rules of legacy links when the default bridge's inter-container traffic is
//! off (`--icc=false`): as moby's bridge driver does, a linking ("parent") container may
//! reach the exposed ports of the container it links to, and nothing else. The rules are
//! added when the second of the two starts and go when either stops.

use berth_net::firewall::LinkRule;
use berth_net::ports::Protocol;

use super::record::Record;
use crate::networks::{ContainerNetworking, DEFAULT_NETWORK};
use crate::Engine;

impl Engine {
    /// After `record`'s container joined its networks: the rules of its links to running
    /// containers, and of running containers' links to it.
    pub(crate) fn add_link_rules(&self, record: &Record) {
        let Some(driver) = self.networks.driver.as_ref() else {
            return;
        };
        let Some((own, bridge)) = self.icc_off_bridge(record) else {
            return;
        };
        let mut links: Vec<LinkRule> = Vec::new();
        for link in &record.links {
            let Ok(child) = self.containers.get(&link.container_id) else {
                continue;
            };
            let child = child.snapshot();
            if let Some(theirs) = live_bridge(&child) {
                links.push(link_rule(&bridge, own, theirs, &child));
            }
        }
        for parent in self.containers.all() {
            let links_here = parent
                .read(|p| p.id != record.id && p.links.iter().any(|l| l.container_id == record.id));
            if !links_here {
                continue;
            }
            let parent = parent.snapshot();
            if let Some(theirs) = live_bridge(&parent) {
                links.push(link_rule(&bridge, theirs, own, record));
            }
        }
        for link in links {
            if let Err(e) = driver.firewall().add_link(&link) {
                tracing::warn!(
                    "link rules {} -> {}: {e}",
                    link.parent_endpoint,
                    link.child_endpoint
                );
            }
        }
    }

    /// Removes the rules of the link of `parent` to `child` (`rm --link`).
    pub(crate) fn remove_link_rule(&self, parent: &Record, child: &Record) {
        let Some(driver) = self.networks.driver.as_ref() else {
            return;
        };
        let (Some(theirs), Some(own)) = (live_bridge(parent), live_bridge(child)) else {
            return;
        };
        let (p, c) = (&theirs.endpoint.host_ifname, &own.endpoint.host_ifname);
        if let Err(e) = driver.firewall().remove_link(p, c) {
            tracing::warn!("removing the link rules {p} -> {c}: {e}");
        }
    }

    /// Removes the link rules an endpoint of a stopping container takes part in.
    pub(crate) fn remove_link_rules(&self, endpoint: &str) {
        let Some(driver) = self.networks.driver.as_ref() else {
            return;
        };
        if let Err(e) = driver.firewall().remove_links(endpoint) {
            tracing::warn!("removing the link rules of {endpoint}: {e}");
        }
    }

    /// The container's default-bridge attachment and the bridge's name, when that bridge
    /// has icc off.
    fn icc_off_bridge<'a>(&self, record: &'a Record) -> Option<(&'a ContainerNetworking, String)> {
        let own = record
            .state
            .networks
            .iter()
            .find(|n| n.network_name == DEFAULT_NETWORK)?;
        let network = self.networks.get(&own.endpoint.network).ok()?;
        (!network.state.icc).then(|| (own, network.state.bridge.clone()))
    }
}

/// A running container's default-bridge attachment.
fn live_bridge(record: &Record) -> Option<&ContainerNetworking> {
    if !record.state.status.is_live() {
        return None;
    }
    record
        .state
        .networks
        .iter()
        .find(|n| n.network_name == DEFAULT_NETWORK)
}

fn link_rule(
    bridge: &str,
    parent: &ContainerNetworking,
    child: &ContainerNetworking,
    child_record: &Record,
) -> LinkRule {
    let ports = child_record
        .config
        .exposed_ports
        .clone()
        .unwrap_or_default()
        .into_keys()
        .filter_map(|key| {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let protocol: Protocol = proto.parse().ok()?;
            Some((protocol, port.parse().ok()?))
        })
        .collect();
    LinkRule {
        parent_endpoint: parent.endpoint.host_ifname.clone(),
        child_endpoint: child.endpoint.host_ifname.clone(),
        bridge: bridge.to_string(),
        parent_ip: parent.endpoint.ip,
        child_ip: child.endpoint.ip,
        ports,
    }
}
