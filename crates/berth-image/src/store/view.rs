//! Read-only views in API shapes: inspect, list summaries (with docker's list filters),
//! history.

use std::collections::BTreeMap;

use berth_api::types::image as wire;
use berth_api::Filters;
use berth_store::Digest;

use super::{Image, ImageStore, State};
use crate::config::{format_rfc3339_nano, format_utc, ContainerConfig};
use crate::error::ImageError;
use crate::filters::{glob_match, parse_until, truthy};
use crate::reference::Reference;

/// What an image list request asks for.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `all=1`: include untagged intermediate images (ones with children).
    pub all: bool,
    pub filters: Filters,
}

impl ImageStore {
    /// `GET /images/{name}/json`.
    pub fn inspect(&self, name: &str) -> Result<wire::ImageInspect, ImageError> {
        let image = self.resolve(name)?;
        Ok(self.inspect_image(&image))
    }

    /// Inspect data for an image already resolved.
    pub fn inspect_image(&self, image: &Image) -> wire::ImageInspect {
        let config = &image.config;
        let layers = self.storage().layers();
        let graph_driver = image.top_layer().map(|top| {
            let mut data = BTreeMap::new();
            let layer_dir = layers.layer_dir(top);
            data.insert(
                "UpperDir".to_string(),
                layers.diff_dir(top).display().to_string(),
            );
            data.insert(
                "MergedDir".to_string(),
                layer_dir.join("merged").display().to_string(),
            );
            data.insert(
                "WorkDir".to_string(),
                layer_dir.join("work").display().to_string(),
            );
            let lowers: Vec<String> = image
                .chain_ids
                .iter()
                .rev()
                .skip(1)
                .map(|c| layers.diff_dir(c).display().to_string())
                .collect();
            if !lowers.is_empty() {
                data.insert("LowerDir".to_string(), lowers.join(":"));
            }
            wire::GraphDriverData {
                data,
                name: "overlay2".into(),
            }
        });
        wire::ImageInspect {
            id: image.id.to_string(),
            repo_tags: image.familiar_tags(),
            repo_digests: image.familiar_digests(),
            parent: image
                .parent
                .as_ref()
                .map(Digest::to_string)
                .unwrap_or_default(),
            comment: config.comment.clone().unwrap_or_default(),
            created: config
                .created_time()
                .map(|t| format_rfc3339_nano(&t))
                .unwrap_or_default(),
            docker_version: config.docker_version.clone().unwrap_or_default(),
            author: config.author.clone().unwrap_or_default(),
            config: config.config.as_ref().map(wire_config),
            architecture: config.architecture().to_string(),
            variant: config.variant.clone().unwrap_or_default(),
            os: config.os().to_string(),
            os_version: config.os_version.clone().unwrap_or_default(),
            size: image.size as i64,
            virtual_size: None,
            graph_driver,
            root_fs: wire::RootFs {
                kind: config.rootfs.kind.clone(),
                layers: config
                    .rootfs
                    .diff_ids
                    .iter()
                    .map(Digest::to_string)
                    .collect(),
            },
            metadata: wire::ImageMetadata {
                last_tag_time: image
                    .last_tag_time
                    .map(|t| format_utc(&t))
                    .unwrap_or_else(|| wire::GO_ZERO_TIME.to_string()),
            },
            legacy_container: config.container.clone().unwrap_or_default(),
            legacy_container_config: config.container_config.clone(),
        }
    }

    /// The list entry of one image (all its references). `Containers` is -1; the engine
    /// fills it in when asked.
    pub fn summary(&self, image: &Image) -> wire::ImageSummary {
        summary_with(image, image.familiar_tags(), image.familiar_digests())
    }

