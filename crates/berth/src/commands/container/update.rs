//! `berth update [OPTIONS] CONTAINER...`: new resource limits and restart policy for
//! containers (`POST /containers/{id}/update`), applied at once to running ones.

use clap::Args;
use serde_json::{json, Map, Value};

use super::opts::OptError;
use super::{parse, print_flag_error};
use crate::client::{self, encode, ClientError};
use crate::commands::Context;

pub const USAGE: &str = "update [OPTIONS] CONTAINER [CONTAINER...]";

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16")]
    pub blkio_weight: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "int")]
    pub cpu_rt_period: Option<String>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "int")]
    pub cpu_rt_runtime: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<String>,
    /// Number of CPUs
    #[arg(long = "cpus", value_name = "decimal")]
    pub cpus: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (deprecated)
    #[arg(long = "kernel-memory", value_name = "bytes", hide = true)]
    pub kernel_memory: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long = "memory", value_name = "bytes")]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long = "restart", value_name = "string")]
    pub restart: Option<String>,
    /// CONTAINER [CONTAINER...]
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

fn flag_error(flag: &'static str, value: &str, message: String) -> OptError {
    OptError::Flag {
        flag,
        value: value.to_string(),
        message,
    }
}

impl UpdateArgs {
    fn any_flag(&self) -> bool {
        [
            &self.blkio_weight,
            &self.cpu_period,
            &self.cpu_quota,
            &self.cpu_rt_period,
            &self.cpu_rt_runtime,
            &self.cpu_shares,
            &self.cpus,
            &self.cpuset_cpus,
            &self.cpuset_mems,
            &self.kernel_memory,
            &self.memory,
            &self.memory_reservation,
            &self.memory_swap,
            &self.pids_limit,
            &self.restart,
        ]
        .iter()
        .any(|f| f.is_some())
    }

    /// The update body with the fields the user set (docker sends zeros for the rest,
    /// which daemons read as "unchanged"; leaving them out means the same).
    fn body(&self) -> Result<Value, OptError> {
        let mut body = Map::new();
        let int = |flag: &'static str, value: &Option<String>| -> Result<i64, OptError> {
            match value.as_deref() {
                None => Ok(0),
                Some(v) => parse::parse_int(v).map_err(|e| flag_error(flag, v, e)),
            }
        };
        let bytes = |flag: &'static str, value: &Option<String>| -> Result<i64, OptError> {
            match value.as_deref() {
                None | Some("") => Ok(0),
                Some("-1") if flag == "--memory-swap" => Ok(-1),
                Some(v) => berth_format::units::ram_in_bytes(v)
                    .map_err(|e| flag_error(flag, v, e.to_string())),
            }
        };
        let mut set = |key: &str, value: i64| {
            if value != 0 {
                body.insert(key.to_string(), json!(value));
            }
        };
        if let Some(v) = self.blkio_weight.as_deref() {
            let weight =
                parse::parse_uint(v, 16).map_err(|e| flag_error("--blkio-weight", v, e))?;
            set("BlkioWeight", weight as i64);
        }
        set("CpuPeriod", int("--cpu-period", &self.cpu_period)?);
        set("CpuQuota", int("--cpu-quota", &self.cpu_quota)?);
        set(
            "CpuRealtimePeriod",
            int("--cpu-rt-period", &self.cpu_rt_period)?,
        );
        set(
            "CpuRealtimeRuntime",
            int("--cpu-rt-runtime", &self.cpu_rt_runtime)?,
        );
        set("CpuShares", int("-c, --cpu-shares", &self.cpu_shares)?);
        if let Some(v) = self.cpus.as_deref() {
            set(
                "NanoCpus",
                parse::parse_cpus(v).map_err(|e| flag_error("--cpus", v, e))?,
            );
        }
        set("Memory", bytes("-m, --memory", &self.memory)?);
        set(
            "MemoryReservation",
            bytes("--memory-reservation", &self.memory_reservation)?,
        );
        set("MemorySwap", bytes("--memory-swap", &self.memory_swap)?);
        bytes("--kernel-memory", &self.kernel_memory)?;
        let pids = int("--pids-limit", &self.pids_limit)?;
        for (key, value) in [
            ("CpusetCpus", &self.cpuset_cpus),
            ("CpusetMems", &self.cpuset_mems),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                body.insert(key.to_string(), json!(v));
            }
        }
        if pids != 0 {
            body.insert("PidsLimit".into(), json!(pids));
        }
        if let Some(policy) = self.restart.as_deref().filter(|p| !p.is_empty()) {
            let (name, max) = parse::parse_restart_policy(policy).map_err(OptError::Invalid)?;
            body.insert(
                "RestartPolicy".into(),
                json!({"Name": name, "MaximumRetryCount": max}),
            );
        }
        Ok(Value::Object(body))
    }
}

pub async fn run(ctx: &mut Context, args: UpdateArgs) -> client::Result<u8> {
    if !args.any_flag() {
        return Err(ClientError::Other(anyhow::anyhow!(
            "you must provide one or more flags when using this command"
        )));
    }
    let body = match args.body() {
        Ok(body) => body,
        Err(e @ OptError::Flag { .. }) => {
            print_flag_error("update", USAGE, &e);
            return Ok(125);
        }
        Err(OptError::Invalid(message)) => {
            return Err(ClientError::Other(anyhow::anyhow!(message)))
        }
    };
    if args.kernel_memory.is_some() {
        eprintln!(
            "Flag --kernel-memory has been deprecated, and no longer supported by the kernel"
        );
    }
    let mut warnings = Vec::new();
    let mut failed = false;
    for name in &args.containers {
        let path = format!("/containers/{}/update", encode(name));
        match ctx.client.post_json(&path, Some(&body)).await {
            Ok(answer) => {
                println!("{name}");
                warnings.extend(
                    answer
                        .get("Warnings")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string),
                );
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if !warnings.is_empty() {
        println!("{}", warnings.join("\n"));
    }
    Ok(u8::from(failed))
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> super::UpdateArgs {
        let mut full = vec!["berth", "update"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full).unwrap().command {
            Some(Command::Update(args)) => args,
            _ => panic!("not update"),
        }
    }

    #[test]
    fn body_has_only_what_was_set() {
        let args = parse(&[
            "-m",
            "64m",
            "--memory-swap",
            "-1",
            "--cpus",
            "1.5",
            "--pids-limit",
            "50",
            "--restart",
            "on-failure:3",
            "a",
            "b",
        ]);
        assert_eq!(args.containers, ["a", "b"]);
        assert_eq!(
            args.body().unwrap(),
            json!({"Memory": 67108864, "MemorySwap": -1, "NanoCpus": 1500000000i64,
                   "PidsLimit": 50,
                   "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}})
        );
        let args = parse(&["--cpu-shares", "512", "--cpuset-cpus", "0", "c"]);
        assert_eq!(
            args.body().unwrap(),
            json!({"CpuShares": 512, "CpusetCpus": "0"})
        );
        assert!(!parse(&["c"]).any_flag());
        let err = parse(&["-m", "lots", "c"]).body().unwrap_err();
        assert!(err.to_string().contains("\"-m, --memory\""), "{err}");
    }
}
