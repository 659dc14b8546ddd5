//! Registry credentials as the docker CLI keeps them: `~/.docker/config.json` `auths`
//! (`{"<server>": {"auth": base64(user:password)}}`), and the `X-Registry-Auth` header
//! (base64url JSON) sent with pulls and pushes.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::client::host::default_config_dir;

/// The key docker uses for Docker Hub in `auths`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The registry host of an image name (`docker.io` for Hub images).
pub fn registry_of(image: &str) -> String {
    let name = image.split('@').next().unwrap_or(image);
    match name.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            if first == "index.docker.io" || first == "registry-1.docker.io" {
                "docker.io".to_string()
            } else {
                first.to_string()
            }
        }
        _ => "docker.io".to_string(),
    }
}

/// The `auths` key of a server (`docker.io` → Hub's legacy URL, else `host[:port]`).
pub fn config_key(server: &str) -> String {
    let trimmed = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = trimmed.split('/').next().unwrap_or(trimmed);
    match host {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.to_string(),
        other => other.to_string(),
    }
}

fn config_path() -> PathBuf {
    default_config_dir().join("config.json")
}

fn read_config() -> Map<String, Value> {
    std::fs::read(config_path())
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

fn write_config(config: &Map<String, Value>) -> anyhow::Result<()> {
    let path = config_path();
    let dir = path.parent().expect("config has a folder");
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".config.json.{}", std::process::id()));
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(serde_json::to_string_pretty(&Value::Object(config.clone()))?.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, &path)?;
    Ok(())
}

/// The stored user and password for a server, if any.
pub fn stored(server: &str) -> Option<(String, String)> {
    let config = read_config();
    let auths = config.get("auths")?.as_object()?;
    let key = config_key(server);
    let entry = auths.get(&key).or_else(|| {
        // Entries written with a scheme (`https://host`).
        auths
            .iter()
            .find(|(k, _)| config_key(k) == key)
            .map(|(_, v)| v)
    })?;
    let encoded = entry.get("auth")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// Saves credentials under the server's key.
pub fn store(server: &str, user: &str, password: &str) -> anyhow::Result<()> {
    let mut config = read_config();
    let auths = config
        .entry("auths")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| {
            anyhow::anyhow!("{}: \"auths\" is not an object", config_path().display())
        })?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    auths.insert(config_key(server), json!({ "auth": encoded }));
    write_config(&config)
}

/// Removes a server's credentials; false when there were none.
pub fn remove(server: &str) -> anyhow::Result<bool> {
    let mut config = read_config();
    let key = config_key(server);
    let Some(auths) = config.get_mut("auths").and_then(Value::as_object_mut) else {
        return Ok(false);
    };
    let keys: Vec<String> = auths
        .keys()
        .filter(|k| config_key(k) == key)
        .cloned()
        .collect();
    if keys.is_empty() {
        return Ok(false);
    }
    for k in keys {
        auths.remove(&k);
    }
    write_config(&config)?;
    Ok(true)
}

/// The `X-Registry-Auth` value for an image's registry (anonymous when nothing is stored).
pub fn header_for_image(image: &str) -> String {
    let server = registry_of(image);
    let value = match stored(&server) {
        Some((user, pass)) => json!({
            "username": user,
            "password": pass,
            "serveraddress": config_key(&server),
        }),
        None => json!({}),
    };
    base64::engine::general_purpose::URL_SAFE.encode(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_and_keys() {
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("user/app:1"), "docker.io");
        assert_eq!(
            registry_of("127.0.0.1:5000/busybox:latest"),
            "127.0.0.1:5000"
        );
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert_eq!(config_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(config_key("https://127.0.0.1:5000/"), "127.0.0.1:5000");
    }
}
