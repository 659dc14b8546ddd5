//! Running the plan: meta `ARG`s, then each needed stage from its `FROM` (with the base
//! image's `ONBUILD` triggers) through its instructions, printing docker's classic
//! output and consulting the cache before every step.

use std::collections::HashSet;
use std::sync::Arc;

use berth_api::ApiError;
use berth_build::dispatch::PROXY_ARGS;
use berth_build::{Action, Lexer, Node, Plan, StageState};
use berth_image::{ChildImage, Digest};

use super::context::Context;
use super::scratch::WorkDir;
use super::{api_error, send_text, short_id, BuildRequest, Progress};
use crate::Engine;

pub(crate) struct Build<'a> {
    pub(crate) engine: Arc<Engine>,
    pub(crate) request: BuildRequest,
    pub(crate) ctx: Context,
    pub(crate) progress: Progress,
    pub(crate) work: &'a WorkDir,
    step: usize,
    total: usize,
    /// The image each finished stage produced.
    pub(crate) stage_images: Vec<Option<String>>,
    /// Stage names by index, for `COPY --from`.
    plan: Option<Plan>,
    current_stage: usize,
    /// The exit code of a failed RUN (clients exit with it).
    pub(crate) exit_code: Option<i64>,
    consumed: HashSet<String>,
}

