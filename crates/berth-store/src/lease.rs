//! Leases keep blobs and layers alive while an operation that created or reused them has
//! not yet recorded an image that references them.
//!
//! Garbage collection is mark-and-sweep: the caller names the roots (what image records
//! reference), everything leased is added, and the rest is removed. Writers take the
//! collector's lock for reading while they check for and commit an object and lease it;
//! a sweep takes it for writing. So an object is either leased before a sweep looks, or
//! the sweep finishes before the writer checks whether the object exists.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::digest::Digest;

#[derive(Debug, Default)]
pub(crate) struct GcCoordinator {
    /// Read: committing or reusing an object. Write: sweeping.
    sweep: RwLock<()>,
    leases: Mutex<HashMap<u64, HashSet<Digest>>>,
    next_id: AtomicU64,
}

impl GcCoordinator {
    pub(crate) fn commit_guard(&self) -> RwLockReadGuard<'_, ()> {
        self.sweep
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn sweep_guard(&self) -> RwLockWriteGuard<'_, ()> {
        self.sweep
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every digest any live lease protects.
    pub(crate) fn leased(&self) -> HashSet<Digest> {
        let leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        leases
            .values()
            .flat_map(|set| set.iter().cloned())
            .collect()
    }
}

/// Protects the blobs and layers added to it from garbage collection until dropped.
/// Create one per load/import/pull with [`crate::Store::lease`].
#[derive(Debug)]
pub struct Lease {
    id: u64,
    coordinator: Arc<GcCoordinator>,
}

impl Lease {
    pub(crate) fn new(coordinator: Arc<GcCoordinator>) -> Lease {
        let id = coordinator.next_id.fetch_add(1, Ordering::Relaxed);
        coordinator
            .leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, HashSet::new());
        Lease { id, coordinator }
    }

    /// Adds a blob digest or layer chain ID. Callers inside the store do this under the
    /// commit guard; outside callers may add objects they already hold otherwise.
    pub fn protect(&self, digest: &Digest) {
        let mut leases = self
            .coordinator
            .leases
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        leases.entry(self.id).or_default().insert(digest.clone());
    }

    pub(crate) fn coordinator(&self) -> &Arc<GcCoordinator> {
        &self.coordinator
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.coordinator
            .leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}
