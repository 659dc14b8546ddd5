//! Image references, parsed and normalized exactly as Docker's `distribution/reference`:
//!
//! ```text
//! reference    := name [ ":" tag ] [ "@" digest ]
//! name         := [domain "/"] path-component ["/" path-component]*
//! domain       := host [":" port]          host: DNS-ish name or [IPv6]
//! path-component := [a-z0-9]+ (separator [a-z0-9]+)*    separator: "." | "_" | "__" | "-"+
//! tag          := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! digest       := algorithm ":" hex
//! ```
//!
//! Normalization: `busybox` → `docker.io/library/busybox`, `user/repo` →
//! `docker.io/user/repo`, `index.docker.io/x` → `docker.io/library/x`; a first component
//! with a `.` or `:`, `localhost`, or an upper-case letter is a registry host. The default
//! tag is `latest`. Error texts are moby's, since clients show them verbatim.

use std::fmt;

/// Docker Hub's canonical domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// The tag a reference without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";
const NAME_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    /// From normalization: the repository part has upper-case letters.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format: repository name must be lowercase")]
    NameContainsUppercase,
    #[error("repository name must have at least one component")]
    NameEmpty,
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("invalid tag format")]
    InvalidTag,
    /// go-digest's texts: `invalid checksum digest format`, `... length`,
    /// `unsupported digest algorithm`.
    #[error("{0}")]
    InvalidDigest(&'static str),
}

/// A named reference (always with a domain once normalized), optionally tagged and/or
/// digested.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// What `ParseAnyReference` yields: an image ID/digest, or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReference {
    /// `sha256:<hex>` (from a bare 64-hex ID or a full digest).
    Digest(String),
    Named(Reference),
}

impl Reference {
    /// Parses a possibly familiar name (`busybox`, `user/app:1`, `host:5000/x@sha256:..`)
    /// into its canonical form. Does not add a default tag (see [`Reference::with_default_tag`]).
    pub fn parse_normalized(text: &str) -> Result<Reference, ReferenceError> {
        if is_identifier(text) {
            return Err(ReferenceError::HexName(text.to_string()));
        }
        let (domain, remainder) = split_docker_domain(text);
        let remote = remainder.split(':').next().unwrap_or("");
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::Uppercase(remote.to_string()));
        }
        parse(&format!("{domain}/{remainder}"))
    }

    /// Parses a reference that must already be canonical (`docker.io/library/x:tag`), as
    /// stored in `refs.json`.
    pub fn parse_canonical(text: &str) -> Result<Reference, ReferenceError> {
        let reference = Reference::parse_normalized(text)?;
        if reference.to_string() != text {
            return Err(ReferenceError::InvalidFormat);
        }
        Ok(reference)
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// Adds `:latest` when the reference has neither tag nor digest (`TagNameOnly`).
    pub fn with_default_tag(mut self) -> Reference {
        if self.is_name_only() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// Docker's `ParseDockerRef` shape: name-only gets `latest`; tag and digest together
    /// keep only the digest.
    pub fn docker_ref(mut self) -> Reference {
        if self.tag.is_some() && self.digest.is_some() {
            self.tag = None;
        }
        self.with_default_tag()
    }

    /// The same name with another tag (digest dropped).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !is_tag(tag) {
            return Err(ReferenceError::InvalidTag);
        }
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        })
    }

    /// The same name with a digest (tag dropped).
    pub fn with_digest(&self, digest: &str) -> Result<Reference, ReferenceError> {
        validate_digest(digest)?;
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest.to_string()),
        })
    }

    /// The bare name, without tag or digest.
    pub fn trimmed(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    /// `busybox`, `user/app`, `localhost:5000/x` (Docker Hub's domain and `library/` dropped).
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            if let Some(rest) = self.path.strip_prefix(OFFICIAL_PREFIX) {
                if !rest.contains('/') {
                    return rest.to_string();
                }
            }
            return self.path.clone();
        }
        self.name()
    }

    /// `busybox:latest`, `user/app@sha256:...`: what docker prints.
    pub fn familiar_string(&self) -> String {
        let mut out = self.familiar_name();
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl AnyReference {
    /// Docker's `ParseAnyReference`: a 64-hex ID or a full digest is a digest, anything
    /// else is parsed as a (familiar) name.
    pub fn parse(text: &str) -> Result<AnyReference, ReferenceError> {
        if is_identifier(text) {
            return Ok(AnyReference::Digest(format!("sha256:{text}")));
        }
        if validate_digest(text).is_ok() {
            return Ok(AnyReference::Digest(text.to_string()));
        }
        Reference::parse_normalized(text).map(AnyReference::Named)
    }
}

/// 64 lowercase hex characters: an image ID without `sha256:`.
pub fn is_identifier(text: &str) -> bool {
    berth_store::digest::is_sha256_hex(text)
}

/// `splitDockerDomain`: decides whether the first component is a registry host.
fn split_docker_domain(name: &str) -> (String, String) {
    let Some((first, rest)) = name.split_once('/') else {
        return (
            DEFAULT_DOMAIN.to_string(),
            format!("{OFFICIAL_PREFIX}{name}"),
        );
    };
    let (domain, mut remote) = if first == "localhost" {
        (first.to_string(), rest.to_string())
    } else if first == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN.to_string(), rest.to_string())
    } else if first.contains(['.', ':']) || first.to_lowercase() != first {
        (first.to_string(), rest.to_string())
    } else {
        (DEFAULT_DOMAIN.to_string(), name.to_string())
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        remote = format!("{OFFICIAL_PREFIX}{remote}");
    }
    (domain, remote)
}

