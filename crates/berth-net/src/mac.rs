//! MAC addresses: parsing, formatting, and the addresses Berth gives interfaces.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr([u8; 6]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address: {0}")]
pub struct MacError(pub String);

impl MacAddr {
    pub const fn new(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }

    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Docker's classic container MAC: `02:42` followed by the IPv4 address. Deriving it
    /// from the address keeps neighbours' ARP caches right when an address is reused.
    pub fn from_ipv4(ip: Ipv4Addr) -> MacAddr {
        let [a, b, c, d] = ip.octets();
        MacAddr([0x02, 0x42, a, b, c, d])
    }

    /// A random, locally administered, unicast address (for bridges, so their MAC does not
    /// change each time a port joins or leaves).
    pub fn random() -> MacAddr {
        let mut octets: [u8; 6] = rand::random();
        octets[0] = (octets[0] & 0xfe) | 0x02;
        MacAddr(octets)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3], o[4], o[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = MacError;

    fn from_str(s: &str) -> Result<MacAddr, MacError> {
        let mut octets = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for octet in &mut octets {
            let part = parts.next().ok_or_else(|| MacError(s.to_string()))?;
            if part.len() != 2 {
                return Err(MacError(s.to_string()));
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| MacError(s.to_string()))?;
        }
        if parts.next().is_some() {
            return Err(MacError(s.to_string()));
        }
        Ok(MacAddr(octets))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MacAddr, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parses_and_derives() {
        let mac = MacAddr::from_ipv4("172.17.0.2".parse().unwrap());
        assert_eq!(mac.to_string(), "02:42:ac:11:00:02");
        assert_eq!("02:42:AC:11:00:02".parse::<MacAddr>().unwrap(), mac);
        assert!("02:42:ac:11:00".parse::<MacAddr>().is_err());
        assert!("02:42:ac:11:00:02:03".parse::<MacAddr>().is_err());
        let random = MacAddr::random();
        assert_eq!(random.octets()[0] & 0x03, 0x02);
    }
}
