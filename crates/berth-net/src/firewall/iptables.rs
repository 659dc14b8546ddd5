//! Running `iptables-save` / `iptables-restore` and reading their text format.
//!
//! Changes are sent as one `iptables-restore --noflush` batch per operation: one process,
//! one kernel transaction per table, instead of one `iptables` process per rule.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::FirewallError;

/// `filter` or `nat`: the two tables Berth writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Filter,
    Nat,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Filter => "filter",
            Table::Nat => "nat",
        }
    }
}

/// One rule: its table, chain, and arguments in the canonical order `iptables-save` prints
/// (so a rule read back compares equal to the one written).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub table: Table,
    pub chain: String,
    pub args: String,
}

impl Rule {
    /// The comment tag of the rule (`--comment "TAG"`), if any.
    pub fn tag(&self) -> Option<&str> {
        let start = self.args.find("--comment \"")? + "--comment \"".len();
        let end = self.args[start..].find('"')?;
        Some(&self.args[start..start + end])
    }
}

/// What `iptables-save` shows of one table.
#[derive(Debug, Clone, Default)]
pub struct TableState {
    pub chains: Vec<String>,
    /// Rules in order, per chain.
    pub rules: BTreeMap<String, Vec<String>>,
}

impl TableState {
    pub fn has_chain(&self, chain: &str) -> bool {
        self.chains.iter().any(|c| c == chain)
    }

    pub fn rules_of(&self, chain: &str) -> &[String] {
        self.rules.get(chain).map_or(&[], Vec::as_slice)
    }

    /// True when some rule outside `chain` jumps to it.
    pub fn is_referenced(&self, chain: &str) -> bool {
        let needle = format!("-j {chain}");
        self.rules.iter().any(|(owner, rules)| {
            owner != chain
                && rules
                    .iter()
                    .any(|r| r.ends_with(&needle) || r.contains(&format!("{needle} ")))
        })
    }
}

/// The `filter` and `nat` tables as read by one `iptables-save`.
#[derive(Debug, Clone, Default)]
pub struct Saved {
    pub filter: TableState,
    pub nat: TableState,
}

impl Saved {
    pub fn table(&self, table: Table) -> &TableState {
        match table {
            Table::Filter => &self.filter,
            Table::Nat => &self.nat,
        }
    }

    /// Parses `iptables-save` output (other tables are skipped).
    pub fn parse(text: &str) -> Saved {
        let mut saved = Saved::default();
        let mut current: Option<&mut TableState> = None;
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('*') {
                current = match name.trim() {
                    "filter" => Some(&mut saved.filter),
                    "nat" => Some(&mut saved.nat),
                    _ => None,
                };
                continue;
            }
            let Some(table) = current.as_deref_mut() else {
                continue;
            };
            if let Some(decl) = line.strip_prefix(':') {
                if let Some(name) = decl.split_whitespace().next() {
                    table.chains.push(name.to_string());
                }
            } else if let Some(rule) = line.strip_prefix("-A ") {
                let (chain, args) = rule.split_once(' ').unwrap_or((rule, ""));
                table
                    .rules
                    .entry(chain.to_string())
                    .or_default()
                    .push(args.to_string());
            }
        }
        saved
    }
}

/// The iptables programs to run.
#[derive(Debug, Clone)]
pub struct Programs {
    pub save: PathBuf,
    pub restore: PathBuf,
}

impl Default for Programs {
    fn default() -> Programs {
        Programs {
            save: PathBuf::from("iptables-save"),
            restore: PathBuf::from("iptables-restore"),
        }
    }
}

impl Programs {
    /// Reads the filter and nat tables.
    pub fn save(&self) -> Result<Saved, FirewallError> {
        let output = Command::new(&self.save)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| FirewallError::Spawn {
                program: self.save.display().to_string(),
                source,
            })?;
        if !output.status.success() {
            return Err(FirewallError::Failed {
                program: self.save.display().to_string(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                input: String::new(),
            });
        }
        Ok(Saved::parse(&String::from_utf8_lossy(&output.stdout)))
    }