/// `reference.Parse`: the full grammar, no normalization.
fn parse(text: &str) -> Result<Reference, ReferenceError> {
    if text.is_empty() {
        return Err(ReferenceError::NameEmpty);
    }
    match match_reference(text) {
        Some((name, tag, digest)) => {
            let (domain, path) = split_name(name);
            if path.len() > NAME_MAX {
                return Err(ReferenceError::NameTooLong);
            }
            if let Some(digest) = digest {
                validate_digest(digest)?;
            }
            Ok(Reference {
                domain: domain.to_string(),
                path: path.to_string(),
                tag: tag.map(str::to_string),
                digest: digest.map(str::to_string),
            })
        }
        None => {
            let lower = text.to_lowercase();
            if lower != text && match_reference(&lower).is_some() {
                Err(ReferenceError::NameContainsUppercase)
            } else {
                Err(ReferenceError::InvalidFormat)
            }
        }
    }
}

/// Matches the anchored reference pattern: (name, tag, digest).
fn match_reference(text: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => {
            if !is_digest_pattern(digest) {
                return None;
            }
            (rest, Some(digest))
        }
        None => (text, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => {
            let tag = &rest[i + 1..];
            if !is_tag(tag) {
                return None;
            }
            (&rest[..i], Some(tag))
        }
        _ => (rest, None),
    };
    if !is_name(name) {
        return None;
    }
    Some((name, tag, digest))
}

/// Splits a valid name into (domain, path) the way the anchored name pattern captures
/// it: the first component is the domain when it can be one and the rest is a path.
fn split_name(name: &str) -> (&str, &str) {
    if let Some((first, rest)) = name.split_once('/') {
        if is_domain(first) && is_remote_name(rest) {
            return (first, rest);
        }
    }
    ("", name)
}

fn is_name(name: &str) -> bool {
    if is_remote_name(name) {
        return true;
    }
    match name.split_once('/') {
        Some((first, rest)) => is_domain(first) && is_remote_name(rest),
        None => false,
    }
}

fn is_remote_name(text: &str) -> bool {
    !text.is_empty() && text.split('/').all(is_path_component)
}

