//! `delete_network`: firewall rules, bridge, IPAM pool, DNS names.

use crate::error::NetError;

use super::{BridgeDriver, NetworkState};

impl BridgeDriver {
    /// Deletes a network that no container uses any more. Idempotent. The bridge is removed
    /// only if the driver created it.
    pub fn delete_network(&self, network: &NetworkState) -> Result<(), NetError> {
        self.firewall.remove_network(network.firewall_id())?;
        if network.created_bridge {
            self.host().delete_link(&network.bridge)?;
        } else {
            // A bridge we adopted keeps existing, without our address on it.
            let mut host = self.host();
            if let Some(link) = host.link_by_name(&network.bridge)? {
                host.delete_address(link.index, network.gateway, network.subnet.prefix())?;
            }
        }
        if let Some(dns) = self.dns() {
            dns.forget_network(&network.id);
        }
        self.ipam.delete_pool(&network.id)?;
        Ok(())
    }
}
