//! `berth ps` / `berth container ls`: docker's columns, `--format` templates (with the
//! `.Label "key"` method), filters and sizes.

use std::collections::BTreeMap;

use berth_format::template::Methods;
use clap::Args;
use serde_json::{json, Value};

use super::{config_file_value, short_id};
use crate::client::{self, encode, ClientError};
use crate::commands::Context;
use crate::output;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template:
    /// 'table':            Print output in table format with column headers (default)
    /// 'table TEMPLATE':   Print output in table format using the given Go template
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long = "latest")]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long = "size")]
    pub size: bool,
}

const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

const RAW_FORMAT: &str = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n";

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Platform", "PLATFORM"),
];

/// docker's `NewContainerFormat`: the template actually used.
fn container_format(source: &str, quiet: bool, size: bool) -> String {
    match source {
        "table" => {
            if quiet {
                return "{{.ID}}".to_string();
            }
            let mut format = DEFAULT_TABLE.to_string();
            if size {
                format.push_str("\t{{.Size}}");
            }
            format
        }
        "raw" => {
            if quiet {
                return "container_id: {{.ID}}".to_string();
            }
            let mut format = RAW_FORMAT.to_string();
            if size {
                format.push_str("size: {{.Size}}\n");
            }
            format
        }
        _ if quiet => "{{.ID}}".to_string(),
        other => other.to_string(),
    }
}

pub async fn run(ctx: &mut Context, args: PsArgs) -> client::Result<u8> {
    let user_format = args.format.clone().filter(|f| !f.is_empty());
    let format = match &user_format {
        Some(f) => f.clone(),
        None => match config_file_value("psFormat") {
            Some(f) if !args.quiet => f,
            _ => "table".to_string(),
        },
    };
    // A user's template is parsed first (docker does, to see whether it uses `.Size`, which
    // then asks the daemon for sizes).
    let mut size = args.size;
    if !args.quiet && !args.size {
        if let Some(user) = &user_format {
            if !matches!(user.as_str(), "table" | "raw" | "json") {
                let source = user.strip_prefix("table").unwrap_or(user);
                berth_format::Template::parse(source).map_err(|e| {
                    ClientError::Other(anyhow::anyhow!("failed to parse template: {e}"))
                })?;
                size = user.contains(".Size");
            }
        }
    }
    let mut query = Vec::new();
    if args.all {
        query.push("all=1".to_string());
    }
    let limit = if args.latest && args.last == -1 {
        1
    } else {
        args.last
    };
    if limit > 0 {
        query.push(format!("limit={limit}"));
    }
    if size {
        query.push("size=1".to_string());
    }
    let filters = output::parse_filter_flags(&args.filter)?;
    if !filters.is_empty() {
        query.push(format!("filters={}", encode(&filters.to_json())));
    }
    let path = if query.is_empty() {
        "/containers/json".to_string()
    } else {
        format!("/containers/json?{}", query.join("&"))
    };
    let list = ctx.client.get_json(&path).await?;
    let containers = list.as_array().cloned().unwrap_or_default();
    let template = container_format(&format, args.quiet, size);
    let list_format = berth_format::ListFormat::new(Some(&template), &template, HEADERS)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    let trunc = !args.no_trunc;
    let rows = containers.iter().map(|c| {
        let labels: BTreeMap<String, String> = c
            .get("Labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let methods = Methods::new().add("Label", move |_: &Value, args: &[Value]| {
            if args.len() != 1 {
                return Err(format!(
                    "wrong number of args for Label: want 1 got {}",
                    args.len()
                ));
            }
            let key = args[0].as_str().unwrap_or("");
            Ok(json!(labels.get(key).cloned().unwrap_or_default()))
        });
        (row(c, trunc), methods)
    });
    let text = list_format
        .render_each(rows)
        .map_err(|e| ClientError::Other(anyhow::anyhow!("{e}")))?;
    print!("{text}");
    Ok(0)
}

fn text<'a>(c: &'a Value, key: &str) -> &'a str {
    c.get(key).and_then(Value::as_str).unwrap_or("")
}

