//! IPAM: addresses survive a reopen (daemon restart), requests and ranges are honoured,
//! and concurrent allocations never hand out an address twice.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use berth_net::ipam::{default_pools, AddressPool, Ipam, IpamError, PoolRequest};
use berth_net::Subnet;

fn subnet(text: &str) -> Subnet {
    text.parse().unwrap()
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

fn with_subnet(text: &str) -> PoolRequest {
    PoolRequest {
        subnet: Some(subnet(text)),
        ..PoolRequest::default()
    }
}

#[test]
fn allocations_survive_a_reopen_and_are_sequential() {
    let dir = tempfile::tempdir().unwrap();
    let ipam = Ipam::open(dir.path(), default_pools()).unwrap();
    let pool = ipam
        .create_pool("net1", &with_subnet("10.213.30.0/24"))
        .unwrap();
    assert_eq!(pool.gateway, ip("10.213.30.1"));
    assert_eq!(ipam.allocate("net1", "a", None).unwrap(), ip("10.213.30.2"));
    assert_eq!(ipam.allocate("net1", "b", None).unwrap(), ip("10.213.30.3"));
    ipam.release("net1", ip("10.213.30.2")).unwrap();
    drop(ipam);

    // A new daemon process reads the same folder.
    let ipam = Ipam::open(dir.path(), default_pools()).unwrap();
    let pool = ipam.pool("net1").unwrap();
    assert_eq!(
        pool.allocated.get(&ip("10.213.30.3")).map(String::as_str),
        Some("b")
    );
    assert!(!pool.allocated.contains_key(&ip("10.213.30.2")));
    // Sequential after the last one handed out, not the just-freed .2.
    assert_eq!(ipam.allocate("net1", "c", None).unwrap(), ip("10.213.30.4"));
    // No temporary files are left next to the records.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn requested_addresses_ranges_and_exhaustion() {
    let dir = tempfile::tempdir().unwrap();
    let ipam = Ipam::open(dir.path(), default_pools()).unwrap();
    ipam.create_pool(
        "net",
        &PoolRequest {
            subnet: Some(subnet("10.213.31.0/24")),
            gateway: Some(ip("10.213.31.254")),
            ip_range: Some(subnet("10.213.31.128/30")),
            avoid: vec![],
        },
    )
    .unwrap();
    // --ip may be anywhere in the subnet, outside the dynamic range too.
    assert_eq!(
        ipam.allocate("net", "fixed", Some(ip("10.213.31.10")))
            .unwrap(),
        ip("10.213.31.10")
    );
    assert!(matches!(
        ipam.allocate("net", "again", Some(ip("10.213.31.10"))),
        Err(IpamError::AddressInUse { .. })
    ));
    assert!(matches!(
        ipam.allocate("net", "gw", Some(ip("10.213.31.254"))),
        Err(IpamError::AddressInUse { .. })
    ));
    assert!(matches!(
        ipam.allocate("net", "out", Some(ip("10.213.32.1"))),
        Err(IpamError::AddressOutsideSubnet { .. })
    ));
    assert!(matches!(
        ipam.allocate("net", "bcast", Some(ip("10.213.31.255"))),
        Err(IpamError::AddressOutsideSubnet { .. })
    ));
    // Dynamic ones come from the /30 range only: 4 addresses.
    let got: Vec<Ipv4Addr> = (0..4)
        .map(|i| ipam.allocate("net", &format!("d{i}"), None).unwrap())
        .collect();
    assert_eq!(
        got,
        [
            "10.213.31.128",
            "10.213.31.129",
            "10.213.31.130",
            "10.213.31.131"
        ]
        .map(ip)
    );
    let err = ipam.allocate("net", "d4", None).unwrap_err();
    assert!(
        err.to_string().contains("no available IPv4 addresses"),
        "{err}"
    );
    // Releasing by owner frees the address for the next one.
    assert_eq!(
        ipam.release_owner("net", "d1").unwrap(),
        [ip("10.213.31.129")]
    );
    assert_eq!(
        ipam.allocate("net", "d5", None).unwrap(),
        ip("10.213.31.129")
    );
    // After a crash the engine keeps only live owners.
    let freed = ipam.retain("net", |owner| owner == "fixed").unwrap();
    assert_eq!(freed.len(), 4);
    let pool = ipam.pool("net").unwrap();
    assert_eq!(
        pool.allocated.len(),
        2,
        "fixed + gateway: {:?}",
        pool.allocated
    );
}

#[test]
fn subnets_come_from_the_pools_and_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let pools = vec![AddressPool {
        base: subnet("10.213.0.0/16"),
        size: 24,
    }];
    let ipam = Ipam::open(dir.path(), pools).unwrap();
    // The host uses 10.213.0.0/24 (a route): skipped.
    let avoid = PoolRequest {
        avoid: vec![subnet("10.213.0.0/24")],
        ..PoolRequest::default()
    };
    assert_eq!(
        ipam.create_pool("a", &avoid).unwrap().subnet,
        subnet("10.213.1.0/24")
    );
    assert_eq!(
        ipam.create_pool("b", &avoid).unwrap().subnet,
        subnet("10.213.2.0/24")
    );
    // Same request again for the same network: the same pool (idempotent).
    assert_eq!(
        ipam.create_pool("a", &avoid).unwrap().subnet,
        subnet("10.213.1.0/24")
    );
    let err = ipam
        .create_pool("c", &with_subnet("10.213.2.0/23"))
        .unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
    assert!(matches!(
        ipam.create_pool(
            "d",
            &PoolRequest {
                subnet: Some(subnet("10.213.9.0/24")),
                gateway: Some(ip("10.213.10.1")),
                ..PoolRequest::default()
            }
        ),
        Err(IpamError::GatewayOutsideSubnet { .. })
    ));
    ipam.delete_pool("a").unwrap();
    assert_eq!(
        ipam.create_pool("e", &avoid).unwrap().subnet,
        subnet("10.213.1.0/24")
    );
    assert!(matches!(
        ipam.create_pool("../x", &avoid),
        Err(IpamError::InvalidNetworkId(_))
    ));
}

#[test]
fn concurrent_allocations_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    // Two handles on one folder stand for two processes; each has several threads.
    let first = Arc::new(Ipam::open(dir.path(), default_pools()).unwrap());
    let second = Arc::new(Ipam::open(dir.path(), default_pools()).unwrap());
    first
        .create_pool("busy", &with_subnet("10.213.40.0/23"))
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let ipam = if t % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            std::thread::spawn(move || {
                (0..40)
                    .map(|i| ipam.allocate("busy", &format!("t{t}-{i}"), None).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for thread in threads {
        all.extend(thread.join().unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 320, "every allocation got its own address");
    let pool = first.pool("busy").unwrap();
    assert_eq!(
        pool.allocated.len(),
        321,
        "all of them (and the gateway) are on disk"
    );

    // Concurrent network creation picks different subnets.
    let pools = vec![AddressPool {
        base: subnet("10.213.128.0/17"),
        size: 24,
    }];
    let dir = tempfile::tempdir().unwrap();
    let ipam = Arc::new(Ipam::open(dir.path(), pools).unwrap());
    let creators: Vec<_> = (0..8)
        .map(|n| {
            let ipam = ipam.clone();
            std::thread::spawn(move || {
                ipam.create_pool(&format!("n{n}"), &PoolRequest::default())
                    .unwrap()
                    .subnet
            })
        })
        .collect();
    let subnets: HashSet<Subnet> = creators.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(subnets.len(), 8);
}
