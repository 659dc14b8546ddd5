//! The dependency graph of services (`depends_on`, `links`, `volumes_from`,
//! `network_mode: service:x`): start order, and cycles reported with their path.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::model::Service;

/// Names of the services `service` needs started before it.
pub fn dependencies(service: &Service) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = service.depends_on.keys().cloned().collect();
    for link in &service.links {
        out.insert(link.split(':').next().unwrap_or(link).to_string());
    }
    for from in &service.volumes_from {
        if let Some(name) = from.strip_prefix("container:") {
            let _ = name;
            continue;
        }
        out.insert(from.split(':').next().unwrap_or(from).to_string());
    }
    if let Some(mode) = &service.network_mode {
        if let Some(name) = mode.strip_prefix("service:") {
            out.insert(name.to_string());
        }
    }
    out
}

/// Services in an order where each comes after its dependencies (ties by name).
pub fn start_order(services: &BTreeMap<String, Service>) -> Result<Vec<String>> {
    check_cycles(services)?;
    let mut done: Vec<String> = Vec::new();
    let mut left: Vec<&String> = services.keys().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|name| {
            let ready = dependencies(&services[*name])
                .iter()
                .all(|d| done.contains(d) || !services.contains_key(d));
            if ready {
                done.push((*name).clone());
            }
            !ready
        });
        if left.len() == before {
            // Unreachable after check_cycles; kept so a bug cannot loop forever.
            return Err(Error::Cycle(
                left.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
    }
    Ok(done)
}

/// Fails on the first cycle found, naming it `a -> b -> a`.
pub fn check_cycles(services: &BTreeMap<String, Service>) -> Result<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        name: &str,
        services: &BTreeMap<String, Service>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Result<()> {
        match marks.get(name).copied().unwrap_or(Mark::New) {
            Mark::Done => return Ok(()),
            Mark::Active => {
                let start = path.iter().position(|p| p == name).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(name.to_string());
                return Err(Error::Cycle(cycle.join(" -> ")));
            }
            Mark::New => {}
        }
        let Some(service) = services.get(name) else {
            return Ok(());
        };
        marks.insert(name.to_string(), Mark::Active);
        path.push(name.to_string());
        for dep in dependencies(service) {
            visit(&dep, services, marks, path)?;
        }
        path.pop();
        marks.insert(name.to_string(), Mark::Done);
        Ok(())
    }
    let mut marks = BTreeMap::new();
    for name in services.keys() {
        visit(name, services, &mut marks, &mut Vec::new())?;
    }
    Ok(())
}

/// For stopping: each service's wave, 0 for services nothing depends on, else one more
/// than the latest of its dependents, so a wave can stop all at once after the earlier
/// ones (dependents before what they need).
pub fn stop_waves(services: &BTreeMap<String, Service>) -> BTreeMap<String, usize> {
    let order = start_order(services).unwrap_or_else(|_| services.keys().cloned().collect());
    let mut waves: BTreeMap<String, usize> = BTreeMap::new();
    // Reverse start order visits every dependent before what it depends on.
    for name in order.iter().rev() {
        let wave = services
            .iter()
            .filter(|(_, s)| dependencies(s).contains(name))
            .filter_map(|(other, _)| waves.get(other).map(|w| w + 1))
            .max()
            .unwrap_or(0);
        waves.insert(name.clone(), wave);
    }
    waves
}
