//! `disconnect`: a container leaves a network.

use crate::error::NetError;

use super::{BridgeDriver, Endpoint, NetworkState};

impl BridgeDriver {
    /// Removes the endpoint: deletes the veth pair (the container side goes with it; if the
    /// container's namespace is already gone, so is the pair), releases the address and
    /// the DNS names. Idempotent. Published ports must be unpublished first.
    pub fn disconnect(&self, network: &NetworkState, endpoint: &Endpoint) -> Result<(), NetError> {
        if network.dns {
            if let Some(dns) = self.dns() {
                dns.unregister(&network.id, &endpoint.container);
                dns.leave(&endpoint.container, &network.id);
            }
        }
        self.host().delete_link(&endpoint.host_ifname)?;
        self.ipam.release(&network.id, endpoint.ip)?;
        Ok(())
    }
}

impl BridgeDriver {
    /// For a container that stopped and whose network namespace is being destroyed: frees
    /// the address and the DNS names but leaves the veth pair to the kernel, which removes
    /// it with the namespace, in the background and batched. Deleting it here would cost an
    /// RCU grace period (10-30 ms) on the stop path for nothing.
    pub fn release_endpoint(
        &self,
        network: &NetworkState,
        endpoint: &Endpoint,
    ) -> Result<(), NetError> {
        if network.dns {
            if let Some(dns) = self.dns() {
                dns.unregister(&network.id, &endpoint.container);
                dns.leave(&endpoint.container, &network.id);
            }
        }
        self.ipam.release(&network.id, endpoint.ip)?;
        Ok(())
    }
}
