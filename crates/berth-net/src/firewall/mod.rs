//! iptables rules for bridge networks and published ports (see [`rules`] for the layout).
//!
//! Every operation reads the current state once (`iptables-save`) where it needs to, and
//! applies its changes as one `iptables-restore --noflush` batch, so it is idempotent:
//! running it twice, or after a crash in the middle, converges to the same rules. The one
//! exception is the container start path ([`Firewall::add_ports`]), which appends without
//! reading first to stay within a few milliseconds; a crash there is repaired by
//! [`Firewall::reconcile`] at the next daemon start.
//!
//! With `iptables: false` ([`FirewallConfig::enabled`]) nothing is ever run.

pub mod iptables;
pub mod rules;

use std::io;
use std::sync::Mutex;

pub use iptables::{Batch, Programs, Rule, Saved, Table};
pub use rules::{Chains, LinkRule, NetworkRules, PortRule};

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("run {program}: {source} (is iptables installed? set \"iptables\": false to run without it)")]
    Spawn { program: String, source: io::Error },
    #[error("{program} failed ({status}): {stderr}{}", if input.is_empty() { String::new() } else { format!("\ninput was:\n{input}") })]
    Failed {
        program: String,
        status: String,
        stderr: String,
        input: String,
    },
    #[error(
        "invalid iptables chain prefix {0:?}: letters, digits, '-' and '_', at most 10 characters"
    )]
    InvalidPrefix(String),
}

/// Firewall settings of one daemon.
#[derive(Debug, Clone)]
pub struct FirewallConfig {
    /// `iptables` of daemon.json; false makes every operation a no-op.
    pub enabled: bool,
    /// Prefix of every chain name (`BERTH`).
    pub prefix: String,
    pub programs: Programs,
}

impl Default for FirewallConfig {
    fn default() -> FirewallConfig {
        FirewallConfig {
            enabled: true,
            prefix: "BERTH".to_string(),
            programs: Programs::default(),
        }
    }
}

/// What [`Firewall::reconcile`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub networks: Vec<String>,
    pub endpoints: Vec<String>,
}

/// Berth's iptables rules.
#[derive(Debug)]
pub struct Firewall {
    config: FirewallConfig,
    chains: Chains,
    /// Serializes read-modify-write sequences of this daemon.
    lock: Mutex<()>,
}

