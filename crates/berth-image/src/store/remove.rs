//! `docker rmi` and `docker image prune`, with moby's rules:
//!
//! - Removing by name removes that reference; the image itself goes only when no
//!   reference is left (and then quietly: conflicts just keep it).
//! - Removing by ID removes all references if they are within one repository, else
//!   needs force (`image is referenced in multiple repositories`).
//! - Hard conflicts (child images, a running container) cannot be forced; soft ones
//!   (other references, a stopped container) can.
//! - Without `noprune`, untagged parents left childless are removed as well.

use std::collections::HashSet;

use berth_api::types::image::{ImageDeleteResponseItem, ImagePruneResponse};
use berth_api::Filters;
use berth_store::Digest;

use super::{ImageStore, State};
use crate::error::ImageError;
use crate::filters::{parse_until, truthy};
use crate::reference::Reference;

/// A container that uses an image, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUse {
    pub container_id: String,
    pub running: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// `force=1`: ignore soft conflicts.
    pub force: bool,
    /// `noprune=1`: keep untagged parents.
    pub noprune: bool,
}

type InUse<'a> = &'a dyn Fn(&Digest) -> Option<ContainerUse>;

const CHILD: u8 = 1;
const RUNNING: u8 = 2;
const ACTIVE_REFERENCE: u8 = 4;
const STOPPED: u8 = 8;
const HARD: u8 = CHILD | RUNNING;
const SOFT: u8 = ACTIVE_REFERENCE | STOPPED;

struct Conflict {
    hard: bool,
    used: bool,
    message: String,
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

fn conflict_error(id: &Digest, conflict: &Conflict) -> ImageError {
    let force = if conflict.hard {
        "cannot be forced"
    } else {
        "must be forced"
    };
    ImageError::Conflict(format!(
        "conflict: unable to delete {} ({force}) - {}",
        id.short(),
        conflict.message
    ))
}

/// A removal in progress: a copy of the state plus what it deleted, in order.
struct Txn<'a> {
    state: State,
    in_use: InUse<'a>,
    records: Vec<ImageDeleteResponseItem>,
    deleted: Vec<Digest>,
}

impl Txn<'_> {
    fn check_conflict(&self, id: &Digest, mask: u8) -> Option<Conflict> {
        if mask & CHILD != 0 && !self.state.children(id).is_empty() {
            return Some(Conflict {
                hard: true,
                used: false,
                message: "image has dependent child images".into(),
            });
        }
        let user = (self.in_use)(id);
        if mask & RUNNING != 0 {
            if let Some(user) = user.as_ref().filter(|u| u.running) {
                return Some(Conflict {
                    hard: true,
                    used: true,
                    message: format!(
                        "image is being used by running container {}",
                        short(&user.container_id)
                    ),
                });
            }
        }
        if mask & ACTIVE_REFERENCE != 0 && !self.state.refs_of(id).is_empty() {
            return Some(Conflict {
                hard: false,
                used: false,
                message: "image is referenced in multiple repositories".into(),
            });
        }
        if mask & STOPPED != 0 {
            if let Some(user) = user.as_ref().filter(|u| !u.running) {
                return Some(Conflict {
                    hard: false,
                    used: true,
                    message: format!(
                        "image is being used by stopped container {}",
                        short(&user.container_id)
                    ),
                });
            }
        }
        None
    }

    fn untag(&mut self, reference: &Reference) {
        self.state.refs.remove(&reference.to_string());
        self.records.push(ImageDeleteResponseItem::untagged(
            reference.familiar_string(),
        ));
    }

    /// moby's `ImageDelete` on the transaction.
    fn remove(&mut self, text: &str, force: bool, prune: bool) -> Result<(), ImageError> {
        let id = self.state.resolve(text)?;
        let mut repo_refs = self.state.refs_of(&id);
        let mut removed_repository_ref = false;
        if !is_id_prefix(&id, text) {
            if !force && is_single_reference(&repo_refs) {
                if let Some(user) = (self.in_use)(&id) {
                    return Err(ImageError::Conflict(format!(
                        "conflict: unable to remove repository reference \"{text}\" (must force) - container {} is using its referenced image {}",
                        short(&user.container_id),
                        id.short()
                    )));
                }
            }
            let parsed = Reference::parse_normalized(text)?.docker_ref();
            self.untag(&parsed);
            repo_refs = self.state.refs_of(&id);
            if parsed.digest().is_none() {
                let same_repo_tag = repo_refs
                    .iter()
                    .any(|r| r.digest().is_none() && r.name() == parsed.name());
                if !same_repo_tag {
                    let mut remaining = Vec::new();
                    for r in repo_refs {
                        if r.digest().is_some() && r.name() == parsed.name() {
                            self.untag(&r);
                        } else {
                            remaining.push(r);
                        }
                    }
                    repo_refs = remaining;
                }
            }
            if !repo_refs.is_empty() {
                return Ok(());
            }
            removed_repository_ref = true;
        } else if is_single_reference(&repo_refs) {
            let mut mask = HARD;
            if !force {
                mask |= SOFT & !ACTIVE_REFERENCE;
            }
            if let Some(conflict) = self.check_conflict(&id, mask) {
                return Err(conflict_error(&id, &conflict));
            }
            for r in repo_refs {
                self.untag(&r);
            }
        }
        self.delete_image(&id, force, prune, removed_repository_ref)
    }

    /// moby's `imageDeleteHelper`.
    fn delete_image(
        &mut self,
        id: &Digest,
        force: bool,
        prune: bool,
        quiet: bool,
    ) -> Result<(), ImageError> {
        let mut mask = HARD;
        if !force {
            mask |= SOFT;
        }
        if let Some(conflict) = self.check_conflict(id, mask) {
            if quiet && (!self.state.is_dangling(id) || conflict.used) {
                return Ok(());
            }
            return Err(conflict_error(id, &conflict));
        }
        let parent = self
            .state
            .images
            .get(id)
            .and_then(|e| e.record.parent.clone());
        for r in self.state.refs_of(id) {
            self.untag(&r);
        }
        if (self.in_use)(id).is_some() {
            // Forced while a stopped container uses it: hide it, keep its layers.
            if let Some(entry) = self.state.images.get_mut(id) {
                entry.index.retained = true;
            }
        } else {
            self.state.images.remove(id);
        }
        self.records
            .push(ImageDeleteResponseItem::deleted(id.to_string()));
        self.deleted.push(id.clone());
        match parent {
            Some(parent) if prune && self.state.visible(&parent).is_some() => {
                self.delete_image(&parent, false, true, true)
            }
            _ => Ok(()),
        }
    }
}