impl<'a> Build<'a> {
    pub(crate) fn new(
        engine: Arc<Engine>,
        request: BuildRequest,
        ctx: Context,
        progress: Progress,
        work: &'a WorkDir,
    ) -> Build<'a> {
        Build {
            engine,
            request,
            ctx,
            progress,
            work,
            step: 0,
            total: 0,
            stage_images: Vec::new(),
            plan: None,
            current_stage: 0,
            exit_code: None,
            consumed: HashSet::new(),
        }
    }

    /// Text for the client (nothing with `q`).
    pub(crate) async fn out(&self, text: String) {
        if !self.request.quiet {
            send_text(&self.progress, text).await;
        }
    }

    /// Fails when the client went away (the build is then abandoned).
    pub(crate) fn check_client(&self) -> Result<(), ApiError> {
        if self.progress.is_closed() {
            Err(ApiError::system(
                "the build was cancelled: the client went away",
            ))
        } else {
            Ok(())
        }
    }

    pub(crate) async fn run(&mut self) -> Result<String, ApiError> {
        let file = berth_build::parse(&self.ctx.dockerfile).map_err(api_error)?;
        let mut plan = Plan::new(&file).map_err(api_error)?;
        let needed = plan
            .needed(self.request.target.as_deref())
            .map_err(api_error)?;
        let last = *needed.last().expect("a stage");
        if !self.request.labels.is_empty() {
            // As the classic builder: `--label` is one more LABEL step at the end.
            let pairs: Vec<String> = self
                .request
                .labels
                .iter()
                .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
                .collect();
            let original = format!("LABEL {}", pairs.join(" "));
            plan.stages[last].nodes.push(Node {
                line: 0,
                keyword: "label".into(),
                flags: Vec::new(),
                args: pairs.join(" "),
                original,
                heredocs: Vec::new(),
            });
        }
        let lexer = Lexer::new(file.directives.escape);
        self.total = plan.meta_args.len()
            + needed
                .iter()
                .map(|i| 1 + plan.stages[*i].nodes.len())
                .sum::<usize>();
        if let Some(syntax) = &file.directives.syntax {
            self.out(format!(
                "# syntax={syntax}: ignored (frontend images need BuildKit; the classic builder parses the Dockerfile itself)\n"
            ))
            .await;
        }
        // ARGs before the first FROM: usable in FROM lines, and by name later.
        let mut meta = StageState::new(lexer, self.request.build_args.clone());
        for node in &plan.meta_args {
            self.header(node).await;
            for word in node.args.split_whitespace() {
                let (name, default) = match word.split_once('=') {
                    Some((k, v)) => (
                        k.to_string(),
                        Some(
                            meta.expand(v)
                                .map_err(|e| api_error(e.at_line(node.line)))?,
                        ),
                    ),
                    None => (word.to_string(), None),
                };
                self.consumed.insert(name.clone());
                meta.declare_arg(&name, default, true);
            }
        }
        self.stage_images = vec![None; plan.stages.len()];
        self.plan = Some(plan.clone());
        for index in needed {
            self.check_client()?;
            let image = self.run_stage(&plan, index, lexer, &meta.args).await?;
            self.stage_images[index] = Some(image);
        }
        let unused: Vec<String> = self
            .request
            .build_args
            .keys()
            .filter(|k| !self.consumed.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
            .cloned()
            .collect();
        if !unused.is_empty() {
            let mut unused = unused;
            unused.sort();
            self.out(format!(
                "[Warning] One or more build-args [{}] were not consumed\n",
                unused.join(" ")
            ))
            .await;
        }
        Ok(self.stage_images[last].clone().expect("the last stage ran"))
    }

    async fn header(&mut self, node: &Node) {
        self.step += 1;
        self.out(format!(
            "Step {}/{} : {}\n",
            self.step, self.total, node.original
        ))
        .await;
    }

    async fn run_stage(
        &mut self,
        plan: &Plan,
        index: usize,
        lexer: Lexer,
        meta_args: &[(String, Option<String>)],
    ) -> Result<String, ApiError> {
        let stage = &plan.stages[index];
        self.current_stage = index;
        self.header(&stage.from).await;
        let mut state = StageState::new(lexer, self.request.build_args.clone());
        state.meta_args = meta_args.to_vec();
        let base = lexer
            .expand(&stage.base, &|name: &str| {
                meta_args
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| v.clone())
            })
            .map_err(|e| api_error(e.at_line(stage.from.line)))?;
        if base.is_empty() {
            return Err(ApiError::invalid(format!(
                "Dockerfile parse error line {}: base name ({}) should not be blank",
                stage.from.line, stage.base
            )));
        }
        let base_image = match plan.stage_ref(&base, index) {
            Some(dep) => self.stage_images[dep].clone(),
            None if base.eq_ignore_ascii_case("scratch") => None,
            None => Some(self.resolve_base(&base).await?),
        };
        if let Some(id) = &base_image {
            let store = self.engine.image_store();
            let digest = Digest::parse(id).map_err(|e| ApiError::system(e.to_string()))?;
            let image = store
                .get(&digest)
                .ok_or_else(|| ApiError::not_found(format!("No such image: {id}")))?;
            state.config = image.config.config.clone().unwrap_or_default();
            state.image = Some(id.clone());
            self.out(format!(" ---> {}\n", short_id(id))).await;
        }
        // Triggers run in this (child) build and are not passed on.
        let triggers = state.config.on_build.take().unwrap_or_default();
        if !triggers.is_empty() {
            let plural = if triggers.len() == 1 { "" } else { "s" };
            self.out(format!(
                "# Executing {} build trigger{plural}\n",
                triggers.len()
            ))
            .await;
            for trigger in &triggers {
                let parsed = berth_build::parse(trigger).map_err(api_error)?;
                for node in &parsed.nodes {
                    self.check_client()?;
                    self.exec(&mut state, node).await?;
                }
            }
        }
        for node in &stage.nodes {
            self.check_client()?;
            self.header(node).await;
            self.exec(&mut state, node).await?;
        }
        match state.image.clone() {
            Some(id) => Ok(id),
            // `FROM scratch` alone: an empty image.
            None => self.commit_step(&mut state, "".into(), None).await,
        }
    }

    /// Finds a base image locally, pulling it when it is missing (or with `--pull`).
    async fn resolve_base(&self, name: &str) -> Result<String, ApiError> {
        let store = self.engine.image_store();
        let lookup = name.to_string();
        let local = || {
            let store = store.clone();
            let lookup = lookup.clone();
            crate::images::blocking(move || Ok(store.resolve(&lookup).ok()))
        };
        let found = local().await?;
        if let Some(image) = &found {
            if !self.request.pull {
                return Ok(image.id.as_str().to_string());
            }
        }
        // Pull progress goes to the client as docker's status messages.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(64);
        let progress = self.progress.clone();
        let quiet = self.request.quiet;
        let forward = tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if quiet {
                    continue;
                }
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                    let _ = progress.send(value).await;
                }
            }
        });
        let request = crate::images::PullRequest {
            from_image: name.to_string(),
            ..Default::default()
        };
        let pulled = self.engine.image_pull(request, tx).await;
        let _ = forward.await;
        match (pulled, found) {
            (Ok(()), _) => match local().await? {
                Some(image) => Ok(image.id.as_str().to_string()),
                None => Err(ApiError::not_found(format!("No such image: {name}"))),
            },
            // `--pull` with an unreachable registry: the local image still builds.
            (Err(e), Some(image)) => {
                self.out(format!(
                    "[Warning] pulling {name} failed ({}); using the local image\n",
                    e.message
                ))
                .await;
                Ok(image.id.as_str().to_string())
            }
            (Err(e), None) => Err(e),
        }
    }

    async fn exec(&mut self, state: &mut StageState, node: &Node) -> Result<(), ApiError> {
        let action = state.dispatch(node).map_err(api_error)?;
        if node.keyword == "arg" {
            for word in node.args.split_whitespace() {
                self.consumed
                    .insert(word.split('=').next().unwrap_or(word).to_string());
            }
        }
        match action {
            Action::Commit { created_by } => {
                self.commit_step(state, created_by, None).await?;
            }
            Action::Run {
                cmd,
                env,
                created_by,
            } => {
                super::run::step(self, state, cmd, env, created_by).await?;
            }
            Action::Copy(spec) => {
                super::copy::step(self, state, spec).await?;
            }
        }
        Ok(())
    }

    /// The cached result of a step, if the cache has one whose image still exists.
    pub(crate) async fn cached(&self, key: &str) -> Option<String> {
        if self.request.no_cache {
            return None;
        }
        let id = self.engine.build_cache.get(key)?;
        let exists = Digest::parse(&id)
            .ok()
            .and_then(|d| self.engine.image_store().get(&d))
            .is_some();
        if exists {
            Some(id)
        } else {
            self.engine.build_cache.forget(key);
            None
        }
    }

    /// Takes a cache hit: prints docker's lines and moves the stage on.
    pub(crate) async fn use_cached(&self, state: &mut StageState, id: String) {
        self.out(" ---> Using cache\n".into()).await;
        self.out(format!(" ---> {}\n", short_id(&id))).await;
        state.image = Some(id);
    }

    /// Records a new step image in the cache and moves the stage on.
    pub(crate) async fn finish_step(&self, state: &mut StageState, key: String, id: String) {
        if let Err(e) = self.engine.build_cache.put(key, id.clone()) {
            tracing::warn!("saving the build cache: {e}");
        }
        self.out(format!(" ---> {}\n", short_id(&id))).await;
        state.image = Some(id);
    }

    /// A metadata step: an image with the new config and no layer.
    pub(crate) async fn commit_step(
        &self,
        state: &mut StageState,
        created_by: String,
        _extra: Option<&str>,
    ) -> Result<String, ApiError> {
        let key = berth_build::cache::key(
            state.image.as_deref(),
            &state.config,
            state.author.as_deref(),
            &created_by,
            "",
        );
        if let Some(id) = self.cached(&key).await {
            self.use_cached(state, id.clone()).await;
            return Ok(id);
        }
        let child = self.child_image(state, created_by);
        let parent = parent_digest(state)?;
        let store = self.engine.image_store();
        let id = crate::images::blocking(move || {
            Ok(store.create_child(parent.as_ref(), None, child)?)
        })
        .await?
        .as_str()
        .to_string();
        self.finish_step(state, key, id.clone()).await;
        Ok(id)
    }

    pub(crate) fn child_image(&self, state: &StageState, created_by: String) -> ChildImage {
        ChildImage {
            config: state.config.clone(),
            author: state.author.clone(),
            comment: None,
            created_by: (!created_by.is_empty()).then_some(created_by),
            container: None,
            reference: None,
        }
    }

    /// The stage's image, or an empty one for `FROM scratch` (a RUN needs an image).
    pub(crate) async fn ensure_image(&self, state: &mut StageState) -> Result<String, ApiError> {
        if let Some(id) = &state.image {
            return Ok(id.clone());
        }
        let child = self.child_image(state, String::new());
        let store = self.engine.image_store();
        let id = crate::images::blocking(move || Ok(store.create_child(None, None, child)?))
            .await?
            .as_str()
            .to_string();
        state.image = Some(id.clone());
        Ok(id)
    }

    /// The image a `COPY --from` names: a stage (by name or index) or an image.
    pub(crate) async fn copy_source_image(&self, name: &str) -> Result<Option<String>, ApiError> {
        let plan = self.plan.as_ref().expect("plan set");
        if let Some(dep) = plan.stage_ref(name, self.current_stage) {
            return Ok(self.stage_images[dep].clone());
        }
        Ok(Some(self.resolve_base(name).await?))
    }
}

pub(crate) fn parent_digest(state: &StageState) -> Result<Option<Digest>, ApiError> {
    state
        .image
        .as_deref()
        .map(|id| Digest::parse(id).map_err(|e| ApiError::system(e.to_string())))
        .transpose()
}

/// A LABEL word with docker's quoting of `--label` values.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}