impl Firewall {
    pub fn new(config: FirewallConfig) -> Result<Firewall, FirewallError> {
        let chains = Chains::new(&config.prefix)?;
        Ok(Firewall {
            config,
            chains,
            lock: Mutex::new(()),
        })
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    pub fn chains(&self) -> &Chains {
        &self.chains
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn programs(&self) -> &Programs {
        &self.config.programs
    }

    /// Creates the chains and jumps if missing (and puts the chains' leading rules back in
    /// place). Safe to run at every daemon start; the user chain's rules are kept.
    pub fn setup(&self) -> Result<(), FirewallError> {
        if !self.enabled() {
            return Ok(());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        self.base_into(&saved, &mut batch);
        self.programs().restore(&batch)
    }

    fn base_into(&self, saved: &Saved, batch: &mut Batch) {
        let owned = self.chains.owned();
        for (table, chain) in owned
            .iter()
            .copied()
            .chain([(Table::Filter, self.chains.user.as_str())])
        {
            if !saved.table(table).has_chain(chain) {
                batch.new_chain(table, chain);
            }
        }
        let base = rules::base_rules(&self.chains);
        // Leading rules of our own chains, in order.
        let mut by_chain: Vec<(Table, &str, Vec<&Rule>)> = Vec::new();
        for head in &base.heads {
            match by_chain
                .iter_mut()
                .find(|(t, c, _)| *t == head.table && *c == head.chain)
            {
                Some((_, _, list)) => list.push(head),
                None => by_chain.push((head.table, head.chain.as_str(), vec![head])),
            }
        }
        for (table, chain, heads) in by_chain {
            let current = saved.table(table).rules_of(chain);
            let in_place = heads.len() <= current.len()
                && heads.iter().zip(current).all(|(h, c)| h.args == *c);
            if in_place {
                continue;
            }
            for head in &heads {
                for _ in current.iter().filter(|c| **c == head.args) {
                    batch.delete(head);
                }
            }
            for (position, head) in heads.iter().enumerate() {
                batch.insert(head, position + 1);
            }
        }
        for (jump, first) in &base.jumps {
            let present = saved
                .table(jump.table)
                .rules_of(&jump.chain)
                .contains(&jump.args);
            if !present {
                if *first {
                    batch.insert(jump, 1);
                } else {
                    batch.append(jump);
                }
            }
        }
    }

    /// Installs a network's rules (missing ones only; the base is set up too if needed).
    pub fn add_network(&self, net: &NetworkRules) -> Result<(), FirewallError> {
        if !self.enabled() {
            return Ok(());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        self.base_into(&saved, &mut batch);
        let (top, append) = rules::network_rules(&self.chains, net);
        let present = |rule: &Rule| {
            saved
                .table(rule.table)
                .rules_of(&rule.chain)
                .contains(&rule.args)
        };
        for rule in top.iter().rev().filter(|r| !present(r)) {
            batch.insert(rule, 1);
        }
        for rule in append.iter().filter(|r| !present(r)) {
            batch.append(rule);
        }
        self.programs().restore(&batch)
    }

    /// Removes every rule of network `id`. Missing rules are fine.
    pub fn remove_network(&self, id: &str) -> Result<(), FirewallError> {
        self.remove_tagged(&rules::network_tag(id))
    }

    /// Removes every port rule of an endpoint (the slow, exhaustive way).
    pub fn remove_endpoint(&self, endpoint: &str) -> Result<(), FirewallError> {
        self.remove_tagged(&rules::endpoint_tag(endpoint))
    }

    /// Installs the rules of a legacy link (missing ones only).
    pub fn add_link(&self, link: &rules::LinkRule) -> Result<(), FirewallError> {
        if !self.enabled() || link.ports.is_empty() {
            return Ok(());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        for rule in rules::link_rules(&self.chains, link) {
            if !saved
                .table(rule.table)
                .rules_of(&rule.chain)
                .contains(&rule.args)
            {
                batch.append(&rule);
            }
        }
        self.programs().restore(&batch)
    }

    /// Removes the rules of one link (`rm --link`).
    pub fn remove_link(
        &self,
        parent_endpoint: &str,
        child_endpoint: &str,
    ) -> Result<(), FirewallError> {
        self.remove_tagged(&rules::link_tag(parent_endpoint, child_endpoint))
    }

    /// Removes the rules of every link an endpoint takes part in (as parent or child).
    pub fn remove_links(&self, endpoint: &str) -> Result<(), FirewallError> {
        if !self.enabled() {
            return Ok(());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        for rule in self.owned_rules(&saved) {
            let ends = rule.tag().and_then(rules::link_tag_endpoints);
            if ends.is_some_and(|(a, b)| a == endpoint || b == endpoint) {
                batch.delete(&rule);
            }
        }
        self.programs().restore(&batch)
    }

    fn remove_tagged(&self, tag: &str) -> Result<(), FirewallError> {
        if !self.enabled() {
            return Ok(());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        for rule in self.owned_rules(&saved) {
            if rule.tag() == Some(tag) {
                batch.delete(&rule);
            }
        }
        self.programs().restore(&batch)
    }

    /// Publishes ports: appends their DNAT and ACCEPT rules in one batch, without reading
    /// the tables first (the start path). On failure nothing of the batch is left.
    pub fn add_ports(&self, ports: &[PortRule]) -> Result<(), FirewallError> {
        if !self.enabled() || ports.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        for port in ports {
            for rule in rules::port_rules(&self.chains, port) {
                batch.append(&rule);
            }
        }
        let result = {
            let _guard = self.guard();
            self.programs().restore(&batch)
        };
        if let Err(e) = result {
            // The nat table may have committed before the filter table failed: take back
            // exactly what this batch may have added.
            if let Err(cleanup) = self.remove_ports(ports) {
                tracing::warn!(error = %cleanup, "cleaning up port rules after a failed publish");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Adds the rules of published ports that are missing (read-and-diff): for ports of
    /// containers that survived a daemon restart.
    pub fn ensure_ports(&self, ports: &[PortRule]) -> Result<(), FirewallError> {
        if !self.enabled() || ports.is_empty() {
            return Ok(());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        self.base_into(&saved, &mut batch);
        let mut present: Vec<(Table, String, String)> = self
            .owned_rules(&saved)
            .into_iter()
            .map(|r| (r.table, r.chain, r.args))
            .collect();
        for port in ports {
            for rule in rules::port_rules(&self.chains, port) {
                let key = (rule.table, rule.chain.clone(), rule.args.clone());
                match present.iter().position(|r| *r == key) {
                    Some(position) => {
                        present.remove(position);
                    }
                    None => batch.append(&rule),
                }
            }
        }
        self.programs().restore(&batch)
    }

    /// Removes the rules of published ports; falls back to a read-and-diff when some rule
    /// is already gone (so it can be repeated).
    pub fn remove_ports(&self, ports: &[PortRule]) -> Result<(), FirewallError> {
        if !self.enabled() || ports.is_empty() {
            return Ok(());
        }
        let wanted: Vec<Rule> = ports
            .iter()
            .flat_map(|port| rules::port_rules(&self.chains, port))
            .collect();
        let _guard = self.guard();
        let mut batch = Batch::default();
        for rule in &wanted {
            batch.delete(rule);
        }
        // The stop path: the tables' deletions run side by side (see
        // [`Batch::split_tables`]); if either fails, the read-and-diff below finishes the job.
        let parts = batch.split_tables();
        let all_ok = std::thread::scope(|scope| {
            let running: Vec<_> = parts
                .iter()
                .map(|part| scope.spawn(move || self.programs().restore(part).is_ok()))
                .collect();
            running
                .into_iter()
                .all(|handle| handle.join().unwrap_or(false))
        });
        if all_ok {
            return Ok(());
        }
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        let mut remaining: Vec<(Table, String, String)> = Vec::new();
        for (table, chain) in self.chains.owned() {
            for args in saved.table(table).rules_of(chain) {
                remaining.push((table, chain.to_string(), args.clone()));
            }
        }
        for rule in &wanted {
            let key = (rule.table, rule.chain.clone(), rule.args.clone());
            if let Some(position) = remaining.iter().position(|r| *r == key) {
                remaining.remove(position);
                batch.delete(rule);
            }
        }
        self.programs().restore(&batch)
    }

    /// After a crash: sets the base up again and removes the rules of networks and
    /// endpoints that no longer exist (`keep_network` / `keep_endpoint` say which do).
    pub fn reconcile(
        &self,
        keep_network: &dyn Fn(&str) -> bool,
        keep_endpoint: &dyn Fn(&str) -> bool,
    ) -> Result<Reconciled, FirewallError> {
        if !self.enabled() {
            return Ok(Reconciled::default());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        self.base_into(&saved, &mut batch);
        let mut report = Reconciled::default();
        for rule in self.owned_rules(&saved) {
            let Some(tag) = rule.tag() else { continue };
            if let Some((parent, child)) = rules::link_tag_endpoints(tag) {
                if !keep_endpoint(parent) || !keep_endpoint(child) {
                    batch.delete(&rule);
                }
                continue;
            }
            let stale = match (tag.strip_prefix("net:"), tag.strip_prefix("ep:")) {
                (Some(id), _) if !keep_network(id) => Some((&mut report.networks, id)),
                (_, Some(endpoint)) if !keep_endpoint(endpoint) => {
                    Some((&mut report.endpoints, endpoint))
                }
                _ => None,
            };
            if let Some((list, owner)) = stale {
                if !list.iter().any(|o| o == owner) {
                    list.push(owner.to_string());
                }
                batch.delete(&rule);
            }
        }
        self.programs().restore(&batch)?;
        Ok(report)
    }

    /// Removes everything this firewall created: the jumps from built-in chains and the
    /// owned chains. The user chain goes too, but only when it is empty and nothing else
    /// refers to it (rules a user put there are never lost).
    pub fn teardown(&self) -> Result<(), FirewallError> {
        if !self.enabled() {
            return Ok(());
        }
        let _guard = self.guard();
        let saved = self.programs().save()?;
        let mut batch = Batch::default();
        let base = rules::base_rules(&self.chains);
        for (jump, _) in &base.jumps {
            for r in saved.table(jump.table).rules_of(&jump.chain) {
                if *r == jump.args {
                    batch.delete(jump);
                }
            }
        }
        let owned = self.chains.owned();
        let mut doomed: Vec<(Table, &str)> = owned
            .iter()
            .copied()
            .filter(|(table, chain)| saved.table(*table).has_chain(chain))
            .collect();
        let user = self.chains.user.as_str();
        let filter = saved.table(Table::Filter);
        if filter.has_chain(user) && filter.rules_of(user).is_empty() {
            let referenced_elsewhere = filter.rules.iter().any(|(chain, rules)| {
                chain != &self.chains.forward
                    && rules.iter().any(|r| r.ends_with(&format!("-j {user}")))
            });
            if !referenced_elsewhere {
                doomed.push((Table::Filter, user));
            }
        }
        // Flush all first (they jump to each other), then delete.
        for (table, chain) in &doomed {
            batch.flush_chain(*table, chain);
        }
        for (table, chain) in &doomed {
            batch.delete_chain(*table, chain);
        }
        self.programs().restore(&batch)
    }

    /// Every rule in the chains this firewall owns (not the user chain).
    fn owned_rules(&self, saved: &Saved) -> Vec<Rule> {
        let mut out = Vec::new();
        for (table, chain) in self.chains.owned() {
            for args in saved.table(table).rules_of(chain) {
                out.push(Rule {
                    table,
                    chain: chain.to_string(),
                    args: args.clone(),
                });
            }
        }
        out
    }

    /// The rules currently in Berth's chains and the jumps to them (for inspection/tests).
    pub fn current_rules(&self) -> Result<Vec<Rule>, FirewallError> {
        let saved = self.programs().save()?;
        let mut out = self.owned_rules(&saved);
        for (jump, _) in rules::base_rules(&self.chains).jumps {
            if saved
                .table(jump.table)
                .rules_of(&jump.chain)
                .contains(&jump.args)
            {
                out.push(jump);
            }
        }
        Ok(out)
    }
}