    /// `GET /images/json`: docker's list with its filters (`dangling`, `label`, `before`,
    /// `since`, `until`, `reference`), newest first.
    pub fn summaries(&self, options: &ListOptions) -> Result<Vec<wire::ImageSummary>, ImageError> {
        let filters = &options.filters;
        filters
            .validate(&[
                "before",
                "dangling",
                "label",
                "label!",
                "reference",
                "since",
                "until",
            ])
            .map_err(|e| ImageError::InvalidParameter(e.message))?;
        let mut dangling_only = false;
        for value in filters.get("dangling") {
            dangling_only = truthy(value).ok_or_else(|| {
                ImageError::InvalidParameter(format!("invalid filter 'dangling={value}'"))
            })?;
        }
        let state = self.lock();
        let created_of = |name: &str| -> Result<i64, ImageError> {
            let id = state.resolve(name)?;
            Ok(state.images[&id].config.created_unix())
        };
        let before = filters
            .get("before")
            .iter()
            .map(|n| created_of(n))
            .collect::<Result<Vec<_>, _>>()?;
        let since = filters
            .get("since")
            .iter()
            .map(|n| created_of(n))
            .collect::<Result<Vec<_>, _>>()?;
        let now = chrono::Utc::now();
        let until = filters
            .get("until")
            .iter()
            .map(|v| parse_until(v, now).map(|t| t.timestamp()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ImageError::InvalidParameter)?;
        let patterns = filters.get("reference");

        let mut out = Vec::new();
        for id in state.images.keys() {
            if state.visible(id).is_none() {
                continue;
            }
            let image = state.image(id).expect("listed image exists");
            let children = state.children(id);
            if dangling_only && !children.is_empty() {
                continue;
            }
            let created = image.config.created_unix();
            if before.iter().any(|b| created >= *b) || since.iter().any(|s| created <= *s) {
                continue;
            }
            if until.iter().any(|u| created > *u) {
                continue;
            }
            let labels = image.config.labels().cloned().unwrap_or_default();
            if filters.contains("label") && !filters.matches_labels("label", &labels) {
                continue;
            }
            if filters
                .get("label!")
                .iter()
                .any(|l| match l.split_once('=') {
                    Some((k, v)) => labels.get(k).is_some_and(|actual| actual == v),
                    None => labels.contains_key(l),
                })
            {
                continue;
            }
            let matches = |r: &Reference| {
                patterns.is_empty()
                    || patterns.iter().any(|p| {
                        glob_match(p, &r.familiar_string()) || glob_match(p, &r.familiar_name())
                    })
            };
            let tags: Vec<String> = image
                .repo_tags
                .iter()
                .filter(|r| matches(r))
                .map(Reference::familiar_string)
                .collect();
            let digests: Vec<String> = image
                .repo_digests
                .iter()
                .filter(|r| matches(r))
                .map(Reference::familiar_string)
                .collect();
            if tags.is_empty() && digests.is_empty() {
                if !(options.all || children.is_empty()) {
                    continue;
                }
                if filters.contains("dangling") && !dangling_only {
                    continue;
                }
                if !patterns.is_empty() {
                    continue;
                }
            } else if dangling_only && !tags.is_empty() {
                continue;
            }
            out.push(summary_with(&image, tags, digests));
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// `GET /images/{name}/history`, newest first.
    pub fn history(&self, name: &str) -> Result<Vec<wire::HistoryResponseItem>, ImageError> {
        let state = self.lock();
        let id = state.resolve(name)?;
        let image = state.image(&id).expect("resolved image exists");
        let layers = self.storage().layers();
        let mut items: Vec<wire::HistoryResponseItem> = Vec::new();
        let mut layer_index = 0;
        for entry in &image.config.history {
            let mut size = 0;
            if !entry.empty_layer {
                let chain = image.chain_ids.get(layer_index).ok_or_else(|| {
                    ImageError::Corrupt(format!(
                        "image {id}: more non-empty layers in history than in rootfs"
                    ))
                })?;
                size = layers.get(chain).map(|l| l.size).unwrap_or(0) as i64;
                layer_index += 1;
            }
            items.push(wire::HistoryResponseItem {
                id: "<missing>".into(),
                created: entry
                    .created
                    .as_deref()
                    .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                    .map_or(0, |t| t.timestamp()),
                created_by: entry.created_by.clone().unwrap_or_default(),
                tags: None,
                size,
                comment: entry.comment.clone().unwrap_or_default(),
            });
        }
        items.reverse();
        // The newest entries belong to this image, then its parent, and so on.
        let mut current = Some(id);
        for item in items.iter_mut() {
            let Some(image_id) = current.take() else {
                break;
            };
            item.id = image_id.to_string();
            let tags: Vec<String> = state
                .refs_of(&image_id)
                .iter()
                .filter(|r| r.tag().is_some() && r.digest().is_none())
                .map(Reference::familiar_string)
                .collect();
            item.tags = if tags.is_empty() { None } else { Some(tags) };
            current = state
                .visible(&image_id)
                .and_then(|e| e.record.parent.clone());
        }
        Ok(items)
    }

    pub(crate) fn state_snapshot(&self) -> State {
        self.lock().clone()
    }
}

fn summary_with(image: &Image, tags: Vec<String>, digests: Vec<String>) -> wire::ImageSummary {
    wire::ImageSummary {
        id: image.id.to_string(),
        parent_id: image
            .parent
            .as_ref()
            .map(Digest::to_string)
            .unwrap_or_default(),
        repo_tags: tags,
        repo_digests: digests,
        created: image.config.created_unix(),
        size: image.size as i64,
        shared_size: -1,
        virtual_size: None,
        labels: image.config.labels().cloned(),
        containers: -1,
    }
}

fn wire_config(config: &ContainerConfig) -> wire::ImageConfig {
    wire::ImageConfig {
        user: config.user.clone().unwrap_or_default(),
        exposed_ports: config.exposed_ports.clone().filter(|m| !m.is_empty()),
        env: config.env.clone().filter(|v| !v.is_empty()),
        entrypoint: config.entrypoint.clone().filter(|v| !v.is_empty()),
        cmd: config.cmd.clone().filter(|v| !v.is_empty()),
        volumes: config.volumes.clone().filter(|m| !m.is_empty()),
        working_dir: config.working_dir.clone().unwrap_or_default(),
        labels: config.labels.clone().filter(|m| !m.is_empty()),
        stop_signal: config.stop_signal.clone().unwrap_or_default(),
        args_escaped: config.args_escaped.unwrap_or(false),
        healthcheck: config.healthcheck.clone().filter(|h| !h.is_null()),
        on_build: config.on_build.clone().filter(|v| !v.is_empty()),
        shell: config.shell.clone().filter(|v| !v.is_empty()),
    }
}
