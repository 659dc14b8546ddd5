//! Pulling the image of `run`/`create` when the daemon does not have it: the reference as
//! docker prints it (`busybox:latest`) and the progress stream shown on stderr.

use crate::client::{self, encode};
use crate::commands::Context;

/// A reference split as docker's `reference.ParseNormalizedNamed` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io/library/busybox`
    pub name: String,
    /// `latest` (added when absent), or the digest.
    pub tag: String,
    pub digest: bool,
}

impl Reference {
    pub fn parse(image: &str) -> Reference {
        let (name, tag, digest) = match image.split_once('@') {
            Some((name, digest)) => (name.to_string(), digest.to_string(), true),
            None => {
                let slash = image.rfind('/').map_or(0, |i| i + 1);
                match image[slash..].rfind(':') {
                    Some(i) => (
                        image[..slash + i].to_string(),
                        image[slash + i + 1..].to_string(),
                        false,
                    ),
                    None => (image.to_string(), "latest".to_string(), false),
                }
            }
        };
        // A name@digest may also carry a tag; docker keeps the digest.
        let name = if digest {
            let slash = name.rfind('/').map_or(0, |i| i + 1);
            match name[slash..].rfind(':') {
                Some(i) => name[..slash + i].to_string(),
                None => name,
            }
        } else {
            name
        };
        let first = name.split('/').next().unwrap_or("");
        let has_domain = name.contains('/')
            && (first.contains('.') || first.contains(':') || first == "localhost");
        let name = if has_domain {
            name
        } else if name.contains('/') {
            format!("docker.io/{name}")
        } else {
            format!("docker.io/library/{name}")
        };
        Reference { name, tag, digest }
    }

    /// `busybox:latest`, `localhost:5000/x:v1`, `busybox@sha256:...`.
    pub fn familiar(&self) -> String {
        let name = self
            .name
            .strip_prefix("docker.io/")
            .map(|rest| match rest.strip_prefix("library/") {
                Some(short) if !short.contains('/') => short,
                _ => rest,
            })
            .unwrap_or(&self.name);
        let sep = if self.digest { '@' } else { ':' };
        format!("{name}{sep}{}", self.tag)
    }
}

/// `POST /images/create?fromImage=&tag=`, progress printed to stderr (nothing with
/// `quiet`) the way docker prints it off a terminal. A failure inside the stream becomes
/// `ClientError::Stream` with the daemon's message.
pub async fn pull(
    ctx: &mut Context,
    image: &str,
    platform: Option<&str>,
    quiet: bool,
) -> client::Result<()> {
    let reference = Reference::parse(image);
    let mut path = format!(
        "/images/create?fromImage={}&tag={}",
        encode(&reference.name),
        encode(&reference.tag)
    );
    if let Some(platform) = platform {
        path.push_str(&format!("&platform={}", encode(platform)));
    }
    ctx.client
        .set_registry_auth(Some(crate::commands::image::auth::header_for_image(image)));
    let response = ctx.client.send(http::Method::POST, &path, None, None).await;
    ctx.client.set_registry_auth(None);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    crate::progress::display_stream(response?, Box::new(std::io::stderr()), terminal, quiet)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Reference;

    #[test]
    fn references() {
        let r = Reference::parse("busybox");
        assert_eq!(r.name, "docker.io/library/busybox");
        assert_eq!(r.tag, "latest");
        assert_eq!(r.familiar(), "busybox:latest");
        assert_eq!(Reference::parse("user/app:1").familiar(), "user/app:1");
        assert_eq!(Reference::parse("user/app:1").name, "docker.io/user/app");
        let r = Reference::parse("localhost:5000/x");
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("localhost:5000/x", "latest")
        );
        assert_eq!(r.familiar(), "localhost:5000/x:latest");
        let r = Reference::parse("docker.io/library/busybox:1.36");
        assert_eq!(r.familiar(), "busybox:1.36");
        let r = Reference::parse("busybox@sha256:abc");
        assert!(r.digest);
        assert_eq!(r.familiar(), "busybox@sha256:abc");
    }
}