/// moby's `isImageIDPrefix`.
fn is_id_prefix(id: &Digest, text: &str) -> bool {
    id.as_str().starts_with(text) || id.hex().starts_with(text)
}

/// True when all references are in one repository with at most one tag.
fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let mut single: Option<&Reference> = None;
    let mut canonical_names = HashSet::new();
    for r in refs {
        if r.digest().is_some() {
            canonical_names.insert(r.name());
        } else if single.is_none() {
            single = Some(r);
        } else {
            return false;
        }
    }
    let single = single.unwrap_or(&refs[0]);
    canonical_names.len() == 1 && canonical_names.contains(&single.name())
}

impl ImageStore {
    /// `DELETE /images/{name}`: untags and deletes as docker does and returns the
    /// `Untagged`/`Deleted` items (removed layers are reported as `Deleted` chain IDs).
    pub fn remove(
        &self,
        name: &str,
        options: RemoveOptions,
        in_use: &dyn Fn(&Digest) -> Option<ContainerUse>,
    ) -> Result<Vec<ImageDeleteResponseItem>, ImageError> {
        let (records, _) = self.run_removal(in_use, |txn| {
            txn.remove(name, options.force, !options.noprune)
        })?;
        Ok(records)
    }

    /// `POST /images/prune`. Filters: `dangling` (default true; false = all unused
    /// images), `until`, `label`, `label!`. Images containers use are skipped.
    pub fn prune(
        &self,
        filters: &Filters,
        in_use: &dyn Fn(&Digest) -> Option<ContainerUse>,
    ) -> Result<ImagePruneResponse, ImageError> {
        filters
            .validate(&["dangling", "label", "label!", "until"])
            .map_err(|e| ImageError::InvalidParameter(e.message))?;
        let mut dangling_only = true;
        for value in filters.get("dangling") {
            dangling_only = truthy(value).ok_or_else(|| {
                ImageError::InvalidParameter(format!("invalid filter 'dangling={value}'"))
            })?;
        }
        let now = chrono::Utc::now();
        let mut until = None;
        for value in filters.get("until") {
            until = Some(parse_until(value, now).map_err(ImageError::InvalidParameter)?);
        }

        let (records, reclaimed) = self.run_removal(in_use, |txn| {
            let mut candidates = Vec::new();
            for (id, entry) in &txn.state.images {
                if txn.state.visible(id).is_none() {
                    continue;
                }
                let refs = txn.state.refs_of(id);
                let children = txn.state.children(id);
                if dangling_only && !children.is_empty() {
                    continue;
                }
                if refs.is_empty() && !children.is_empty() {
                    continue;
                }
                if let Some(until) = until {
                    match entry.config.created_time() {
                        Some(created) if created.timestamp() <= until.timestamp() => {}
                        _ => continue,
                    }
                }
                let labels = entry.config.labels().cloned().unwrap_or_default();
                if !filters.matches_labels("label", &labels) {
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
                candidates.push((id.clone(), refs));
            }
            candidates.sort_by(|a, b| a.0.cmp(&b.0));
            for (id, refs) in candidates {
                if txn.state.visible(&id).is_none() {
                    continue;
                }
                let targets: Vec<String> = if refs.is_empty() {
                    vec![id.hex().to_string()]
                } else if !dangling_only || refs.iter().all(|r| r.tag().is_none()) {
                    refs.iter().map(Reference::to_string).collect()
                } else {
                    continue;
                };
                for target in targets {
                    let checkpoint = (txn.state.clone(), txn.records.len(), txn.deleted.len());
                    match txn.remove(&target, false, true) {
                        Ok(()) => {}
                        Err(ImageError::Conflict(_)) | Err(ImageError::NotFound(_)) => {
                            txn.state = checkpoint.0;
                            txn.records.truncate(checkpoint.1);
                            txn.deleted.truncate(checkpoint.2);
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
            Ok(())
        })?;
        Ok(ImagePruneResponse {
            images_deleted: if records.is_empty() {
                None
            } else {
                Some(records)
            },
            space_reclaimed: reclaimed,
        })
    }

    /// Runs a removal on a copy of the state, commits it (`refs.json`), deletes the
    /// records of removed images, collects their layers and reports them.
    fn run_removal(
        &self,
        in_use: InUse<'_>,
        body: impl FnOnce(&mut Txn<'_>) -> Result<(), ImageError>,
    ) -> Result<(Vec<ImageDeleteResponseItem>, u64), ImageError> {
        let mut state = self.lock();
        let mut txn = Txn {
            state: state.clone(),
            in_use,
            records: Vec::new(),
            deleted: Vec::new(),
        };
        body(&mut txn)?;
        let Txn {
            state: next,
            mut records,
            deleted,
            ..
        } = txn;
        if records.is_empty() {
            return Ok((records, 0));
        }

        // Layers each deleted image leaves unreferenced, top first, reported after it.
        let mut still_used: HashSet<Digest> = HashSet::new();
        for entry in next.images.values() {
            still_used.extend(entry.chain.iter().cloned());
        }
        let mut reported: HashSet<Digest> = HashSet::new();
        let mut layer_items: Vec<(Digest, Vec<Digest>)> = Vec::new();
        for id in &deleted {
            if next.images.contains_key(id) {
                continue; // retained for a container: its layers stay
            }
            let chain = state
                .images
                .get(id)
                .map(|e| e.chain.clone())
                .unwrap_or_default();
            let freed: Vec<Digest> = chain
                .iter()
                .rev()
                .filter(|c| !still_used.contains(*c) && reported.insert((*c).clone()))
                .cloned()
                .collect();
            layer_items.push((id.clone(), freed));
        }

        self.write_index(&next)?;
        for id in &deleted {
            if !next.images.contains_key(id) {
                berth_store::atomic::remove_file(&self.record_path(id))?;
            }
        }
        *state = next;
        drop(state);
        let report = self.gc()?;
        let removed: HashSet<&Digest> = report.layers.iter().map(|l| &l.chain_id).collect();

        let mut with_layers = Vec::with_capacity(records.len());
        for item in records.drain(..) {
            let layers = item
                .deleted
                .as_ref()
                .and_then(|d| layer_items.iter().find(|(id, _)| id.as_str() == d))
                .map(|(_, layers)| layers.clone());
            with_layers.push(item);
            for layer in layers.unwrap_or_default() {
                if removed.contains(&layer) {
                    with_layers.push(ImageDeleteResponseItem::deleted(layer.to_string()));
                }
            }
        }
        Ok((with_layers, report.layer_bytes()))
    }
}
