//! Registry authentication: the credentials clients send (`X-Registry-Auth`, the body of
//! `POST /auth`), the `WWW-Authenticate` challenges registries answer with, and the
//! bearer-token exchange of the distribution token spec.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::error::{describe, RegistryError};

/// Docker's `AuthConfig` (field names as the API spells them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// base64 `user:password`, an alternative to the two fields above.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registrytoken: String,
}

impl AuthConfig {
    /// Decodes an `X-Registry-Auth` header: base64url JSON (padding optional, standard
    /// alphabet tolerated, as moby does). An empty or `{}` header means anonymous.
    pub fn from_header(value: &str) -> Result<AuthConfig, RegistryError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(AuthConfig::default());
        }
        let cleaned: String = value
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cleaned.as_bytes())
            .map_err(|_| {
                RegistryError::Unsupported("invalid X-Registry-Auth header: not base64url".into())
            })?;
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(AuthConfig::default());
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| RegistryError::Unsupported(format!("invalid X-Registry-Auth header: {e}")))
    }

    /// The user and password, from the fields or the combined `auth`.
    pub fn basic(&self) -> Option<(String, String)> {
        if !self.username.is_empty() || !self.password.is_empty() {
            return Some((self.username.clone(), self.password.clone()));
        }
        if self.auth.is_empty() {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.auth.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (user, pass) = text.split_once(':')?;
        Some((user.to_string(), pass.to_string()))
    }

    pub fn is_anonymous(&self) -> bool {
        self.basic().is_none() && self.identitytoken.is_empty() && self.registrytoken.is_empty()
    }
}

/// One parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `key="value", key2=value2` (quoted values may hold commas and escaped quotes).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(next) = chars.next() {
                            value.push(next);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    out
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
}

/// Fetches a bearer token from `realm` for `scopes` (the token spec's GET flow, with
/// basic credentials when there are any). Returns the `Authorization` header value.
pub(crate) async fn fetch_token(
    http: &reqwest::Client,
    challenge: &Challenge,
    scopes: &[String],
    auth: &AuthConfig,
) -> Result<String, RegistryError> {
    let Challenge::Bearer { realm, service, .. } = challenge else {
        return basic_header(auth);
    };
    if !auth.registrytoken.is_empty() {
        return Ok(format!("Bearer {}", auth.registrytoken));
    }
    let mut url = reqwest::Url::parse(realm).map_err(|e| {
        RegistryError::protocol(format!(
            "the registry's token realm {realm:?} is not a URL: {e}"
        ))
    })?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = service {
            query.append_pair("service", service);
        }
        for scope in scopes {
            query.append_pair("scope", scope);
        }
        if let Some((user, _)) = auth.basic() {
            query.append_pair("account", &user);
        }
    }
    let mut request = http.get(url.clone());
    if let Some((user, pass)) = auth.basic() {
        request = request.basic_auth(user, Some(pass));
    } else if !auth.identitytoken.is_empty() {
        request = request.bearer_auth(&auth.identitytoken);
    }
    let response = request.send().await.map_err(|e| {
        RegistryError::Transport(format!("fetching a token from {realm}: {}", describe(&e)))
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(RegistryError::Unauthorized(format!(
            "unauthorized: incorrect username or password (token server {realm} answered {status})"
        )));
    }
    if !status.is_success() {
        return Err(RegistryError::protocol(format!(
            "the token server {realm} answered {status}"
        )));
    }
    let body: TokenResponse = response.json().await.map_err(|e| {
        RegistryError::protocol(format!(
            "the token server {realm} sent an unreadable answer: {}",
            describe(&e)
        ))
    })?;
    let token = if body.token.is_empty() {
        body.access_token
    } else {
        body.token
    };
    if token.is_empty() {
        return Err(RegistryError::protocol(format!(
            "the token server {realm} sent no token"
        )));
    }
    Ok(format!("Bearer {token}"))
}

/// `Basic base64(user:password)`, or an error when there are no credentials to send.
pub(crate) fn basic_header(auth: &AuthConfig) -> Result<String, RegistryError> {
    let (user, pass) = auth.basic().ok_or_else(|| {
        RegistryError::Unauthorized(
            "unauthorized: authentication required (log in with 'berth login')".into(),
        )
    })?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    Ok(format!("Basic {encoded}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull".into()),
            })
        );
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="http://127.0.0.1:1/t",scope="repository:a:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: None,
                scope: Some("repository:a:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    #[test]
    fn decodes_auth_headers() {
        use base64::Engine as _;
        let json = r#"{"username":"u","password":"p?>","serveraddress":"127.0.0.1:5000"}"#;
        let header = base64::engine::general_purpose::URL_SAFE.encode(json);
        let auth = AuthConfig::from_header(&header).unwrap();
        assert_eq!(auth.basic(), Some(("u".into(), "p?>".into())));
        assert!(AuthConfig::from_header("").unwrap().is_anonymous());
        let combined = AuthConfig {
            auth: base64::engine::general_purpose::STANDARD.encode("a:b:c"),
            ..Default::default()
        };
        assert_eq!(combined.basic(), Some(("a".into(), "b:c".into())));
    }
}
