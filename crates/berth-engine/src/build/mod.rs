//! `POST /build`: docker's classic builder. The context arrives as a tar stream and is
//! unpacked under `<data-root>/builder/tmp/<id>/`; the Dockerfile is parsed and planned
//! by `berth-build`; each step becomes an image: metadata steps without a layer, `RUN`
//! through a real container (create, attach, start, wait, commit of its upper directory,
//! remove), `COPY`/`ADD` into an overlay of the parent image whose upper directory is the
//! new layer. Results are cached by `berth-build`'s keys in `<data-root>/builder/`.

mod context;
mod copy;
mod fetch;
mod prune;
mod run;
mod scratch;
mod steps;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_api::ApiError;
use berth_build::BuildError;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::Engine;

/// What a build request asks for (the `POST /build` query).
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    pub tags: Vec<String>,
    /// Path of the Dockerfile in the context (`Dockerfile` when empty).
    pub dockerfile: String,
    pub build_args: HashMap<String, Option<String>>,
    pub no_cache: bool,
    pub pull: bool,
    pub quiet: bool,
    /// Remove intermediate containers after a successful step.
    pub rm: bool,
    /// Remove them also after a failed one.
    pub force_rm: bool,
    pub labels: BTreeMap<String, String>,
    pub target: Option<String>,
    pub network_mode: String,
    pub extra_hosts: Vec<String>,
    pub cache_from: Vec<String>,
    /// A git repository to clone as the context instead of the body.
    pub remote: Option<String>,
}

/// A failed build: the error, and the exit code of the RUN that failed (docker's CLI
/// exits with it).
#[derive(Debug)]
pub struct BuildFailure {
    pub error: ApiError,
    pub code: Option<i64>,
}

impl From<ApiError> for BuildFailure {
    fn from(error: ApiError) -> Self {
        BuildFailure { error, code: None }
    }
}

/// The JSON messages of the build stream (`{"stream": ...}`, `{"aux": ...}`).
pub type Progress = mpsc::Sender<Value>;

/// The builder's folder: cache file and working areas.
pub(crate) fn builder_dir(data_root: &Path) -> PathBuf {
    data_root.join("builder")
}

/// Removes working areas a crashed daemon left (unmounting first).
pub(crate) fn clean_leftovers(data_root: &Path) {
    scratch::remove_all(&builder_dir(data_root).join("tmp"));
}

impl Engine {
    /// Runs a build, streaming its output on `progress`. Errors before the first
    /// message become the HTTP status; later ones an in-stream error.
    pub async fn build(
        self: &Arc<Self>,
        request: BuildRequest,
        body: Box<dyn Read + Send>,
        progress: Progress,
    ) -> Result<String, BuildFailure> {
        let mut references = Vec::new();
        for tag in &request.tags {
            let reference = berth_image::Reference::parse_normalized(tag)
                .map_err(|_| ApiError::invalid(format!("invalid reference format: repository name ({tag}) must be lowercase or is invalid")))?;
            if reference.digest().is_some() {
                return Err(ApiError::invalid(format!(
                    "invalid tag {tag}: a digest cannot be a tag"
                ))
                .into());
            }
            references.push(reference.with_default_tag());
        }
        let work = scratch::WorkDir::create(&builder_dir(&self.config().data_root).join("tmp"))
            .map_err(|e| ApiError::system(format!("creating the build folder: {e}")))?;
        let quiet = request.quiet;
        let received = context::receive(&work, &request, body).await;
        let result = match received {
            Ok(context) => {
                let mut build =
                    steps::Build::new(self.clone(), request, context, progress.clone(), &work);
                build.run().await.map_err(|error| BuildFailure {
                    error,
                    code: build.exit_code,
                })
            }
            Err(e) => Err(e.into()),
        };
        // Removing the working area (context, scratch mounts) may take a while: it
        // happens beside the final messages (a daemon stopped meanwhile removes what is
        // left at its next start).
        tokio::task::spawn_blocking(move || drop(work));
        let id = result?;
        let store = self.image_store();
        let id_for_tags = id.clone();
        let tagged = references.clone();
        crate::images::blocking(move || {
            for reference in &tagged {
                store.tag(&id_for_tags, reference)?;
            }
            Ok(())
        })
        .await
        .map_err(BuildFailure::from)?;
        let short = short_id(&id);
        send(&progress, json!({ "aux": { "ID": id } })).await;
        if quiet {
            send_text(&progress, format!("{id}\n")).await;
        } else {
            send_text(&progress, format!("Successfully built {short}\n")).await;
        }
        for reference in &references {
            self.image_event("tag", &id, &reference.familiar_string());
            if !quiet {
                send_text(
                    &progress,
                    format!("Successfully tagged {}\n", reference.familiar_string()),
                )
                .await;
            }
        }
        Ok(id)
    }
}

pub(crate) fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

pub(crate) async fn send(progress: &Progress, message: Value) {
    let _ = progress.send(message).await;
}

pub(crate) async fn send_text(progress: &Progress, text: String) {
    send(progress, json!({ "stream": text })).await;
}

/// A builder-library error as an API error: bad input is the client's fault.
pub(crate) fn api_error(e: BuildError) -> ApiError {
    if e.is_bad_input() {
        ApiError::invalid(e.to_string())
    } else {
        ApiError::system(e.to_string())
    }
}
