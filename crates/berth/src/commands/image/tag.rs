//! `berth tag SOURCE TARGET`.

use clap::Args;

use crate::client::{self, encode};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG]
    pub source: String,
    /// TARGET_IMAGE[:TAG]
    pub target: String,
}

pub async fn run(ctx: &mut Context, args: TagArgs) -> client::Result<u8> {
    check_reference(&args.target)?;
    let (repo, tag) = split_repo_tag(&args.target);
    let mut path = format!("/images/{}/tag?repo={}", encode(&args.source), encode(repo));
    if let Some(tag) = tag {
        path.push_str(&format!("&tag={}", encode(tag)));
    }
    ctx.client.post_json(&path, None).await?;
    Ok(0)
}

/// docker refuses a malformed target before asking the daemon: an empty repository, or
/// more than one `:tag` in the last path component.
fn check_reference(reference: &str) -> client::Result<()> {
    let (repo, _) = split_repo_tag(reference);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    let bad = repo.is_empty()
        || repo.starts_with(':')
        || (repo.contains('/') && last.contains(':'))
        || (!repo.contains('/') && last.contains(':'));
    if bad {
        return Err(client::ClientError::Usage(format!(
            "\"{reference}\" is not a valid repository/tag: invalid reference format"
        )));
    }
    Ok(())
}

/// `host:5000/repo:tag` → (`host:5000/repo`, `tag`); a colon inside the host is no tag.
pub fn split_repo_tag(reference: &str) -> (&str, Option<&str>) {
    if reference.contains('@') {
        return (reference, None);
    }
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (reference, None),
    }
}

#[cfg(test)]
mod tests {
    use super::split_repo_tag;

    #[test]
    fn splits() {
        assert_eq!(split_repo_tag("busybox"), ("busybox", None));
        assert_eq!(split_repo_tag("busybox:1"), ("busybox", Some("1")));
        assert_eq!(
            split_repo_tag("localhost:5000/x"),
            ("localhost:5000/x", None)
        );
        assert_eq!(
            split_repo_tag("localhost:5000/x:v2"),
            ("localhost:5000/x", Some("v2"))
        );
    }
}
