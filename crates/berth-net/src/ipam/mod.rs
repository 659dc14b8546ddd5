//! IP address management: one pool (subnet, gateway, optional `--ip-range`) per network,
//! persisted as `<dir>/<network-id>.json` and rewritten atomically on every change, so
//! allocations survive daemon restarts and crashes.
//!
//! Concurrency: every read-modify-write of a pool runs under an exclusive `flock` on
//! `<network-id>.lock`, and pool creation under `pools.lock`, so parallel container starts
//! (threads or processes) never receive the same address or overlapping subnets.
//!
//! Allocation is sequential from the last address handed out, wrapping around (as Docker
//! does), so a just-released address is not reused at once.

mod lock;
mod pools;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::subnet::Subnet;
use lock::FileLock;

pub use pools::{choose_subnet, default_pools, host_subnets, AddressPool};

/// Owner name recorded for a network's gateway address.
pub const GATEWAY_OWNER: &str = "gateway";

#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("corrupt IPAM record {}: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("invalid network ID for IPAM: {0:?}")]
    InvalidNetworkId(String),
    #[error("no IPAM pool for network {0}")]
    NoSuchPool(String),
    #[error("IPAM pool for network {0} already exists")]
    PoolExists(String),
    #[error("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")]
    NoFreeSubnet,
    #[error("invalid pool request: Pool overlaps with other one on this address space ({subnet} overlaps {other})")]
    Overlap { subnet: Subnet, other: Subnet },
    #[error("no matching subnet for gateway {gateway} (subnet {subnet})")]
    GatewayOutsideSubnet { gateway: Ipv4Addr, subnet: Subnet },
    #[error("ip-range {range} is not inside subnet {subnet}")]
    RangeOutsideSubnet { range: Subnet, subnet: Subnet },
    #[error("no configured subnet or ip-range contain the IP address {ip}")]
    AddressOutsideSubnet { ip: Ipv4Addr },
    #[error("Address already in use: {ip}")]
    AddressInUse { ip: Ipv4Addr },
    #[error("no available IPv4 addresses on this network's address pools: {network} ({range})")]
    Exhausted { network: String, range: Subnet },
}

impl IpamError {
    /// True for errors caused by the request (Docker answers 400/403), not by the host.
    pub fn is_invalid_request(&self) -> bool {
        matches!(
            self,
            IpamError::Overlap { .. }
                | IpamError::GatewayOutsideSubnet { .. }
                | IpamError::RangeOutsideSubnet { .. }
                | IpamError::AddressOutsideSubnet { .. }
                | IpamError::AddressInUse { .. }
        )
    }
}

/// The persisted state of one network's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub network: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// Dynamic allocations come from here (`--ip-range`); `--ip` may use the whole subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<Subnet>,
    /// The last address handed out dynamically (the sequential cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Ipv4Addr>,
    /// Every address in use and who holds it (an endpoint ID, or [`GATEWAY_OWNER`]).
    #[serde(default)]
    pub allocated: BTreeMap<Ipv4Addr, String>,
}

impl Pool {
    fn usable(&self, ip: Ipv4Addr) -> bool {
        self.subnet.contains(ip)
            && (self.subnet.prefix() >= 31
                || (ip != self.subnet.addr() && ip != self.subnet.broadcast()))
    }
}

/// What a new network asks of IPAM. Everything is optional, as with `network create`.
#[derive(Debug, Clone, Default)]
pub struct PoolRequest {
    pub subnet: Option<Subnet>,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<Subnet>,
    /// Subnets to stay away from when choosing one (the host's routes and addresses).
    pub avoid: Vec<Subnet>,
}

/// The IPAM state folder.
#[derive(Debug, Clone)]
pub struct Ipam {
    dir: PathBuf,
    pools: Vec<AddressPool>,
}

