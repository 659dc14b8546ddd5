//! `GET /containers/{id}/top?ps_args=`: the host's `ps`, filtered to the processes of
//! the container's cgroup, as dockerd does.

use berth_api::ApiError;
use serde_json::{json, Value};

use super::cgroup;
use crate::Engine;

impl Engine {
    pub async fn container_top(&self, reference: &str, ps_args: &str) -> Result<Value, ApiError> {
        let container = self.containers.get(reference)?;
        let record = container.snapshot();
        if !record.state.status.is_live() {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                record.id
            )));
        }
        let pids = cgroup::pids(&record);
        let args: Vec<String> = if ps_args.trim().is_empty() {
            vec!["-ef".into()]
        } else {
            ps_args.split_whitespace().map(str::to_string).collect()
        };
        let output = tokio::process::Command::new("ps")
            .args(&args)
            .output()
            .await
            .map_err(|e| ApiError::system(format!("running ps: {e}")))?;
        if !output.status.success() {
            return Err(ApiError::system(format!(
                "ps: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        parse_ps(&String::from_utf8_lossy(&output.stdout), &pids)
    }
}

/// Splits `ps` output into titles and the rows whose PID is in `pids`; the last column
/// (the command) keeps its spaces.
fn parse_ps(text: &str, pids: &[u32]) -> Result<Value, ApiError> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let titles: Vec<&str> = header.split_whitespace().collect();
    let pid_column = titles
        .iter()
        .position(|t| *t == "PID")
        .ok_or_else(|| ApiError::invalid("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let Ok(pid) = fields[pid_column].parse::<u32>() else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        let mut row: Vec<String> = fields[..titles.len() - 1]
            .iter()
            .map(|s| s.to_string())
            .collect();
        row.push(fields[titles.len() - 1..].join(" "));
        processes.push(row);
    }
    Ok(json!({ "Titles": titles, "Processes": processes }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_rows_and_keeps_commands_whole() {
        let text = "UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:00 sleep 100\nroot 11 1 0 10:00 ? 00:00:00 other\n";
        let v = super::parse_ps(text, &[10]).unwrap();
        assert_eq!(v["Processes"][0][7], "sleep 100");
        assert_eq!(v["Processes"].as_array().unwrap().len(), 1);
    }
}
