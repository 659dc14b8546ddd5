//! The optional `/vX.Y` path prefix and version negotiation.

use axum::body::Body;
use axum::http::{Request, Uri};
use berth_api::{ApiError, ApiVersion};

/// Rewrites `/v1.41/info` to `/info`, checks the version is served, and records it in the
/// request extensions (requests without a prefix get the newest version, as moby).
pub fn apply(request: &mut Request<Body>) -> Result<(), ApiError> {
    let path = request.uri().path().to_string();
    let (requested, rest) = ApiVersion::split_path_prefix(&path);
    let version = match requested {
        Some(text) => ApiVersion::check_requested(text)?,
        None => ApiVersion::MAX,
    };
    if requested.is_some() {
        let rewritten = match request.uri().query() {
            Some(query) => format!("{rest}?{query}"),
            None => rest.to_string(),
        };
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = Some(
            rewritten
                .parse()
                .map_err(|_| ApiError::invalid(format!("invalid request path {path:?}")))?,
        );
        *request.uri_mut() = Uri::from_parts(parts)
            .map_err(|_| ApiError::invalid(format!("invalid request path {path:?}")))?;
    }
    request.extensions_mut().insert(version);
    Ok(())
}
