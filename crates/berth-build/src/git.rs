//! Git build contexts (`git://…`, `https://…/repo.git#ref:subdir`, `file://…`), shared by
//! the CLI (which clones a context on the client, as docker's CLI does) and by berthd
//! (`POST /build?remote=`).

use std::path::Path;
use std::process::{Command, Stdio};

/// docker's `urlutil.IsGitURL`, plus local `file://` repositories.
pub fn is_git_url(text: &str) -> bool {
    text.starts_with("git://")
        || text.starts_with("git@")
        || text.starts_with("github.com/")
        || text.starts_with("file://")
        || ((text.starts_with("http://") || text.starts_with("https://"))
            && text.split('#').next().unwrap_or("").ends_with(".git"))
}

/// A git context split into its parts: `url#reference:subdir`.
#[derive(Debug, PartialEq, Eq)]
pub struct GitContext<'a> {
    pub url: String,
    pub reference: Option<&'a str>,
    pub subdir: Option<&'a str>,
}

impl<'a> GitContext<'a> {
    pub fn parse(remote: &'a str) -> GitContext<'a> {
        let (url, fragment) = match remote.split_once('#') {
            Some((u, f)) => (u, Some(f)),
            None => (remote, None),
        };
        let (reference, subdir) = match fragment.map(|f| f.split_once(':').unwrap_or((f, ""))) {
            Some((r, s)) => (
                Some(r).filter(|r| !r.is_empty()),
                Some(s).filter(|s| !s.is_empty()),
            ),
            None => (None, None),
        };
        let url = if url.starts_with("github.com/") {
            format!("https://{url}")
        } else {
            url.to_string()
        };
        GitContext {
            url,
            reference,
            subdir,
        }
    }

    /// Fetches the reference (HEAD by default) shallowly into the empty folder `dir`,
    /// checks it out with its submodules and drops `.git`. A failing git command is an
    /// `Other` error carrying git's message; not being able to run git keeps its kind.
    pub fn clone_into(&self, dir: &Path) -> std::io::Result<()> {
        let git = |args: &[&str]| -> std::io::Result<()> {
            let out = Command::new("git")
                .args(args)
                .current_dir(dir)
                .env("GIT_TERMINAL_PROMPT", "0")
                .stdin(Stdio::null())
                .output()?;
            if out.status.success() {
                Ok(())
            } else {
                Err(std::io::Error::other(
                    String::from_utf8_lossy(&out.stderr).trim().to_string(),
                ))
            }
        };
        git(&["init", "-q"])?;
        git(&["remote", "add", "origin", &self.url])?;
        let wanted = self.reference.unwrap_or("HEAD");
        git(&["fetch", "-q", "--depth", "1", "origin", wanted])?;
        git(&["checkout", "-q", "FETCH_HEAD"])?;
        let submodules = [
            "submodule",
            "update",
            "-q",
            "--init",
            "--recursive",
            "--depth",
            "1",
        ];
        let _ = git(&submodules);
        let _ = std::fs::remove_dir_all(dir.join(".git"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_reference_and_subfolder() {
        let full = GitContext::parse("https://example.org/r.git#v1:docker");
        assert_eq!(full.url, "https://example.org/r.git");
        assert_eq!((full.reference, full.subdir), (Some("v1"), Some("docker")));
        let sub_only = GitContext::parse("file:///srv/r#:app");
        assert_eq!((sub_only.reference, sub_only.subdir), (None, Some("app")));
        let plain = GitContext::parse("github.com/o/r");
        assert_eq!(plain.url, "https://github.com/o/r");
        assert_eq!((plain.reference, plain.subdir), (None, None));
    }

    #[test]
    fn recognises_docker_git_urls() {
        assert!(is_git_url("git://h/r"));
        assert!(is_git_url("https://h/r.git#main"));
        assert!(is_git_url("file:///srv/repo"));
        assert!(!is_git_url("https://h/archive.tar.gz"));
        assert!(!is_git_url("./dir"));
    }
}
