//! Engine API versions: the range Berth serves and the `/vX.Y` path prefix rules.

use std::fmt;

use crate::error::ApiError;

/// An Engine API version such as `1.41`, ordered numerically (1.9 < 1.41).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl ApiVersion {
    /// The newest version Berth implements (the spec in `shared/spec`).
    pub const MAX: ApiVersion = ApiVersion {
        major: 1,
        minor: 55,
    };
    /// The oldest version Berth still accepts, as dockerd.
    pub const MIN: ApiVersion = ApiVersion {
        major: 1,
        minor: 24,
    };

    pub const fn new(major: u32, minor: u32) -> Self {
        ApiVersion { major, minor }
    }

    /// Parses `1.41`. Anything else (missing minor, letters, extra parts) is `None`.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        let (major, minor) = text.split_once('.')?;
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(major) || !all_digits(minor) {
            return None;
        }
        Some(ApiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    /// Checks a version a client asked for in the path against the served range, with
    /// moby's error texts (clients such as docker-py match on them).
    pub fn check_requested(text: &str) -> Result<ApiVersion, ApiError> {
        let version = ApiVersion::parse(text)
            .ok_or_else(|| ApiError::invalid(format!("invalid API version: {text:?}")))?;
        if version > ApiVersion::MAX {
            return Err(ApiError::invalid(format!(
                "client version {version} is too new. Maximum supported API version is {}",
                ApiVersion::MAX
            )));
        }
        if version < ApiVersion::MIN {
            return Err(ApiError::invalid(format!(
                "client version {version} is too old. Minimum supported API version is {}, please upgrade your client to a newer version",
                ApiVersion::MIN
            )));
        }
        Ok(version)
    }

    /// Splits an optional `/vX.Y` prefix off a request path. Returns the version text (if
    /// any) and the remaining path. `/v1.41/info` → (`Some("1.41")`, `/info`).
    pub fn split_path_prefix(path: &str) -> (Option<&str>, &str) {
        let Some(rest) = path.strip_prefix("/v") else {
            return (None, path);
        };
        let end = rest.find('/').unwrap_or(rest.len());
        let candidate = &rest[..end];
        // Only digits and dots form a version segment, as moby's router pattern; a path
        // like `/volumes` must stay untouched.
        if candidate.is_empty() || !candidate.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return (None, path);
        }
        let remainder = &rest[end..];
        (
            Some(candidate),
            if remainder.is_empty() { "/" } else { remainder },
        )
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically() {
        assert!(ApiVersion::parse("1.9").unwrap() < ApiVersion::parse("1.41").unwrap());
        assert_eq!(ApiVersion::parse("1.41"), Some(ApiVersion::new(1, 41)));
        assert_eq!(ApiVersion::parse("1"), None);
        assert_eq!(ApiVersion::parse("1.4x"), None);
        assert_eq!(ApiVersion::parse("1.2.3"), None);
    }

    #[test]
    fn prefix_split() {
        assert_eq!(
            ApiVersion::split_path_prefix("/v1.41/info"),
            (Some("1.41"), "/info")
        );
        assert_eq!(ApiVersion::split_path_prefix("/info"), (None, "/info"));
        assert_eq!(
            ApiVersion::split_path_prefix("/volumes/x"),
            (None, "/volumes/x")
        );
        assert_eq!(ApiVersion::split_path_prefix("/v1.41"), (Some("1.41"), "/"));
    }

    #[test]
    fn range_errors_use_moby_wording() {
        let err = ApiVersion::check_requested("1.99").unwrap_err();
        assert_eq!(
            err.message,
            "client version 1.99 is too new. Maximum supported API version is 1.55"
        );
        let err = ApiVersion::check_requested("1.12").unwrap_err();
        assert!(err.message.starts_with("client version 1.12 is too old"));
        assert!(ApiVersion::check_requested("1.24").is_ok());
        assert!(ApiVersion::check_requested("1.2.3").is_err());
    }
}