/// One container as docker's `ContainerContext` presents it.
pub fn row(c: &Value, trunc: bool) -> Value {
    let id = text(c, "Id");
    let created = c.get("Created").and_then(Value::as_i64).unwrap_or(0);
    let command = text(c, "Command");
    let command = if trunc {
        output::ellipsis(command, 20)
    } else {
        command.to_string()
    };
    let size_rw = c.get("SizeRw").and_then(Value::as_i64).unwrap_or(0);
    let size_root = c.get("SizeRootFs").and_then(Value::as_i64).unwrap_or(0);
    let mut size = output::human_size(size_rw as f64);
    if size_root > 0 {
        size = format!("{size} (virtual {})", output::human_size(size_root as f64));
    }
    let mut labels: Vec<String> = c
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let mounts = c.get("Mounts").and_then(Value::as_array);
    let mount_names: Vec<String> = mounts
        .into_iter()
        .flatten()
        .map(|m| {
            let name = match text(m, "Name") {
                "" => text(m, "Source"),
                name => name,
            };
            if trunc {
                output::ellipsis(name, 15)
            } else {
                name.to_string()
            }
        })
        .collect();
    let local_volumes = mounts
        .into_iter()
        .flatten()
        .filter(|m| text(m, "Driver") == "local")
        .count();
    let mut networks: Vec<String> = c
        .get("NetworkSettings")
        .and_then(|n| n.get("Networks"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    json!({
        "ID": if trunc { short_id(id) } else { id.to_string() },
        "Image": image_column(c, trunc),
        "Command": go_quote(&command),
        "CreatedAt": output::created_at(created),
        "RunningFor": output::time_ago(created),
        "Ports": displayable_ports(c.get("Ports").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])),
        "State": text(c, "State"),
        "Status": text(c, "Status"),
        "Size": size,
        "Names": names_column(c, trunc),
        "Labels": labels.join(","),
        "Mounts": mount_names.join(","),
        "Networks": networks.join(","),
        "LocalVolumes": local_volumes.to_string(),
        "Platform": c
            .get("ImageManifestDescriptor")
            .and_then(|d| d.get("platform"))
            .cloned()
            .unwrap_or(Value::Null),
    })
}

fn names_column(c: &Value, trunc: bool) -> String {
    let names: Vec<String> = c
        .get("Names")
        .and_then(Value::as_array)
        .map(|n| {
            n.iter()
                .filter_map(Value::as_str)
                .map(|n| n.strip_prefix('/').unwrap_or(n).to_string())
                .collect()
        })
        .unwrap_or_default();
    if trunc {
        if let Some(primary) = names.iter().find(|n| !n.contains('/')) {
            return primary.clone();
        }
    }
    names.join(",")
}

