//! Deserializers for what clients actually send: explicit `null` for unset fields, and
//! `Cmd`/`Entrypoint` as either a string or a list.

use serde::{Deserialize, Deserializer};

/// `null` → the type's default.
pub fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// moby's `StrSlice`: `"sh -c x"` is one element, `["sh","-c","x"]` a list, null unset.
pub fn string_or_list<'de, D>(deserializer: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Either>::deserialize(deserializer)? {
        None => None,
        Some(Either::One(s)) => Some(vec![s]),
        Some(Either::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use crate::types::container::CreateRequest;

    #[test]
    fn accepts_what_clients_send() {
        let body = r#"{"Image":"busybox","Cmd":"echo hi","Entrypoint":null,"Hostname":null,
            "HostConfig":{"Memory":null,"Binds":null,"RestartPolicy":{"Name":"always"},"Unknown":1},
            "Whatever":true}"#;
        let req: CreateRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.config.cmd, Some(vec!["echo hi".to_string()]));
        assert_eq!(req.config.entrypoint, None);
        assert_eq!(req.host_config.memory, 0);
        assert_eq!(req.host_config.restart_policy.unwrap().name, "always");
        assert!(req.host_config.extra.contains_key("Unknown"));
        let req: CreateRequest =
            serde_json::from_str(r#"{"Image":"x","HostConfig":null}"#).unwrap();
        assert_eq!(req.host_config.memory, 0);
    }
}
