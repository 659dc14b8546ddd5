//! Removes the firewall chains a test daemon made, for daemons that could not remove them
//! themselves (killed with SIGKILL by a test, or dead from a failed assertion). A daemon
//! that stops cleanly has already removed them, and then this finds nothing.

use std::process::Command;

/// The chain prefix a daemon's command line names (`--firewall-chain-prefix P` or `=P`).
pub fn chain_prefix(args: &[String]) -> Option<String> {
    let flag = "--firewall-chain-prefix";
    args.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix(&format!("{flag}=")).map(str::to_string)
        }
    })
}

/// Deletes, in the filter and nat tables, the jumps into chains named `prefix` or
/// `prefix-*` from other chains, then those chains themselves.
pub fn remove_chains(prefix: &str) {
    let owned = |chain: &str| chain == prefix || chain.starts_with(&format!("{prefix}-"));
    for table in ["filter", "nat"] {
        let Ok(out) = Command::new("iptables-save").args(["-t", table]).output() else {
            return;
        };
        let save = String::from_utf8_lossy(&out.stdout);
        for rule in save.lines().filter_map(|l| l.strip_prefix("-A ")) {
            let chain = rule.split_whitespace().next().unwrap_or("");
            let target = rule
                .split(" -j ")
                .nth(1)
                .and_then(|t| t.split_whitespace().next());
            if !owned(chain) && target.is_some_and(owned) {
                // iptables-save quotes arguments the way a shell reads them.
                let _ = Command::new("sh")
                    .arg("-c")
                    .arg(format!("iptables -t {table} -D {rule}"))
                    .output();
            }
        }
        let chains: Vec<&str> = save
            .lines()
            .filter_map(|l| l.strip_prefix(':'))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| owned(c))
            .collect();
        for chain in &chains {
            let _ = Command::new("iptables")
                .args(["-t", table, "-F", chain])
                .output();
        }
        for chain in &chains {
            let _ = Command::new("iptables")
                .args(["-t", table, "-X", chain])
                .output();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::chain_prefix;

    #[test]
    fn finds_the_prefix_in_both_spellings() {
        let split: Vec<String> = ["--bridge", "none", "--firewall-chain-prefix", "BT1X2"]
            .map(String::from)
            .to_vec();
        assert_eq!(chain_prefix(&split).as_deref(), Some("BT1X2"));
        let joined = vec!["--firewall-chain-prefix=BT3X4".to_string()];
        assert_eq!(chain_prefix(&joined).as_deref(), Some("BT3X4"));
        assert_eq!(chain_prefix(&[]), None);
    }
}
