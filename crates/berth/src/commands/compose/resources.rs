//! The project's networks and volumes: created with Compose's labels when missing,
//! checked when external, removed by `down`.

use berth_compose::Project;
use serde_json::{json, Map, Value};

use super::{labels, COMPOSE_VERSION};
use crate::client::{self, encode, Client, ClientError};
use crate::commands::container::is_not_found;

/// Progress lines as Compose prints them: ` Network proj_default  Created`.
pub fn event(kind: &str, name: &str, what: &str) {
    eprintln!(" {kind} {name}  {what}");
}

/// Creates the networks `services` use, when missing.
pub async fn ensure_networks(
    client: &mut Client,
    project: &Project,
    used: &[String],
) -> client::Result<()> {
    for (key, net) in &project.networks {
        let needed = used.iter().any(|s| {
            project
                .services
                .get(s)
                .is_some_and(|svc| svc.networks.contains_key(key))
        });
        if !needed {
            continue;
        }
        let path = format!("/networks/{}", encode(&net.name));
        match client.get_json(&path).await {
            Ok(existing) => {
                if !net.external {
                    let owner = existing
                        .pointer(&format!("/Labels/{}", labels::PROJECT.replace('/', "~1")))
                        .and_then(Value::as_str);
                    if owner.is_some_and(|o| o != project.name) {
                        eprintln!(
                            "WARN[0000] a network with name {} exists but was not created for project {:?}.",
                            net.name, project.name
                        );
                    }
                }
                continue;
            }
            Err(e) if is_not_found(&e) => {
                if net.external {
                    return Err(ClientError::Other(anyhow::anyhow!(
                        "network {} declared as external, but could not be found",
                        net.name
                    )));
                }
            }
            Err(e) => return Err(e),
        }
        let mut l: Map<String, Value> = net
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        l.insert(labels::PROJECT.into(), json!(project.name));
        l.insert(labels::NETWORK.into(), json!(key));
        l.insert(labels::VERSION.into(), json!(COMPOSE_VERSION));
        let mut body = json!({
            "Name": net.name,
            "Driver": net.driver.clone().unwrap_or_else(|| "bridge".into()),
            "Options": net.driver_opts,
            "Internal": net.internal,
            "Attachable": net.attachable,
            "EnableIPv6": net.enable_ipv6,
            "CheckDuplicate": true,
            "Labels": l,
        });
        if let Some(ipam) = &net.ipam {
            let config: Vec<Value> = ipam
                .config
                .iter()
                .map(|p| {
                    let mut c = Map::new();
                    if let Some(s) = &p.subnet {
                        c.insert("Subnet".into(), json!(s));
                    }
                    if let Some(r) = &p.ip_range {
                        c.insert("IPRange".into(), json!(r));
                    }
                    if let Some(g) = &p.gateway {
                        c.insert("Gateway".into(), json!(g));
                    }
                    Value::Object(c)
                })
                .collect();
            body["IPAM"] = json!({"Driver": ipam.driver.clone().unwrap_or_else(|| "default".into()), "Config": config});
        }
        event("Network", &net.name, "Creating");
        client.post_json("/networks/create", Some(&body)).await?;
        event("Network", &net.name, "Created");
    }
    Ok(())
}

/// Creates the named volumes `services` mount, when missing.
pub async fn ensure_volumes(
    client: &mut Client,
    project: &Project,
    used: &[String],
) -> client::Result<()> {
    for (key, vol) in &project.volumes {
        let needed = used.iter().any(|s| {
            project.services.get(s).is_some_and(|svc| {
                svc.volumes.iter().any(|m| {
                    m.source.as_deref() == Some(key.as_str())
                        && m.kind == berth_compose::MountType::Volume
                })
            })
        });
        if !needed {
            continue;
        }
        match client
            .get_json(&format!("/volumes/{}", encode(&vol.name)))
            .await
        {
            Ok(_) => continue,
            Err(e) if is_not_found(&e) => {
                if vol.external {
                    return Err(ClientError::Other(anyhow::anyhow!(
                        "external volume \"{}\" not found",
                        vol.name
                    )));
                }
            }
            Err(e) => return Err(e),
        }
        let mut l: Map<String, Value> = vol
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        l.insert(labels::PROJECT.into(), json!(project.name));
        l.insert(labels::VOLUME.into(), json!(key));
        l.insert(labels::VERSION.into(), json!(COMPOSE_VERSION));
        let body = json!({
            "Name": vol.name,
            "Driver": vol.driver.clone().unwrap_or_else(|| "local".into()),
            "DriverOpts": vol.driver_opts,
            "Labels": l,
        });
        event("Volume", &format!("\"{}\"", vol.name), "Creating");
        client.post_json("/volumes/create", Some(&body)).await?;
        event("Volume", &format!("\"{}\"", vol.name), "Created");
    }
    Ok(())
}

fn project_filter(project: &str) -> String {
    encode(&json!({"label": [format!("{}={project}", labels::PROJECT)]}).to_string())
}

/// Removes the project's networks (never external ones: those carry no project label).
pub async fn remove_networks(client: &mut Client, project: &str) -> client::Result<bool> {
    let list = client
        .get_json(&format!("/networks?filters={}", project_filter(project)))
        .await?;
    let mut failed = false;
    for net in list.as_array().cloned().unwrap_or_default() {
        let name = net
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        event("Network", &name, "Removing");
        let response = client
            .send(
                http::Method::DELETE,
                &format!("/networks/{}", encode(&name)),
                None,
                None,
            )
            .await?;
        match Client::check(response).await {
            Ok(_) => event("Network", &name, "Removed"),
            Err(e) if is_not_found(&e) => event("Network", &name, "Removed"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(!failed)
}

/// Removes the project's volumes (`down -v`).
pub async fn remove_volumes(client: &mut Client, project: &str) -> client::Result<bool> {
    let list = client
        .get_json(&format!("/volumes?filters={}", project_filter(project)))
        .await?;
    let mut failed = false;
    for vol in list
        .get("Volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let name = vol
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        event("Volume", &name, "Removing");
        let response = client
            .send(
                http::Method::DELETE,
                &format!("/volumes/{}", encode(&name)),
                None,
                None,
            )
            .await?;
        match Client::check(response).await {
            Ok(_) => event("Volume", &name, "Removed"),
            Err(e) if is_not_found(&e) => event("Volume", &name, "Removed"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(!failed)
}
