//! `create_network`: IPAM pool, bridge with the gateway address, sysctls, firewall rules.

use crate::error::NetError;
use crate::ipam::{host_subnets, IpamError, PoolRequest};
use crate::mac::MacAddr;
use crate::sysctl;

use super::{check_ifname, BridgeDriver, NetworkSpec, NetworkState};

impl BridgeDriver {
    /// Creates a network, or brings an existing one back to its full setup (at daemon start
    /// with the spec rebuilt from the stored [`NetworkState`]): every step is idempotent.
    ///
    /// Without a subnet in the spec, an existing bridge's address is adopted (as dockerd
    /// does for docker0); otherwise the first free subnet of the address pools is taken,
    /// skipping host routes and addresses. On failure, whatever this call made is undone.
    pub fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkState, NetError> {
        check_ifname(&spec.bridge)?;
        let pool_existed = match self.ipam.pool(&spec.id) {
            Ok(_) => true,
            Err(IpamError::NoSuchPool(_)) => false,
            Err(e) => return Err(e.into()),
        };
        let (existing_bridge, request) = {
            let mut host = self.host();
            let existing = host.link_by_name(&spec.bridge)?;
            let mut request = PoolRequest {
                subnet: spec.subnet,
                gateway: spec.gateway,
                ip_range: spec.ip_range,
                avoid: Vec::new(),
            };
            if request.subnet.is_none() {
                let bridge_address = match &existing {
                    Some(link) => host.addresses(Some(link.index))?.into_iter().next(),
                    None => None,
                };
                if let Some(address) = bridge_address.filter(|_| !pool_existed) {
                    request.subnet = Some(address.subnet());
                    request.gateway = request.gateway.or(Some(address.addr));
                } else if !pool_existed {
                    request.avoid = host_subnets(&mut host)?;
                }
            }
            (existing, request)
        };
        let pool = self.ipam.create_pool(&spec.id, &request)?;
        let mut undo = Undo {
            driver: self,
            pool: (!pool_existed).then(|| spec.id.clone()),
            bridge: None,
            rules: None,
        };

        let state = NetworkState {
            id: spec.id.clone(),
            name: spec.name.clone(),
            bridge: spec.bridge.clone(),
            subnet: pool.subnet,
            gateway: pool.gateway,
            ip_range: pool.ip_range,
            internal: spec.internal,
            icc: spec.icc,
            masquerade: spec.masquerade,
            mtu: spec.mtu,
            dns: spec.dns,
            host_binding_ipv4: spec.host_binding_ipv4,
            created_bridge: existing_bridge.is_none(),
        };

        {
            let mut host = self.host();
            let index = match &existing_bridge {
                Some(link) => {
                    if let Some(mtu) = spec.mtu.filter(|mtu| *mtu != link.mtu) {
                        host.set_mtu(link.index, mtu)?;
                    }
                    link.index
                }
                None => {
                    host.create_bridge(&spec.bridge, spec.mtu, Some(MacAddr::random()))?;
                    undo.bridge = Some(spec.bridge.clone());
                    host.link_index(&spec.bridge)?
                }
            };
            host.add_address(index, pool.gateway, pool.subnet.prefix())?;
            host.set_up(index, true)?;
        }

        if !spec.internal && self.config.ip_forward {
            sysctl::enable_ip_forward()?;
        }
        // 127.0.0.1 → container DNAT needs this on the outgoing interface.
        sysctl::enable_route_localnet(&spec.bridge)?;
        if !spec.icc {
            sysctl::enable_bridge_nf_call_iptables()?;
        }
        if !pool_existed {
            undo.rules = Some(state.firewall_id().to_string());
        }
        self.firewall.add_network(&state.firewall_rules())?;

        undo.disarm();
        tracing::info!(network = %state.name, bridge = %state.bridge, subnet = %state.subnet, "network ready");
        Ok(state)
    }
}

impl BridgeDriver {
    /// Brings a stored network back after a daemon restart or a host reboot: bridge,
    /// address, sysctls and rules, whatever of them is missing. Keeps `created_bridge`.
    pub fn restore_network(&self, state: &NetworkState) -> Result<NetworkState, NetError> {
        let mut restored = self.create_network(&state.spec())?;
        restored.created_bridge |= state.created_bridge;
        Ok(restored)
    }
}

/// Rolls back a half-made network when dropped armed.
struct Undo<'a> {
    driver: &'a BridgeDriver,
    pool: Option<String>,
    bridge: Option<String>,
    rules: Option<String>,
}

impl Undo<'_> {
    fn disarm(&mut self) {
        self.pool = None;
        self.bridge = None;
        self.rules = None;
    }
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.rules.take() {
            if let Err(e) = self.driver.firewall.remove_network(&id) {
                tracing::warn!(network = %id, error = %e, "rollback: removing firewall rules");
            }
        }
        if let Some(bridge) = self.bridge.take() {
            if let Err(e) = self.driver.host().delete_link(&bridge) {
                tracing::warn!(%bridge, error = %e, "rollback: deleting bridge");
            }
        }
        if let Some(network) = self.pool.take() {
            if let Err(e) = self.driver.ipam.delete_pool(&network) {
                tracing::warn!(%network, error = %e, "rollback: deleting IPAM pool");
            }
        }
    }
}
