//! Image commands: `images`, `image inspect`, `history`, `tag`, `rmi`, `load`, `save`,
//! `import`, `image prune`.

pub mod auth;
pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod login;
pub mod ls;
pub mod prune;
pub mod pull;
pub mod push;
pub mod rm;
pub mod save;
pub mod search;
pub mod tag;

/// `sha256:0123456789abcdef...` → `0123456789ab`, docker's short image ID.
pub fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}
