//! The rules Berth installs, written in the exact form `iptables-save` prints them back.
//!
//! Layout (prefix `BERTH`; every name derives from the configurable prefix):
//!
//! ```text
//! nat    PREROUTING  -m addrtype --dst-type LOCAL -j BERTH      published ports, from outside
//! nat    OUTPUT      -m addrtype --dst-type LOCAL -j BERTH      ... and from the host itself
//! nat    POSTROUTING -j BERTH-POSTROUTING                       per network: MASQUERADE
//! nat    BERTH                                                  per port: DNAT to the container
//! filter FORWARD     -j BERTH-FORWARD                           (inserted first)
//! filter BERTH-FORWARD  -j BERTH-USER, -j BERTH-ISOLATION-STAGE-1, then per network
//! filter BERTH          per port: ACCEPT to the container port
//! filter BERTH-USER     the user's: created if missing, never flushed
//! filter BERTH-ISOLATION-STAGE-1/2  networks cannot reach each other
//! ```
//!
//! Every per-network rule carries `-m comment --comment "net:<id>"` and every per-port
//! rule `"ep:<endpoint>"`, so rules can be found and removed by owner after a crash.
//!
//! Published ports on the host's 127.0.0.1 work without a userland proxy: the OUTPUT jump
//! DNATs locally generated traffic, `route_localnet=1` on the bridge lets the rewritten
//! packet (still from 127.0.0.1) leave through the bridge, and
//! `-s 127.0.0.0/8 -o <bridge> -j MASQUERADE` gives it the gateway as source so the
//! container can answer. Containers reaching a published port through a host address
//! (hairpin) are masqueraded the same way (`--ctstate DNAT`), so replies come back through
//! the host and get un-NATed; DNATed traffic is also exempt from inter-network isolation,
//! like docker-proxy would make it. Kernel NAT keeps throughput at loopback speed with no
//! proxy process per port.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::iptables::{Rule, Table};
use super::FirewallError;
use crate::ports::Protocol;
use crate::subnet::Subnet;

/// The suffixes appended to the prefix; the longest decides the prefix limit.
const LONGEST_SUFFIX: &str = "-ISOLATION-STAGE-1";
/// iptables chain names are at most 28 characters.
const MAX_CHAIN_NAME: usize = 28;

/// Names of Berth's chains, all derived from one prefix (`BERTH` in production, something
/// like `BERTH-T1` in tests or for a second daemon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chains {
    /// nat: DNAT of published ports; filter: ACCEPT of published ports.
    pub main: String,
    pub postrouting: String,
    pub forward: String,
    pub user: String,
    pub isolation1: String,
    pub isolation2: String,
}

impl Chains {
    pub fn new(prefix: &str) -> Result<Chains, FirewallError> {
        let valid = !prefix.is_empty()
            && prefix.len() + LONGEST_SUFFIX.len() <= MAX_CHAIN_NAME
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(FirewallError::InvalidPrefix(prefix.to_string()));
        }
        Ok(Chains {
            main: prefix.to_string(),
            postrouting: format!("{prefix}-POSTROUTING"),
            forward: format!("{prefix}-FORWARD"),
            user: format!("{prefix}-USER"),
            isolation1: format!("{prefix}-ISOLATION-STAGE-1"),
            isolation2: format!("{prefix}-ISOLATION-STAGE-2"),
        })
    }

    /// Chains Berth owns completely (flushed and rebuilt at will): all but the user chain.
    pub fn owned(&self) -> [(Table, &str); 6] {
        [
            (Table::Nat, self.main.as_str()),
            (Table::Nat, self.postrouting.as_str()),
            (Table::Filter, self.main.as_str()),
            (Table::Filter, self.forward.as_str()),
            (Table::Filter, self.isolation1.as_str()),
            (Table::Filter, self.isolation2.as_str()),
        ]
    }
}

/// What the firewall needs to know about a bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// Owner tag of the rules (the driver uses the network's short ID).
    pub id: String,
    pub bridge: String,
    pub subnet: Subnet,
    /// `--internal`: no traffic leaves the bridge, no NAT.
    pub internal: bool,
    /// Inter-container communication on the bridge (`icc`).
    pub icc: bool,
    /// Masquerade traffic leaving the host (`ip-masq`, `enable_ip_masquerade`).
    pub masquerade: bool,
}

/// One published port: `host_ip:host_port` → `container_ip:container_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    /// Owner tag of the rules (the driver uses the endpoint's host-side interface name).
    pub endpoint: String,
    pub bridge: String,
    pub protocol: Protocol,
    /// None (or 0.0.0.0) publishes on every host address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// A rule in canonical `iptables-save` order: -s -d -i -o -p, matches, comment, target.