    /// Applies a batch (`iptables-restore --noflush` input) if it has any command in it.
    pub fn restore(&self, batch: &Batch) -> Result<(), FirewallError> {
        let input = batch.render();
        if input.is_empty() {
            return Ok(());
        }
        tracing::debug!(input = %input, "iptables-restore");
        let mut child = Command::new(&self.restore)
            .args(["--noflush", "--wait"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| FirewallError::Spawn {
                program: self.restore.display().to_string(),
                source,
            })?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let written = stdin.write_all(input.as_bytes());
        drop(stdin);
        let output = child
            .wait_with_output()
            .map_err(|source| FirewallError::Spawn {
                program: self.restore.display().to_string(),
                source,
            })?;
        if !output.status.success() || written.is_err() {
            return Err(FirewallError::Failed {
                program: self.restore.display().to_string(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                input,
            });
        }
        Ok(())
    }
}

/// Commands for one `iptables-restore --noflush` run, grouped by table.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    filter: Vec<String>,
    nat: Vec<String>,
}

impl Batch {
    fn lines(&mut self, table: Table) -> &mut Vec<String> {
        match table {
            Table::Filter => &mut self.filter,
            Table::Nat => &mut self.nat,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.filter.is_empty() && self.nat.is_empty()
    }

    /// Declares a new chain. Only for chains that do not exist: in `--noflush` mode a
    /// declaration of an existing chain flushes it.
    pub fn new_chain(&mut self, table: Table, chain: &str) {
        self.lines(table).push(format!(":{chain} - [0:0]"));
    }

    pub fn append(&mut self, rule: &Rule) {
        let line = format!("-A {} {}", rule.chain, rule.args);
        self.lines(rule.table).push(line);
    }

    /// Inserts at 1-based `position`.
    pub fn insert(&mut self, rule: &Rule, position: usize) {
        let line = format!("-I {} {position} {}", rule.chain, rule.args);
        self.lines(rule.table).push(line);
    }

    pub fn delete(&mut self, rule: &Rule) {
        let line = format!("-D {} {}", rule.chain, rule.args);
        self.lines(rule.table).push(line);
    }

    /// Removes every rule of a chain.
    pub fn flush_chain(&mut self, table: Table, chain: &str) {
        self.lines(table).push(format!("-F {chain}"));
    }

    /// Deletes an empty chain that nothing jumps to any more.
    pub fn delete_chain(&mut self, table: Table, chain: &str) {
        self.lines(table).push(format!("-X {chain}"));
    }

    /// One batch per table that has lines. Each `COMMIT` of iptables-restore is its own
    /// kernel transaction anyway, so applying the parts in parallel changes nothing but
    /// the wall time (a commit that deletes rules waits ~10 ms in the kernel).
    pub fn split_tables(self) -> Vec<Batch> {
        let mut out = Vec::with_capacity(2);
        if !self.filter.is_empty() {
            out.push(Batch {
                filter: self.filter,
                nat: Vec::new(),
            });
        }
        if !self.nat.is_empty() {
            out.push(Batch {
                filter: Vec::new(),
                nat: self.nat,
            });
        }
        out
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (table, lines) in [(Table::Filter, &self.filter), (Table::Nat, &self.nat)] {
            if lines.is_empty() {
                continue;
            }
            out.push('*');
            out.push_str(table.name());
            out.push('\n');
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str("COMMIT\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAVED: &str = "# Generated by iptables-save
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j MARK --set-mark 1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:BT-FORWARD - [0:0]
-A FORWARD -j BT-FORWARD
-A BT-FORWARD -o br0 -m comment --comment \"net:abc\" -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:BT - [0:0]
COMMIT
";

    #[test]
    fn split_tables_keeps_each_table_whole() {
        let rule = |table| Rule {
            table,
            chain: "BT".to_string(),
            args: "-j ACCEPT".to_string(),
        };
        let mut batch = Batch::default();
        batch.delete(&rule(Table::Filter));
        batch.delete(&rule(Table::Nat));
        batch.delete(&rule(Table::Filter));
        let parts = batch.split_tables();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].render(),
            "*filter\n-D BT -j ACCEPT\n-D BT -j ACCEPT\nCOMMIT\n"
        );
        assert_eq!(parts[1].render(), "*nat\n-D BT -j ACCEPT\nCOMMIT\n");
        assert!(Batch::default().split_tables().is_empty());
    }

    #[test]
    fn parses_tables_chains_and_rules() {
        let saved = Saved::parse(SAVED);
        assert!(saved.filter.has_chain("BT-FORWARD"));
        assert!(saved.nat.has_chain("BT"));
        assert!(!saved.filter.has_chain("PREROUTING"));
        assert_eq!(saved.filter.rules_of("FORWARD"), ["-j BT-FORWARD"]);
        assert!(saved.filter.is_referenced("BT-FORWARD"));
        assert!(!saved.nat.is_referenced("BT"));
        let rule = Rule {
            table: Table::Filter,
            chain: "BT-FORWARD".into(),
            args: saved.filter.rules_of("BT-FORWARD")[0].clone(),
        };
        assert_eq!(rule.tag(), Some("net:abc"));
    }

    #[test]
    fn renders_batches_per_table() {
        let mut batch = Batch::default();
        let rule = Rule {
            table: Table::Nat,
            chain: "BT".into(),
            args: "-j RETURN".into(),
        };
        batch.new_chain(Table::Nat, "BT");
        batch.append(&rule);
        batch.flush_chain(Table::Filter, "BT-X");
        batch.delete_chain(Table::Filter, "BT-X");
        assert_eq!(
            batch.render(),
            "*filter\n-F BT-X\n-X BT-X\nCOMMIT\n*nat\n:BT - [0:0]\n-A BT -j RETURN\nCOMMIT\n"
        );
    }
}