impl Ipam {
    /// Opens (and creates) the folder; `pools` are the address pools to choose subnets
    /// from ([`default_pools`] unless daemon.json says otherwise).
    pub fn open(dir: impl Into<PathBuf>, pools: Vec<AddressPool>) -> Result<Ipam, IpamError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| IpamError::Io {
            what: "create IPAM folder",
            path: dir.clone(),
            source,
        })?;
        let _ = atomic::clean_temporaries(&dir);
        Ok(Ipam { dir, pools })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn record_path(&self, network: &str) -> PathBuf {
        self.dir.join(format!("{network}.json"))
    }

    fn lock(&self, name: &str) -> Result<FileLock, IpamError> {
        let path = self.dir.join(format!("{name}.lock"));
        FileLock::exclusive(&path).map_err(|source| IpamError::Io {
            what: "lock",
            path,
            source,
        })
    }

    fn read(&self, network: &str) -> Result<Pool, IpamError> {
        let path = self.record_path(network);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(IpamError::NoSuchPool(network.to_string()))
            }
            Err(source) => {
                return Err(IpamError::Io {
                    what: "read IPAM record",
                    path,
                    source,
                })
            }
        };
        serde_json::from_slice(&bytes).map_err(|source| IpamError::Corrupt { path, source })
    }

    /// Rewrites a pool. `durable` for the pool itself (network create); address changes
    /// of containers are only made atomic, not synced: they must survive a daemon
    /// restart, which the page cache does, and a host crash ends the containers (the
    /// engine's `retain` at start frees what is left). Two fsyncs per start and per exit
    /// were most of the network set-up time.
    fn write(&self, pool: &Pool, durable: bool) -> Result<(), IpamError> {
        let path = self.record_path(&pool.network);
        let bytes = serde_json::to_vec_pretty(pool).expect("IPAM pool serializes");
        let written = if durable {
            atomic::write_file(&path, &bytes)
        } else {
            atomic::replace_file(&path, &bytes)
        };
        written.map_err(|source| IpamError::Io {
            what: "write IPAM record",
            path,
            source,
        })
    }

    /// Every pool on record.
    pub fn list(&self) -> Result<Vec<Pool>, IpamError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| IpamError::Io {
            what: "list IPAM folder",
            path: self.dir.clone(),
            source,
        })?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(network) = name.strip_suffix(".json") {
                if network.starts_with('.') {
                    continue;
                }
                match self.read(network) {
                    Ok(pool) => out.push(pool),
                    Err(IpamError::NoSuchPool(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        out.sort_by_key(|pool| pool.subnet);
        Ok(out)
    }

    /// The pool of `network`.
    pub fn pool(&self, network: &str) -> Result<Pool, IpamError> {
        check_id(network)?;
        self.read(network)
    }

    /// Creates the pool of a new network: the requested subnet (checked against the other
    /// pools) or the first free one of the address pools, the gateway (`.1` unless given)
    /// reserved. Idempotent for an identical request on the same network.
    pub fn create_pool(&self, network: &str, request: &PoolRequest) -> Result<Pool, IpamError> {
        check_id(network)?;
        let _guard = self.lock("pools")?;
        let others = self.list()?;
        if let Some(existing) = others.iter().find(|pool| pool.network == network) {
            let same = request.subnet.is_none_or(|s| s == existing.subnet)
                && request.gateway.is_none_or(|g| g == existing.gateway)
                && request.ip_range == existing.ip_range;
            return if same {
                Ok(existing.clone())
            } else {
                Err(IpamError::PoolExists(network.to_string()))
            };
        }
        let subnet = match request.subnet {
            Some(subnet) => {
                if let Some(other) = others.iter().find(|pool| pool.subnet.overlaps(&subnet)) {
                    return Err(IpamError::Overlap {
                        subnet,
                        other: other.subnet,
                    });
                }
                subnet
            }
            None => {
                let mut taken: Vec<Subnet> = others.iter().map(|pool| pool.subnet).collect();
                taken.extend(request.avoid.iter().copied());
                choose_subnet(&self.pools, &taken).ok_or(IpamError::NoFreeSubnet)?
            }
        };
        let gateway = request.gateway.unwrap_or_else(|| subnet.first_host());
        if !subnet.contains(gateway) {
            return Err(IpamError::GatewayOutsideSubnet { gateway, subnet });
        }
        if let Some(range) = request.ip_range {
            if !subnet.contains_subnet(&range) {
                return Err(IpamError::RangeOutsideSubnet { range, subnet });
            }
        }
        let mut pool = Pool {
            network: network.to_string(),
            subnet,
            gateway,
            ip_range: request.ip_range,
            last: None,
            allocated: BTreeMap::new(),
        };
        pool.allocated.insert(gateway, GATEWAY_OWNER.to_string());
        self.write(&pool, true)?;
        Ok(pool)
    }

    /// Forgets a network's pool (all its addresses). Missing is not an error.
    pub fn delete_pool(&self, network: &str) -> Result<(), IpamError> {
        check_id(network)?;
        let _guard = self.lock("pools")?;
        let _pool_guard = self.lock(network)?;
        for path in [
            self.record_path(network),
            self.dir.join(format!("{network}.lock")),
        ] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(IpamError::Io {
                        what: "remove IPAM record",
                        path,
                        source,
                    })
                }
            }
        }
        Ok(())
    }

    /// Allocates an address of `network` for `owner`: exactly `requested` (anywhere in the
    /// subnet, `--ip`), or the next free one of the ip-range (or subnet).
    pub fn allocate(
        &self,
        network: &str,
        owner: &str,
        requested: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr, IpamError> {
        check_id(network)?;
        let _guard = self.lock(network)?;
        let mut pool = self.read(network)?;
        let ip = match requested {
            Some(ip) => {
                if !pool.usable(ip) {
                    return Err(IpamError::AddressOutsideSubnet { ip });
                }
                if pool.allocated.contains_key(&ip) {
                    return Err(IpamError::AddressInUse { ip });
                }
                ip
            }
            None => next_free(&pool).ok_or_else(|| IpamError::Exhausted {
                network: network.to_string(),
                range: pool.ip_range.unwrap_or(pool.subnet),
            })?,
        };
        pool.allocated.insert(ip, owner.to_string());
        if requested.is_none() {
            pool.last = Some(ip);
        }
        self.write(&pool, false)?;
        Ok(ip)
    }

    /// Gives an address back. Releasing a free address (or the gateway) changes nothing.
    pub fn release(&self, network: &str, ip: Ipv4Addr) -> Result<(), IpamError> {
        check_id(network)?;
        let _guard = self.lock(network)?;
        let mut pool = match self.read(network) {
            Ok(pool) => pool,
            Err(IpamError::NoSuchPool(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        if pool
            .allocated
            .get(&ip)
            .is_some_and(|owner| owner != GATEWAY_OWNER)
            && pool.allocated.remove(&ip).is_some()
        {
            self.write(&pool, false)?;
        }
        Ok(())
    }

    /// Releases every address `owner` holds on `network` (cleanup after a crash).
    pub fn release_owner(&self, network: &str, owner: &str) -> Result<Vec<Ipv4Addr>, IpamError> {
        check_id(network)?;
        let _guard = self.lock(network)?;
        let mut pool = self.read(network)?;
        let freed: Vec<Ipv4Addr> = pool
            .allocated
            .iter()
            .filter(|(_, holder)| holder.as_str() == owner)
            .map(|(ip, _)| *ip)
            .collect();
        if !freed.is_empty() {
            for ip in &freed {
                pool.allocated.remove(ip);
            }
            self.write(&pool, false)?;
        }
        Ok(freed)
    }

    /// Keeps only the addresses whose owner `keep` accepts (and the gateway): the engine
    /// calls it at start with the endpoints that still exist. Returns what was freed.
    pub fn retain(
        &self,
        network: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Ipv4Addr>, IpamError> {
        check_id(network)?;
        let _guard = self.lock(network)?;
        let mut pool = self.read(network)?;
        let freed: Vec<Ipv4Addr> = pool
            .allocated
            .iter()
            .filter(|(_, owner)| owner.as_str() != GATEWAY_OWNER && !keep(owner))
            .map(|(ip, _)| *ip)
            .collect();
        if !freed.is_empty() {
            for ip in &freed {
                pool.allocated.remove(ip);
            }
            self.write(&pool, false)?;
        }
        Ok(freed)
    }
}

/// The next free address after the cursor, wrapping once around the range.
fn next_free(pool: &Pool) -> Option<Ipv4Addr> {
    let range = pool.ip_range.unwrap_or(pool.subnet);
    let size = range.size();
    let start = pool
        .last
        .and_then(|last| range.offset_of(last))
        .map_or(0, |offset| offset + 1);
    (0..size)
        .map(|step| (start + step) % size)
        .filter_map(|offset| range.nth(offset))
        .find(|ip| pool.usable(*ip) && !pool.allocated.contains_key(ip))
}

fn check_id(network: &str) -> Result<(), IpamError> {
    let ok = !network.is_empty()
        && !network.starts_with('.')
        && network
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(IpamError::InvalidNetworkId(network.to_string()))
    }
}