#[derive(Default)]
struct Spec {
    src: Option<(bool, String)>,
    dst: Option<(bool, String)>,
    iif: Option<(bool, String)>,
    oif: Option<(bool, String)>,
    proto: Option<(Protocol, u16)>,
    matches: Vec<String>,
    comment: Option<String>,
    target: String,
}

impl Spec {
    fn render(&self) -> String {
        let mut out = String::new();
        let mut flag = |negated: bool, name: &str, value: &str| {
            if !out.is_empty() {
                out.push(' ');
            }
            if negated {
                out.push_str("! ");
            }
            let _ = write!(out, "{name} {value}");
        };
        if let Some((neg, v)) = &self.src {
            flag(*neg, "-s", v);
        }
        if let Some((neg, v)) = &self.dst {
            flag(*neg, "-d", v);
        }
        if let Some((neg, v)) = &self.iif {
            flag(*neg, "-i", v);
        }
        if let Some((neg, v)) = &self.oif {
            flag(*neg, "-o", v);
        }
        let mut parts: Vec<String> = Vec::new();
        if let Some((protocol, port)) = self.proto {
            let name = protocol.as_str();
            parts.push(format!("-p {name} -m {name} --dport {port}"));
        }
        parts.extend(self.matches.iter().cloned());
        if let Some(comment) = &self.comment {
            parts.push(format!("-m comment --comment \"{comment}\""));
        }
        parts.push(format!("-j {}", self.target));
        for part in parts {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&part);
        }
        out
    }
}

fn rule(table: Table, chain: &str, spec: Spec) -> Rule {
    Rule {
        table,
        chain: chain.to_string(),
        args: spec.render(),
    }
}

fn yes(value: impl Into<String>) -> Option<(bool, String)> {
    Some((false, value.into()))
}

fn not(value: impl Into<String>) -> Option<(bool, String)> {
    Some((true, value.into()))
}

/// Rules that exist once per daemon, in the order they must appear.
pub struct BaseRules {
    /// Jumps from built-in chains: (rule, insert-first?).
    pub jumps: Vec<(Rule, bool)>,
    /// Rules that must open Berth's own chains, in order.
    pub heads: Vec<Rule>,
}

pub fn base_rules(chains: &Chains) -> BaseRules {
    let local_dst = || vec!["-m addrtype --dst-type LOCAL".to_string()];
    BaseRules {
        jumps: vec![
            (
                rule(
                    Table::Filter,
                    "FORWARD",
                    Spec {
                        target: chains.forward.clone(),
                        ..Spec::default()
                    },
                ),
                true,
            ),
            (
                rule(
                    Table::Nat,
                    "PREROUTING",
                    Spec {
                        matches: local_dst(),
                        target: chains.main.clone(),
                        ..Spec::default()
                    },
                ),
                false,
            ),
            (
                rule(
                    Table::Nat,
                    "OUTPUT",
                    Spec {
                        matches: local_dst(),
                        target: chains.main.clone(),
                        ..Spec::default()
                    },
                ),
                false,
            ),
            (
                rule(
                    Table::Nat,
                    "POSTROUTING",
                    Spec {
                        target: chains.postrouting.clone(),
                        ..Spec::default()
                    },
                ),
                false,
            ),
        ],
        heads: vec![
            rule(
                Table::Filter,
                &chains.forward,
                Spec {
                    target: chains.user.clone(),
                    ..Spec::default()
                },
            ),
            rule(
                Table::Filter,
                &chains.forward,
                Spec {
                    target: chains.isolation1.clone(),
                    ..Spec::default()
                },
            ),
            rule(
                Table::Filter,
                &chains.isolation2,
                Spec {
                    matches: vec!["-m conntrack --ctstate DNAT".into()],
                    target: "RETURN".into(),
                    ..Spec::default()
                },
            ),
        ],
    }
}

/// The tag of a network's rules.
pub fn network_tag(id: &str) -> String {
    format!("net:{id}")
}

/// The tag of an endpoint's port rules.
pub fn endpoint_tag(endpoint: &str) -> String {
    format!("ep:{endpoint}")
}

