//! Choosing a subnet for a new network: the first candidate of the address pools that
//! overlaps nothing in use (other networks, host routes, host interface addresses).

use serde::{Deserialize, Serialize};

use crate::netlink::{Netlink, NetlinkError};
use crate::subnet::Subnet;

/// One `default-address-pools` entry of daemon.json: carve `base` into subnets of
/// length `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPool {
    pub base: Subnet,
    pub size: u8,
}

/// Docker's built-in pools: 172.17.0.0/16 … 172.31.0.0/16 as /16s, then 192.168.0.0/16 cut
/// into /20s.
pub fn default_pools() -> Vec<AddressPool> {
    let mut pools: Vec<AddressPool> = (17u8..=31)
        .map(|second| AddressPool {
            base: Subnet::containing(std::net::Ipv4Addr::new(172, second, 0, 0), 16),
            size: 16,
        })
        .collect();
    pools.push(AddressPool {
        base: Subnet::containing(std::net::Ipv4Addr::new(192, 168, 0, 0), 16),
        size: 20,
    });
    pools
}

/// The first subnet of `pools` that overlaps none of `taken`.
pub fn choose_subnet(pools: &[AddressPool], taken: &[Subnet]) -> Option<Subnet> {
    pools
        .iter()
        .flat_map(|pool| pool.base.split(pool.size))
        .find(|candidate| !taken.iter().any(|used| used.overlaps(candidate)))
}

/// Subnets the host already uses in the caller's namespace: destinations of its routes
/// (the default route excepted: it would overlap everything) and networks of its addresses.
pub fn host_subnets(netlink: &mut Netlink) -> Result<Vec<Subnet>, NetlinkError> {
    let mut out: Vec<Subnet> = netlink
        .routes()?
        .into_iter()
        .map(|route| route.destination)
        .filter(|destination| destination.prefix() > 0)
        .collect();
    out.extend(
        netlink
            .addresses(None)?
            .into_iter()
            .filter(|address| !address.addr.is_loopback())
            .map(|address| address.subnet()),
    );
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Subnet {
        text.parse().unwrap()
    }

    #[test]
    fn first_free_pool_skips_taken() {
        let pools = default_pools();
        assert_eq!(choose_subnet(&pools, &[]), Some(s("172.17.0.0/16")));
        let taken = [s("172.17.0.0/16"), s("172.18.5.0/24")];
        assert_eq!(choose_subnet(&pools, &taken), Some(s("172.19.0.0/16")));
        let all_172: Vec<Subnet> = vec![s("172.16.0.0/12")];
        assert_eq!(choose_subnet(&pools, &all_172), Some(s("192.168.0.0/20")));
        let mut full = all_172.clone();
        full.push(s("192.168.0.0/16"));
        assert_eq!(choose_subnet(&pools, &full), None);
    }

    #[test]
    fn custom_pools() {
        let pools = [AddressPool {
            base: s("10.213.0.0/16"),
            size: 24,
        }];
        let taken = [s("10.213.0.0/24"), s("10.213.1.0/24")];
        assert_eq!(choose_subnet(&pools, &taken), Some(s("10.213.2.0/24")));
    }
}