/// `[a-z0-9]+ ( ( [._] | __ | -+ ) [a-z0-9]+ )*`
fn is_path_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let run = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && alnum(bytes[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !run(&mut i) {
        return false;
    }
    while i < bytes.len() {
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if !run(&mut i) {
            return false;
        }
    }
    true
}

/// host [":" port], host being a DNS-ish name or a bracketed IPv6 address.
fn is_domain(text: &str) -> bool {
    let (host, port) = if text.starts_with('[') {
        match text.find(']') {
            Some(end) => {
                let inner = &text[1..end];
                if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    return false;
                }
                let rest = &text[end + 1..];
                match rest.strip_prefix(':') {
                    Some(port) => (None, Some(port)),
                    None if rest.is_empty() => (None, None),
                    None => return false,
                }
            }
            None => return false,
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(text), None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    match host {
        None => true,
        Some(host) => !host.is_empty() && host.split('.').all(is_domain_component),
    }
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes {
        [] => false,
        [only] => only.is_ascii_alphanumeric(),
        [first, middle @ .., last] => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && middle
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
    }
}

/// `[\w][\w.-]{0,127}`
pub fn is_tag(text: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`
fn is_digest_pattern(text: &str) -> bool {
    let Some((algorithm, hex)) = text.split_once(':') else {
        return false;
    };
    if hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    algorithm.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    })
}

/// go-digest's `Parse`/`Validate` for the algorithms Docker registers.
fn validate_digest(text: &str) -> Result<(), ReferenceError> {
    const FORMAT: ReferenceError = ReferenceError::InvalidDigest("invalid checksum digest format");
    let Some(i) = text.find(':').filter(|&i| i > 0 && i + 1 < text.len()) else {
        return Err(FORMAT);
    };
    let (algorithm, encoded) = (&text[..i], &text[i + 1..]);
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(if is_digest_pattern(text) {
                ReferenceError::InvalidDigest("unsupported digest algorithm")
            } else {
                FORMAT
            })
        }
    };
    if encoded.len() != length {
        return Err(ReferenceError::InvalidDigest(
            "invalid checksum digest length",
        ));
    }
    if !encoded
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(FORMAT);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";

    fn norm(s: &str) -> String {
        Reference::parse_normalized(s)
            .unwrap()
            .with_default_tag()
            .to_string()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(norm("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(
            norm("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            norm("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(norm("user/repo:tag"), "docker.io/user/repo:tag");
        assert_eq!(norm("localhost/x"), "localhost/x:latest");
        assert_eq!(norm("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(
            norm("host.example.com/user/repo:tag"),
            "host.example.com/user/repo:tag"
        );
        assert_eq!(norm("[::1]:5000/a/b"), "[::1]:5000/a/b:latest");
        assert_eq!(
            norm("a__b/c-d.e/f---g"),
            "docker.io/a__b/c-d.e/f---g:latest"
        );
        let digested = format!("busybox@sha256:{HEX}");
        assert_eq!(
            norm(&digested),
            format!("docker.io/library/busybox@sha256:{HEX}")
        );
        let both = Reference::parse_normalized(&format!("busybox:1@sha256:{HEX}")).unwrap();
        assert_eq!(both.tag(), Some("1"));
        assert_eq!(
            both.clone().docker_ref().to_string(),
            format!("docker.io/library/busybox@sha256:{HEX}")
        );
        // "localhost:5000" alone is a repository named localhost with tag 5000.
        let r = Reference::parse_normalized("localhost:5000").unwrap();
        assert_eq!(
            (r.name().as_str(), r.tag()),
            ("docker.io/library/localhost", Some("5000"))
        );
    }

    #[test]
    fn familiar_forms() {
        let f = |s: &str| {
            Reference::parse_normalized(s)
                .unwrap()
                .with_default_tag()
                .familiar_string()
        };
        assert_eq!(f("docker.io/library/busybox"), "busybox:latest");
        assert_eq!(f("docker.io/user/app:1"), "user/app:1");
        assert_eq!(f("docker.io/library/a/b"), "library/a/b:latest");
        assert_eq!(f("localhost:5000/x:y"), "localhost:5000/x:y");
        assert_eq!(
            Reference::parse_normalized("busybox")
                .unwrap()
                .familiar_name(),
            "busybox"
        );
    }

    #[test]
    fn errors_use_docker_wording() {
        let e = |s: &str| Reference::parse_normalized(s).unwrap_err().to_string();
        assert_eq!(
            e("Busybox"),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(
            e("user/Repo"),
            "invalid reference format: repository name (user/Repo) must be lowercase"
        );
        assert_eq!(e(""), "invalid reference format");
        assert_eq!(e("busy box"), "invalid reference format");
        assert_eq!(e("a:b:c"), "invalid reference format");
        assert_eq!(e("busybox:"), "invalid reference format");
        assert_eq!(e("-busybox"), "invalid reference format");
        assert_eq!(e("a..b"), "invalid reference format");
        assert_eq!(
            e(HEX),
            format!("invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings")
        );
        assert_eq!(e("busybox@sha256:abc"), "invalid reference format");
        assert_eq!(
            e(&format!("busybox@sha256:{}", &HEX[..40])),
            "invalid checksum digest length"
        );
        assert_eq!(
            e(&format!("busybox@md5:{HEX}")),
            "unsupported digest algorithm"
        );
        assert_eq!(
            e(&format!("busybox:{}", "t".repeat(129))),
            "invalid reference format"
        );
        assert_eq!(
            e(&"a".repeat(256)),
            "repository name must not be more than 255 characters"
        );
    }

    #[test]
    fn parse_any() {
        assert_eq!(
            AnyReference::parse(HEX).unwrap(),
            AnyReference::Digest(format!("sha256:{HEX}"))
        );
        assert_eq!(
            AnyReference::parse(&format!("sha256:{HEX}")).unwrap(),
            AnyReference::Digest(format!("sha256:{HEX}"))
        );
        match AnyReference::parse("sha256:abc").unwrap() {
            AnyReference::Named(r) => assert_eq!(r.to_string(), "docker.io/library/sha256:abc"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            AnyReference::parse("abc123").unwrap(),
            AnyReference::Named(_)
        ));
    }

    #[test]
    fn canonical_round_trip() {
        let r = Reference::parse_canonical("docker.io/library/busybox:latest").unwrap();
        assert_eq!(r.familiar_string(), "busybox:latest");
        assert!(Reference::parse_canonical("busybox:latest").is_err());
    }
}