/// A network's rules: (rules to insert at the top of their chain, rules to append).
pub fn network_rules(chains: &Chains, net: &NetworkRules) -> (Vec<Rule>, Vec<Rule>) {
    let tag = Some(network_tag(&net.id));
    let br = net.bridge.as_str();
    let subnet = net.subnet.to_string();
    let mut top = Vec::new();
    let mut append = Vec::new();

    if net.internal {
        top.push(rule(
            Table::Filter,
            &chains.isolation1,
            Spec {
                src: not(subnet.clone()),
                oif: yes(br),
                comment: tag.clone(),
                target: "DROP".into(),
                ..Spec::default()
            },
        ));
        top.push(rule(
            Table::Filter,
            &chains.isolation1,
            Spec {
                dst: not(subnet.clone()),
                iif: yes(br),
                comment: tag.clone(),
                target: "DROP".into(),
                ..Spec::default()
            },
        ));
    } else {
        if net.masquerade {
            append.push(rule(
                Table::Nat,
                &chains.postrouting,
                Spec {
                    src: yes(subnet.clone()),
                    oif: not(br),
                    comment: tag.clone(),
                    target: "MASQUERADE".into(),
                    ..Spec::default()
                },
            ));
        }
        append.push(rule(
            Table::Nat,
            &chains.postrouting,
            Spec {
                src: yes("127.0.0.0/8"),
                oif: yes(br),
                comment: tag.clone(),
                target: "MASQUERADE".into(),
                ..Spec::default()
            },
        ));
        append.push(rule(
            Table::Nat,
            &chains.postrouting,
            Spec {
                src: yes(subnet.clone()),
                dst: yes(subnet.clone()),
                oif: yes(br),
                matches: vec!["-m conntrack --ctstate DNAT".into()],
                comment: tag.clone(),
                target: "MASQUERADE".into(),
                ..Spec::default()
            },
        ));
        append.push(rule(
            Table::Filter,
            &chains.forward,
            Spec {
                oif: yes(br),
                matches: vec!["-m conntrack --ctstate RELATED,ESTABLISHED".into()],
                comment: tag.clone(),
                target: "ACCEPT".into(),
                ..Spec::default()
            },
        ));
        append.push(rule(
            Table::Filter,
            &chains.forward,
            Spec {
                oif: yes(br),
                comment: tag.clone(),
                target: chains.main.clone(),
                ..Spec::default()
            },
        ));
        append.push(rule(
            Table::Filter,
            &chains.forward,
            Spec {
                iif: yes(br),
                oif: not(br),
                comment: tag.clone(),
                target: "ACCEPT".into(),
                ..Spec::default()
            },
        ));
    }
    append.push(rule(
        Table::Filter,
        &chains.forward,
        Spec {
            iif: yes(br),
            oif: yes(br),
            comment: tag.clone(),
            target: if net.icc { "ACCEPT" } else { "DROP" }.into(),
            ..Spec::default()
        },
    ));
    append.push(rule(
        Table::Filter,
        &chains.isolation1,
        Spec {
            iif: yes(br),
            oif: not(br),
            comment: tag.clone(),
            target: chains.isolation2.clone(),
            ..Spec::default()
        },
    ));
    append.push(rule(
        Table::Filter,
        &chains.isolation2,
        Spec {
            oif: yes(br),
            comment: tag,
            target: "DROP".into(),
            ..Spec::default()
        },
    ));
    (top, append)
}

/// The DNAT and ACCEPT rules of one published port.
pub fn port_rules(chains: &Chains, port: &PortRule) -> [Rule; 2] {
    let tag = Some(endpoint_tag(&port.endpoint));
    let host_ip = port.host_ip.filter(|ip| !ip.is_unspecified());
    [
        rule(
            Table::Nat,
            &chains.main,
            Spec {
                dst: host_ip.map(|ip| (false, format!("{ip}/32"))),
                proto: Some((port.protocol, port.host_port)),
                comment: tag.clone(),
                target: format!(
                    "DNAT --to-destination {}:{}",
                    port.container_ip, port.container_port
                ),
                ..Spec::default()
            },
        ),
        rule(
            Table::Filter,
            &chains.main,
            Spec {
                dst: yes(format!("{}/32", port.container_ip)),
                oif: yes(port.bridge.as_str()),
                proto: Some((port.protocol, port.container_port)),
                comment: tag,
                target: "ACCEPT".into(),
                ..Spec::default()
            },
        ),
    ]
}

/// A legacy link on a bridge whose inter-container traffic is off (`--icc=false`): the
/// parent may reach the child's exposed ports (moby's bridge driver `link.go`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRule {
    /// Host-side interface names of the two endpoints (the rules' owner tag).
    pub parent_endpoint: String,
    pub child_endpoint: String,
    pub bridge: String,
    pub parent_ip: Ipv4Addr,
    pub child_ip: Ipv4Addr,
    /// The child's exposed ports.
    pub ports: Vec<(Protocol, u16)>,
}

/// The tag of a link's rules: both endpoints, so that either one's stop finds them.
pub fn link_tag(parent_endpoint: &str, child_endpoint: &str) -> String {
    format!("link:{parent_endpoint}:{child_endpoint}")
}

/// The two endpoints a link tag names.
pub fn link_tag_endpoints(tag: &str) -> Option<(&str, &str)> {
    tag.strip_prefix("link:")?.split_once(':')
}