/// docker's `ContainerContext.Image`: short ID for an image given by ID, digests dropped,
/// `docker.io/library/` dropped.
fn image_column(c: &Value, trunc: bool) -> String {
    let image = text(c, "Image");
    if image.is_empty() {
        return "<no image>".to_string();
    }
    if !trunc {
        return image.to_string();
    }
    let image_id = text(c, "ImageID");
    let truncate = |s: &str| -> String {
        let s = s.split_once(':').map_or(s, |(_, rest)| rest);
        s.chars().take(12).collect()
    };
    if !image_id.is_empty() && truncate(image_id) == truncate(image) {
        return truncate(image);
    }
    let without_digest = image.split('@').next().unwrap_or(image);
    let familiar = without_digest
        .strip_prefix("docker.io/")
        .map(|rest| match rest.strip_prefix("library/") {
            Some(short) if !short.contains('/') => short,
            _ => rest,
        })
        .unwrap_or(without_digest);
    familiar.to_string()
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Port {
    ip: String,
    private: u64,
    public: u64,
    kind: String,
}

/// docker's `DisplayablePorts`: consecutive ports grouped into ranges, published ports as
/// `ip:public->private/proto`.
pub fn displayable_ports(ports: &[Value]) -> String {
    let mut ports: Vec<Port> = ports
        .iter()
        .map(|p| Port {
            ip: text(p, "IP").to_string(),
            private: p.get("PrivatePort").and_then(Value::as_u64).unwrap_or(0),
            public: p.get("PublicPort").and_then(Value::as_u64).unwrap_or(0),
            kind: text(p, "Type").to_string(),
        })
        .collect();
    ports.sort_by(|a, b| {
        a.private
            .cmp(&b.private)
            .then_with(|| a.ip.cmp(&b.ip))
            .then_with(|| a.public.cmp(&b.public))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for port in &ports {
        let current = port.private;
        let mut key = port.kind.clone();
        if !port.ip.is_empty() {
            if port.public != current {
                host_mappings.push(format!(
                    "{}->{}/{}",
                    super::port::join_host_port(&port.ip, &port.public.to_string()),
                    port.private,
                    port.kind
                ));
                continue;
            }
            key = format!("{}/{}", port.ip, port.kind);
        }
        match groups.get_mut(&key) {
            None => {
                groups.insert(key.clone(), (current, current));
                order.push(key);
            }
            Some(group) if current == group.1 + 1 => group.1 = current,
            Some(group) => {
                result.push(form_group(&key, group.0, group.1));
                *group = (current, current);
            }
        }
    }
    for key in &order {
        let (first, last) = groups[key];
        result.push(form_group(key, first, last));
    }
    result.extend(host_mappings);
    result.join(", ")
}

fn form_group(key: &str, first: u64, last: u64) -> String {
    let (ip, kind) = match key.rsplit_once('/') {
        Some((ip, kind)) => (ip, kind),
        None => ("", key),
    };
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", super::port::join_host_port(ip, &group));
    }
    format!("{group}/{kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_column() {
        let ports = [
            json!({"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}),
            json!({"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}),
        ];
        assert_eq!(
            displayable_ports(&ports),
            "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
        );
        let ports = [
            json!({"PrivatePort": 7001, "Type": "tcp"}),
            json!({"PrivatePort": 7000, "Type": "tcp"}),
            json!({"PrivatePort": 53, "Type": "udp"}),
            json!({"IP": "127.0.0.1", "PrivatePort": 90, "PublicPort": 90, "Type": "udp"}),
            json!({"IP": "127.0.0.1", "PrivatePort": 91, "PublicPort": 91, "Type": "udp"}),
        ];
        assert_eq!(
            displayable_ports(&ports),
            "53/udp, 127.0.0.1:90-91->90-91/udp, 7000-7001/tcp"
        );
        assert_eq!(displayable_ports(&[]), "");
    }

    #[test]
    fn columns() {
        let c = json!({
            "Id": "0123456789abcdef0123", "Names": ["/web", "/other/alias"],
            "Image": "docker.io/library/busybox:latest", "ImageID": "sha256:aaaa",
            "Command": "sh -c 'while true; do sleep 1; done'", "Created": 0,
            "State": "running", "Status": "Up 2 minutes", "Ports": [],
            "Labels": {"b": "2", "a": "1"}, "SizeRw": 12, "SizeRootFs": 1000000,
            "Mounts": [{"Name": "", "Source": "/very/long/host/path", "Driver": ""},
                       {"Name": "vol", "Driver": "local"}],
            "NetworkSettings": {"Networks": {"bridge": {}, "alpha": {}}},
        });
        let r = row(&c, true);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Image"], "busybox:latest");
        assert_eq!(r["Command"], "\"sh -c 'while true; …\"");
        assert_eq!(r["Names"], "web");
        assert_eq!(r["Labels"], "a=1,b=2");
        assert_eq!(r["Size"], "12B (virtual 1MB)");
        assert_eq!(r["Mounts"], "/very/long/hos…,vol");
        assert_eq!(r["LocalVolumes"], "1");
        assert_eq!(r["Networks"], "alpha,bridge");
        let r = row(&c, false);
        assert_eq!(r["Names"], "web,other/alias");
        assert_eq!(r["Command"], "\"sh -c 'while true; do sleep 1; done'\"");
        let by_id =
            json!({"Image": "sha256:aaaabbbbccccdddd", "ImageID": "sha256:aaaabbbbccccdddd"});
        assert_eq!(image_column(&by_id, true), "aaaabbbbcccc");
        let digest = json!({"Image": "busybox@sha256:abc", "ImageID": "sha256:fff"});
        assert_eq!(image_column(&digest, true), "busybox");
        assert_eq!(go_quote("a\"b\\\n\x01"), "\"a\\\"b\\\\\\n\\x01\"");
    }

    #[test]
    fn formats() {
        assert_eq!(container_format("table", true, false), "{{.ID}}");
        assert!(container_format("table", false, true).ends_with("\t{{.Size}}"));
        assert_eq!(container_format("{{.Names}}", true, false), "{{.ID}}");
        assert_eq!(container_format("{{.Names}}", false, false), "{{.Names}}");
    }
}
