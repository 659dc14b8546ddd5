//! Moving images in and out as archives: load, save, import.

use std::io::{Read, Write};

use berth_api::ApiError;
use berth_image::{repo_tag_reference, ImportOptions};
use tokio::sync::mpsc;

use super::blocking;
use crate::Engine;

/// `POST /images/create?fromSrc=-` parameters.
#[derive(Debug, Default, Clone)]
pub struct ImportRequest {
    pub repo: String,
    pub tag: String,
    pub changes: Vec<String>,
    pub message: String,
    pub platform: Option<String>,
}

impl Engine {
    /// `POST /images/load`: reads the archive from `input` (a blocking reader fed by the
    /// request body); each progress line (`Loaded image: ...`) goes to `progress` as it
    /// happens.
    pub async fn image_load(
        &self,
        input: Box<dyn Read + Send>,
        progress: mpsc::Sender<String>,
    ) -> Result<(), ApiError> {
        let store = self.image_store();
        let loaded = blocking(move || {
            let mut report = |line: &str| {
                let _ = progress.blocking_send(line.to_string());
            };
            Ok(store.load(input, &mut report)?)
        })
        .await?;
        for image in loaded {
            if image.tags.is_empty() {
                self.image_event("load", image.id.as_str(), image.id.as_str());
            }
            for tag in &image.tags {
                self.image_event("load", image.id.as_str(), &tag.familiar_string());
            }
        }
        Ok(())
    }

    /// Checks every name resolves, so that a bad name is a 404 before any byte is sent.
    pub async fn image_save_check(&self, names: &[String]) -> Result<(), ApiError> {
        let store = self.image_store();
        let names = names.to_vec();
        blocking(move || {
            for name in &names {
                store.resolve(name)?;
            }
            Ok(())
        })
        .await
    }

    /// `GET /images/get`: writes the docker-save archive of `names` to `out`.
    pub async fn image_save(
        &self,
        names: Vec<String>,
        out: Box<dyn Write + Send>,
    ) -> Result<(), ApiError> {
        let store = self.image_store();
        let saved = blocking(move || {
            let ids: Vec<(String, String)> = names
                .iter()
                .map(|n| {
                    store
                        .resolve(n)
                        .map(|i| (i.id.as_str().to_string(), n.clone()))
                })
                .collect::<Result<_, _>>()?;
            store.save(&names, out)?;
            Ok(ids)
        })
        .await?;
        for (id, name) in saved {
            self.image_event("save", &id, &name);
        }
        Ok(())
    }

    /// `POST /images/create?fromSrc=-`: a rootfs tarball becomes a one-layer image.
    pub async fn image_import(
        &self,
        input: Box<dyn Read + Send>,
        request: ImportRequest,
    ) -> Result<String, ApiError> {
        let reference = repo_tag_reference(&request.repo, &request.tag)?;
        let platform = request
            .platform
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(parse_platform)
            .transpose()?;
        let message = if request.message.is_empty() {
            "Imported from -".to_string()
        } else {
            request.message.clone()
        };
        let name = reference.as_ref().map(|r| r.familiar_string());
        let options = ImportOptions {
            reference,
            changes: request.changes,
            message,
            platform,
        };
        let store = self.image_store();
        let id = blocking(move || Ok(store.import(input, options)?)).await?;
        self.image_event(
            "import",
            id.as_str(),
            name.as_deref().unwrap_or(id.as_str()),
        );
        Ok(id.as_str().to_string())
    }
}

/// `linux/amd64[/v8]` → (os, architecture, variant).
fn parse_platform(text: &str) -> Result<(String, String, Option<String>), ApiError> {
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [os, arch] => Ok((os.to_string(), arch.to_string(), None)),
        [os, arch, variant] => Ok((os.to_string(), arch.to_string(), Some(variant.to_string()))),
        _ => Err(ApiError::invalid(format!(
            "\"{text}\": unknown operating system or architecture: invalid argument"
        ))),
    }
}
