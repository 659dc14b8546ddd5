//! The names the embedded DNS server answers: per network, each endpoint's names
//! (container name, aliases, short ID) and address.

use std::collections::HashMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone)]
struct Entry {
    owner: String,
    names: Vec<String>,
    ip: Ipv4Addr,
}

/// Names per network. Lookups are case-insensitive and ignore a trailing dot.
#[derive(Debug, Default)]
pub struct Names {
    networks: HashMap<String, Vec<Entry>>,
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Names {
    /// Records (or replaces) what `owner` (an endpoint) is called on `network`.
    pub fn register(&mut self, network: &str, owner: &str, names: &[String], ip: Ipv4Addr) {
        let entries = self.networks.entry(network.to_string()).or_default();
        entries.retain(|e| e.owner != owner);
        let mut normalized: Vec<String> = Vec::new();
        for name in names.iter().map(|n| normalize(n)) {
            if !name.is_empty() && !normalized.contains(&name) {
                normalized.push(name);
            }
        }
        entries.push(Entry {
            owner: owner.to_string(),
            names: normalized,
            ip,
        });
    }

    pub fn unregister(&mut self, network: &str, owner: &str) {
        if let Some(entries) = self.networks.get_mut(network) {
            entries.retain(|e| e.owner != owner);
            if entries.is_empty() {
                self.networks.remove(network);
            }
        }
    }

    /// Drops every name of a network (when it is deleted).
    pub fn forget_network(&mut self, network: &str) {
        self.networks.remove(network);
    }

    /// Addresses of `name` on the given networks, in network order, without duplicates.
    pub fn lookup(&self, networks: &[String], name: &str) -> Vec<Ipv4Addr> {
        let name = normalize(name);
        let mut out = Vec::new();
        for network in networks {
            for entry in self.networks.get(network).into_iter().flatten() {
                if entry.names.contains(&name) && !out.contains(&entry.ip) {
                    out.push(entry.ip);
                }
            }
        }
        out
    }

    /// The first name of the endpoint holding `ip` on the given networks (PTR answers).
    pub fn reverse(&self, networks: &[String], ip: Ipv4Addr) -> Option<String> {
        networks.iter().find_map(|network| {
            self.networks
                .get(network)?
                .iter()
                .find(|e| e.ip == ip)
                .and_then(|e| e.names.first().cloned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_lookup_unregister() {
        let mut names = Names::default();
        let ip = Ipv4Addr::new(10, 213, 0, 2);
        names.register(
            "n1",
            "ep1",
            &["Web".into(), "www".into(), "0123456789ab".into()],
            ip,
        );
        names.register("n2", "ep2", &["db".into()], Ipv4Addr::new(10, 213, 1, 2));
        let n1 = vec!["n1".to_string()];
        assert_eq!(names.lookup(&n1, "web."), [ip]);
        assert_eq!(names.lookup(&n1, "WWW"), [ip]);
        assert_eq!(names.lookup(&n1, "0123456789ab"), [ip]);
        assert!(
            names.lookup(&n1, "db").is_empty(),
            "other networks are not visible"
        );
        assert_eq!(names.reverse(&n1, ip).as_deref(), Some("web"));
        names.unregister("n1", "ep1");
        assert!(names.lookup(&n1, "web").is_empty());
    }
}
