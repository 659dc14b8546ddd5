//! IPv4 subnets (`10.213.0.0/24`): parsing, containment, overlap and host enumeration.
//!
//! Kept in-house (a few dozen lines) rather than pulling a crate for it: IPAM, the firewall
//! and the bridge driver all need the same exact semantics, and Docker's rule that a subnet
//! given with host bits set (`10.0.0.1/24`) is refused.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 network: an address with all host bits zero and a prefix length 0..=32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subnet {
    addr: Ipv4Addr,
    prefix: u8,
}

/// Why a subnet string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    #[error("invalid CIDR address: {0}")]
    Syntax(String),
    #[error("invalid subnet {given}: host bits are set (did you mean {network}?)")]
    HostBits { given: String, network: String },
}

impl Subnet {
    /// The network of `addr/prefix`, refusing host bits (Docker's behaviour for `--subnet`).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Subnet, SubnetError> {
        if prefix > 32 {
            return Err(SubnetError::Syntax(format!("{addr}/{prefix}")));
        }
        let network = Subnet::containing(addr, prefix);
        if network.addr != addr {
            return Err(SubnetError::HostBits {
                given: format!("{addr}/{prefix}"),
                network: network.to_string(),
            });
        }
        Ok(network)
    }

    /// The network of `addr/prefix` with host bits cleared (for addresses read from
    /// interfaces, where `192.0.2.2/24` means the network `192.0.2.0/24`).
    pub fn containing(addr: Ipv4Addr, prefix: u8) -> Subnet {
        let prefix = prefix.min(32);
        Subnet {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        }
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask(self.prefix))
    }

    /// The last address (all host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.prefix))
    }

    /// Number of addresses in the subnet (2^(32-prefix)), as u64 so /0 fits.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains_subnet(&self, other: &Subnet) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    /// True when the two subnets share at least one address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains_subnet(other) || other.contains_subnet(self)
    }

    /// The `n`-th address of the subnet (0 = the network address), if inside it.
    pub fn nth(&self, n: u64) -> Option<Ipv4Addr> {
        (n < self.size()).then(|| Ipv4Addr::from(u32::from(self.addr) + n as u32))
    }

    /// Offset of `ip` from the network address, if inside.
    pub fn offset_of(&self, ip: Ipv4Addr) -> Option<u64> {
        self.contains(ip)
            .then(|| u64::from(u32::from(ip) - u32::from(self.addr)))
    }

    /// The first usable host address (`.1` for prefixes up to /30), Docker's default gateway.
    pub fn first_host(&self) -> Ipv4Addr {
        if self.prefix >= 31 {
            self.addr
        } else {
            Ipv4Addr::from(u32::from(self.addr) + 1)
        }
    }

    /// Splits `self` into consecutive subnets of length `prefix` (the pool walk of
    /// `default-address-pools`: base 192.168.0.0/16 with size 20 gives sixteen /20s).
    pub fn split(&self, prefix: u8) -> impl Iterator<Item = Subnet> + '_ {
        let count = if prefix < self.prefix || prefix > 32 {
            0
        } else {
            1u64 << (prefix - self.prefix)
        };
        let step = 1u64 << (32 - u32::from(prefix.min(32)));
        (0..count).map(move |i| Subnet {
            addr: Ipv4Addr::from((u64::from(u32::from(self.addr)) + i * step) as u32),
            prefix,
        })
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Subnet {
    type Err = SubnetError;

    fn from_str(s: &str) -> Result<Subnet, SubnetError> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| SubnetError::Syntax(s.to_string()))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| SubnetError::Syntax(s.to_string()))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| SubnetError::Syntax(s.to_string()))?;
        Subnet::new(addr, prefix)
    }
}

impl Serialize for Subnet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subnet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Subnet, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Subnet {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_refuses_host_bits() {
        assert_eq!(s("10.213.0.0/24").to_string(), "10.213.0.0/24");
        assert!(matches!(
            "10.213.0.1/24".parse::<Subnet>(),
            Err(SubnetError::HostBits { .. })
        ));
        assert!("10.0.0.0/33".parse::<Subnet>().is_err());
        assert!("10.0.0.0".parse::<Subnet>().is_err());
        assert_eq!(s("0.0.0.0/0").size(), 1 << 32);
    }

    #[test]
    fn overlap_and_containment() {
        assert!(s("172.17.0.0/16").overlaps(&s("172.17.3.0/24")));
        assert!(s("172.17.3.0/24").overlaps(&s("172.17.0.0/16")));
        assert!(!s("172.17.0.0/16").overlaps(&s("172.18.0.0/16")));
        assert!(s("0.0.0.0/0").overlaps(&s("10.0.0.0/8")));
        assert!(s("10.0.0.0/8").contains("10.255.255.255".parse().unwrap()));
        assert!(!s("10.0.0.0/8").contains("11.0.0.0".parse().unwrap()));
    }

    #[test]
    fn hosts_and_split() {
        let net = s("192.168.0.0/16");
        assert_eq!(net.first_host().to_string(), "192.168.0.1");
        assert_eq!(net.broadcast().to_string(), "192.168.255.255");
        let parts: Vec<_> = net.split(20).collect();
        assert_eq!(parts.len(), 16);
        assert_eq!(parts[1].to_string(), "192.168.16.0/20");
        assert_eq!(parts[15].to_string(), "192.168.240.0/20");
        assert_eq!(net.nth(258).unwrap().to_string(), "192.168.1.2");
        assert_eq!(net.offset_of("192.168.1.2".parse().unwrap()), Some(258));
        assert_eq!(s("10.0.0.0/24").netmask().to_string(), "255.255.255.0");
    }
}