/// A link's rules in the filter main chain (reached for traffic going out to the bridge,
/// before the bridge's icc DROP): per port, parent → child to the port and child →
/// parent from it, as moby's `-i br -o br -p P -s PARENT -d CHILD --dport N -j ACCEPT`
/// and its reverse with `--sport`.
pub fn link_rules(chains: &Chains, link: &LinkRule) -> Vec<Rule> {
    let tag = Some(link_tag(&link.parent_endpoint, &link.child_endpoint));
    let mut out = Vec::new();
    for (protocol, port) in &link.ports {
        out.push(rule(
            Table::Filter,
            &chains.main,
            Spec {
                src: yes(format!("{}/32", link.parent_ip)),
                dst: yes(format!("{}/32", link.child_ip)),
                iif: yes(link.bridge.as_str()),
                oif: yes(link.bridge.as_str()),
                proto: Some((*protocol, *port)),
                comment: tag.clone(),
                target: "ACCEPT".into(),
                ..Spec::default()
            },
        ));
        let name = protocol.as_str();
        out.push(rule(
            Table::Filter,
            &chains.main,
            Spec {
                src: yes(format!("{}/32", link.child_ip)),
                dst: yes(format!("{}/32", link.parent_ip)),
                iif: yes(link.bridge.as_str()),
                oif: yes(link.bridge.as_str()),
                matches: vec![format!("-p {name} -m {name} --sport {port}")],
                comment: tag.clone(),
                target: "ACCEPT".into(),
                ..Spec::default()
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_follow_the_prefix_and_fit() {
        let chains = Chains::new("BERTH").unwrap();
        assert_eq!(chains.isolation1, "BERTH-ISOLATION-STAGE-1");
        assert_eq!(chains.user, "BERTH-USER");
        assert!(Chains::new("BERTH-T123").is_ok());
        assert!(Chains::new("BERTH-T12345").is_err());
        assert!(Chains::new("BAD NAME").is_err());
        assert!(Chains::new("").is_err());
    }

    #[test]
    fn port_rules_are_canonical() {
        let chains = Chains::new("BT1").unwrap();
        let [dnat, accept] = port_rules(
            &chains,
            &PortRule {
                endpoint: "veth1234567".into(),
                bridge: "bt10".into(),
                protocol: Protocol::Tcp,
                host_ip: Some("127.0.0.1".parse().unwrap()),
                host_port: 8080,
                container_ip: "10.213.0.2".parse().unwrap(),
                container_port: 80,
            },
        );
        assert_eq!(
            dnat.args,
            "-d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -m comment --comment \"ep:veth1234567\" -j DNAT --to-destination 10.213.0.2:80"
        );
        assert_eq!(
            accept.args,
            "-d 10.213.0.2/32 -o bt10 -p tcp -m tcp --dport 80 -m comment --comment \"ep:veth1234567\" -j ACCEPT"
        );
        assert_eq!(accept.tag(), Some("ep:veth1234567"));
    }

    #[test]
    fn internal_networks_get_no_nat_and_drop_rules_first() {
        let chains = Chains::new("BT1").unwrap();
        let net = NetworkRules {
            id: "abc".into(),
            bridge: "bt10".into(),
            subnet: "10.213.0.0/24".parse().unwrap(),
            internal: true,
            icc: true,
            masquerade: true,
        };
        let (top, append) = network_rules(&chains, &net);
        assert_eq!(top.len(), 2);
        assert_eq!(
            top[0].args,
            "! -s 10.213.0.0/24 -o bt10 -m comment --comment \"net:abc\" -j DROP"
        );
        assert!(append.iter().all(|r| r.table == Table::Filter));
    }

    #[test]
    fn link_rules_are_canonical_and_tagged_by_both_endpoints() {
        let chains = Chains::new("BT1").unwrap();
        let rules = link_rules(
            &chains,
            &LinkRule {
                parent_endpoint: "vethaaa".into(),
                child_endpoint: "vethbbb".into(),
                bridge: "bt10".into(),
                parent_ip: "10.213.0.3".parse().unwrap(),
                child_ip: "10.213.0.2".parse().unwrap(),
                ports: vec![(Protocol::Tcp, 80)],
            },
        );
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0].args,
            "-s 10.213.0.3/32 -d 10.213.0.2/32 -i bt10 -o bt10 -p tcp -m tcp --dport 80 -m comment --comment \"link:vethaaa:vethbbb\" -j ACCEPT"
        );
        assert_eq!(
            rules[1].args,
            "-s 10.213.0.2/32 -d 10.213.0.3/32 -i bt10 -o bt10 -p tcp -m tcp --sport 80 -m comment --comment \"link:vethaaa:vethbbb\" -j ACCEPT"
        );
        assert_eq!(
            link_tag_endpoints(rules[0].tag().unwrap()),
            Some(("vethaaa", "vethbbb"))
        );
    }
}
