//! Merging of several Compose files (`-f a -f b`, and the override file), as the
//! specification says: mappings merge key by key, scalars and commands are replaced,
//! list-or-mapping keys (environment, labels, ...) merge by name, volumes by target,
//! other lists append without duplicates.

use serde_json::{Map, Value};

/// Keys whose value may be a list of `K=V` or a mapping; merged by name.
const KEYED: &[&str] = &[
    "environment",
    "labels",
    "sysctls",
    "args",
    "options",
    "driver_opts",
];
/// Keys merged by name, whose list form is a list of names.
const NAMED: &[&str] = &["depends_on", "networks"];
/// Keys replaced as a whole.
const REPLACED: &[&str] = &["command", "entrypoint", "test"];

/// Merges the top level of `over` into `base`.
pub fn files(base: &mut Value, over: Value) {
    let (Value::Object(base), Value::Object(over)) = (base, over) else {
        return;
    };
    for (key, value) in over {
        match key.as_str() {
            "services" | "networks" | "volumes" | "secrets" | "configs" => {
                let entry = base.entry(key).or_insert_with(|| Value::Object(Map::new()));
                let (Value::Object(entry), Value::Object(value)) = (entry, value) else {
                    continue;
                };
                for (name, item) in value {
                    match entry.get_mut(&name) {
                        Some(existing) if existing.is_object() && item.is_object() => {
                            mapping(existing, item)
                        }
                        _ => {
                            entry.insert(name, item);
                        }
                    }
                }
            }
            _ => {
                base.insert(key, value);
            }
        }
    }
}

/// Merges one mapping (a service, a network, ...) into another.
pub fn mapping(base: &mut Value, over: Value) {
    let (Value::Object(base), Value::Object(over)) = (base, over) else {
        return;
    };
    for (key, value) in over {
        let Some(existing) = base.get_mut(&key) else {
            base.insert(key, value);
            continue;
        };
        let k = key.as_str();
        if KEYED.contains(&k) {
            let mut merged = keyed(existing);
            for (name, v) in keyed(&value) {
                merged.insert(name, v);
            }
            *existing = Value::Object(merged);
        } else if NAMED.contains(&k) {
            let mut merged = named(existing);
            for (name, v) in named(&value) {
                match merged.get_mut(&name) {
                    Some(old) if old.is_object() && v.is_object() => mapping(old, v),
                    _ => {
                        merged.insert(name, v);
                    }
                }
            }
            *existing = Value::Object(merged);
        } else if REPLACED.contains(&k) {
            *existing = value;
        } else if k == "volumes" {
            volumes(existing, value);
        } else {
            match (existing, value) {
                (e @ Value::Object(_), v @ Value::Object(_)) => mapping(e, v),
                (Value::Array(e), Value::Array(v)) => {
                    for item in v {
                        if !e.contains(&item) {
                            e.push(item);
                        }
                    }
                }
                (e, v) => *e = v,
            }
        }
    }
}

fn keyed(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(crate::yaml::scalar_string)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), Value::String(v.to_string())),
                None => (s, Value::Null),
            })
            .collect(),
        _ => Map::new(),
    }
}

fn named(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(crate::yaml::scalar_string)
            .map(|s| (s, Value::Null))
            .collect(),
        _ => Map::new(),
    }
}

/// The container path of a volume entry, short or long syntax.
fn target(item: &Value) -> Option<String> {
    match item {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            Some(
                match parts.len() {
                    1 => parts[0],
                    _ => parts[1],
                }
                .to_string(),
            )
        }
        Value::Object(m) => m.get("target").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn volumes(existing: &mut Value, value: Value) {
    let (Value::Array(base), Value::Array(over)) = (&mut *existing, &value) else {
        *existing = value;
        return;
    };
    for item in over {
        let t = target(item);
        match base.iter_mut().find(|b| t.is_some() && target(b) == t) {
            Some(slot) => *slot = item.clone(),
            None => base.push(item.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn services_merge() {
        let mut base = json!({"services": {"web": {
            "image": "a", "command": ["x", "y"], "environment": ["A=1", "B=2"],
            "ports": ["80"], "volumes": ["d:/data", "/cache"], "depends_on": ["db"]
        }}});
        let over = json!({"services": {"web": {
            "image": "b", "command": "z", "environment": {"B": "3"},
            "ports": ["81"], "volumes": ["e:/data"], "depends_on": {"cache": {"condition": "service_healthy"}}
        }, "db": {"image": "d"}}});
        files(&mut base, over);
        let web = &base["services"]["web"];
        assert_eq!(web["image"], "b");
        assert_eq!(web["command"], "z");
        assert_eq!(web["environment"], json!({"A": "1", "B": "3"}));
        assert_eq!(web["ports"], json!(["80", "81"]));
        assert_eq!(web["volumes"], json!(["e:/data", "/cache"]));
        assert_eq!(
            web["depends_on"],
            json!({"db": null, "cache": {"condition": "service_healthy"}})
        );
        assert_eq!(base["services"]["db"]["image"], "d");
    }
}
