//! Start-up reconciliation after a crash: drop what belongs to networks and endpoints that
//! no longer exist.

use crate::error::NetError;
use crate::firewall::Reconciled;

use super::{BridgeDriver, Endpoint, NetworkState};

impl BridgeDriver {
    /// Given the networks and endpoints the engine still has (containers re-adopted from
    /// their shims), removes firewall rules and IPAM pools/addresses of everything else.
    /// Port rules of the given endpoints stay (their traffic keeps flowing across the
    /// restart); [`BridgeDriver::restore_ports`] then takes their host ports back.
    /// Networks themselves are re-created by calling [`BridgeDriver::create_network`] with
    /// their stored spec.
    pub fn reconcile(
        &self,
        networks: &[NetworkState],
        endpoints: &[Endpoint],
    ) -> Result<Reconciled, NetError> {
        let report = self.firewall.reconcile(
            &|id| networks.iter().any(|n| n.firewall_id() == id),
            &|ep| endpoints.iter().any(|e| e.host_ifname == ep),
        )?;
        for pool in self.ipam.list()? {
            if !networks.iter().any(|n| n.id == pool.network) {
                self.ipam.delete_pool(&pool.network)?;
                continue;
            }
            self.ipam.retain(&pool.network, |owner| {
                endpoints
                    .iter()
                    .any(|e| e.network == pool.network && e.container == owner)
            })?;
        }
        Ok(report)
    }
}
