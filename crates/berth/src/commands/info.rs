//! `berth info`: system-wide information in `docker info`'s layout.

use std::fmt::Write;

use clap::Args;
use serde_json::{json, Value};

use super::Context;
use crate::client;
use crate::output;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
}

pub async fn run(ctx: &mut Context, args: InfoArgs) -> client::Result<u8> {
    let server = ctx.client.get_json("/info").await;
    let client_info =
        json!({ "Debug": false, "Context": "default", "Plugins": [], "Warnings": null });
    if let Some(format) = args.format.as_deref() {
        // docker's info context has the server fields at the top level plus ClientInfo.
        let mut data = server.as_ref().cloned().unwrap_or(Value::Null);
        if let Value::Object(map) = &mut data {
            map.insert("ClientInfo".into(), client_info);
        }
        let template = if format == "json" {
            "{{json .}}"
        } else {
            format
        };
        print!("{}", output::render_one(template, &data)?);
        return server.map(|_| 0);
    }
    print!(
        "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n",
        berth_api::build_info::VERSION
    );
    let info = match server {
        Ok(info) => info,
        Err(e) => {
            println!("\nServer:");
            return Err(e);
        }
    };
    print!("\n{}", server_section(&info));
    Ok(0)
}

fn server_section(info: &Value) -> String {
    let s = |key: &str| {
        info.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let n = |key: &str| info.get(key).and_then(Value::as_u64).unwrap_or(0);
    let b = |key: &str| info.get(key).and_then(Value::as_bool).unwrap_or(false);
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = String::from("Server:\n");
    let _ = writeln!(out, " Containers: {}", n("Containers"));
    let _ = writeln!(out, "  Running: {}", n("ContainersRunning"));
    let _ = writeln!(out, "  Paused: {}", n("ContainersPaused"));
    let _ = writeln!(out, "  Stopped: {}", n("ContainersStopped"));
    let _ = writeln!(out, " Images: {}", n("Images"));
    let _ = writeln!(out, " Server Version: {}", s("ServerVersion"));
    let _ = writeln!(out, " Storage Driver: {}", s("Driver"));
    if let Some(Value::Array(status)) = info.get("DriverStatus") {
        for pair in status {
            let pair = list(Some(pair));
            if pair.len() == 2 {
                let _ = writeln!(out, "  {}: {}", pair[0], pair[1]);
            }
        }
    }
    let _ = writeln!(out, " Logging Driver: {}", s("LoggingDriver"));
    let _ = writeln!(out, " Cgroup Driver: {}", s("CgroupDriver"));
    let _ = writeln!(out, " Cgroup Version: {}", s("CgroupVersion"));
    let plugins = info.get("Plugins");
    let _ = writeln!(out, " Plugins:");
    for (label, key) in [("Volume", "Volume"), ("Network", "Network"), ("Log", "Log")] {
        let _ = writeln!(
            out,
            "  {label}: {}",
            list(plugins.and_then(|p| p.get(key))).join(" ")
        );
    }
    let swarm = info
        .get("Swarm")
        .and_then(|v| v.get("LocalNodeState"))
        .and_then(Value::as_str)
        .unwrap_or("inactive");
    let _ = writeln!(out, " Swarm: {swarm}");
    if let Some(Value::Object(runtimes)) = info.get("Runtimes") {
        let names: Vec<&str> = runtimes.keys().map(String::as_str).collect();
        let _ = writeln!(out, " Runtimes: {}", names.join(" "));
    }
    let _ = writeln!(out, " Default Runtime: {}", s("DefaultRuntime"));
    let _ = writeln!(out, " Init Binary: {}", s("InitBinary"));
    let options = list(info.get("SecurityOptions"));
    if !options.is_empty() {
        let _ = writeln!(out, " Security Options:");
        for option in options {
            let mut fields = option.split(',');
            let name = fields.next().unwrap_or("").trim_start_matches("name=");
            let _ = writeln!(out, "  {name}");
            for field in fields {
                if let Some((k, v)) = field.split_once('=') {
                    let mut key = k.to_string();
                    if let Some(first) = key.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    let _ = writeln!(out, "   {key}: {v}");
                }
            }
        }
    }
    let _ = writeln!(out, " Kernel Version: {}", s("KernelVersion"));
    let _ = writeln!(out, " Operating System: {}", s("OperatingSystem"));
    let _ = writeln!(out, " OSType: {}", s("OSType"));
    let _ = writeln!(out, " Architecture: {}", s("Architecture"));
    let _ = writeln!(out, " CPUs: {}", n("NCPU"));
    let _ = writeln!(
        out,
        " Total Memory: {}",
        output::bytes_size(n("MemTotal") as f64)
    );
    let _ = writeln!(out, " Name: {}", s("Name"));
    let _ = writeln!(out, " ID: {}", s("ID"));
    let _ = writeln!(out, " Docker Root Dir: {}", s("DockerRootDir"));
    let _ = writeln!(out, " Debug Mode: {}", b("Debug"));
    if b("Debug") {
        let _ = writeln!(out, "  File Descriptors: {}", n("NFd"));
        let _ = writeln!(out, "  Goroutines: {}", n("NGoroutines"));
        let _ = writeln!(out, "  System Time: {}", s("SystemTime"));
        let _ = writeln!(out, "  EventsListeners: {}", n("NEventsListener"));
    }
    let labels = list(info.get("Labels"));
    if !labels.is_empty() {
        let _ = writeln!(out, " Labels:");
        for label in labels {
            let _ = writeln!(out, "  {label}");
        }
    }
    let _ = writeln!(out, " Experimental: {}", b("ExperimentalBuild"));
    let registry = info.get("RegistryConfig");
    let cidrs = list(registry.and_then(|r| r.get("InsecureRegistryCIDRs")));
    let mut insecure: Vec<String> = registry
        .and_then(|r| r.get("IndexConfigs"))
        .and_then(Value::as_object)
        .map(|m| {
            m.values()
                .filter(|v| v.get("Secure") == Some(&Value::Bool(false)))
                .filter_map(|v| v.get("Name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    insecure.extend(cidrs);
    if !insecure.is_empty() {
        let _ = writeln!(out, " Insecure Registries:");
        for entry in insecure {
            let _ = writeln!(out, "  {entry}");
        }
    }
    let mirrors = list(registry.and_then(|r| r.get("Mirrors")));
    if !mirrors.is_empty() {
        let _ = writeln!(out, " Registry Mirrors:");
        for mirror in mirrors {
            let _ = writeln!(out, "  {mirror}");
        }
    }
    let _ = writeln!(out, " Live Restore Enabled: {}", b("LiveRestoreEnabled"));
    out.push('\n');
    for warning in list(info.get("Warnings")) {
        let _ = writeln!(out, "{warning}");
    }
    out
}
