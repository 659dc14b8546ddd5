//! `berth commit CONTAINER [REPOSITORY[:TAG]]`: a new image from the container's changes
//! (`POST /commit`), printed as its `sha256:` ID.

use clap::Args;
use serde_json::Value;

use crate::client::{self, ClientError};
use crate::commands::Context;

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long = "author", value_name = "string")]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long = "message", value_name = "string")]
    pub message: Option<String>,
    /// Disable pausing container during commit
    #[arg(long = "no-pause")]
    pub no_pause: bool,
    /// Pause container during commit (default true)
    #[arg(short = 'p', long = "pause", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub pause: Option<String>,
    /// CONTAINER
    pub container: String,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

/// `name[:tag]` split as the API wants it: the tag is after the last `:` that follows the
/// last `/` (a registry port is part of the name).
fn split_reference(reference: &str) -> client::Result<(String, String)> {
    if reference.contains('@') {
        return Err(ClientError::Other(anyhow::anyhow!(
            "refusing to create a tag with a digest reference"
        )));
    }
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    Ok(match reference[name_start..].rfind(':') {
        Some(i) => (
            reference[..name_start + i].to_string(),
            reference[name_start + i + 1..].to_string(),
        ),
        None => (reference.to_string(), String::new()),
    })
}

pub async fn run(ctx: &mut Context, args: CommitArgs) -> client::Result<u8> {
    let pause = match args.pause.as_deref() {
        None => !args.no_pause,
        Some(value) => {
            if args.no_pause {
                return Err(ClientError::Other(anyhow::anyhow!(
                    "conflicting options: --no-pause and --pause cannot be used together"
                )));
            }
            super::parse::parse_bool(value).ok_or_else(|| {
                ClientError::Other(anyhow::anyhow!(
                    "invalid argument \"{value}\" for \"-p, --pause\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax"
                ))
            })?
        }
    };
    let (repo, tag) = match args.reference.as_deref().filter(|r| !r.is_empty()) {
        Some(reference) => split_reference(reference)?,
        None => (String::new(), String::new()),
    };
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("container", &args.container);
    query.append_pair("repo", &repo);
    query.append_pair("tag", &tag);
    query.append_pair("comment", args.message.as_deref().unwrap_or(""));
    query.append_pair("author", args.author.as_deref().unwrap_or(""));
    for change in &args.change {
        query.append_pair("changes", change);
    }
    if !pause {
        query.append_pair("pause", "0");
    }
    let answer = ctx
        .client
        .post_json(&format!("/commit?{}", query.finish()), None)
        .await?;
    let id = answer.get("Id").and_then(Value::as_str).unwrap_or_default();
    println!("{id}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn references() {
        let split = |r: &str| split_reference(r).unwrap();
        assert_eq!(split("img"), ("img".into(), "".into()));
        assert_eq!(split("img:v1"), ("img".into(), "v1".into()));
        assert_eq!(
            split("localhost:5000/a/img"),
            ("localhost:5000/a/img".into(), "".into())
        );
        assert_eq!(
            split("localhost:5000/img:2"),
            ("localhost:5000/img".into(), "2".into())
        );
        assert!(split_reference("img@sha256:abc").is_err());
    }
}
