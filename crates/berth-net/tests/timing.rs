//! Measures per-container network setup (connect + publish one port) and teardown.
//! Not a pass/fail test (timing goals live in benchmarks): run with
//! `cargo test -p berth-net --release --test timing -- --ignored --nocapture`.

mod common;

use std::time::{Duration, Instant};

use berth_net::ports::{PortMapping, Protocol};
use berth_net::EndpointOptions;
use common::{driver, in_host, skip, spec, Ns};

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: median {:.2} ms, p90 {:.2} ms, min {:.2} ms ({} runs)",
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.9).as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples.len()
    );
}

#[test]
#[ignore = "measurement, run by hand"]
fn network_setup_time_per_container() {
    if skip() {
        return;
    }
    in_host(|_host| {
        let (driver, _dir) = driver("BERTH-T20");
        let net = driver.create_network(&spec("time", 60)).unwrap();
        let mut dns_net_spec = spec("timedns", 61);
        dns_net_spec.dns = true;
        let dns_net = driver.create_network(&dns_net_spec).unwrap();
        let mut plain_spec = spec("timeplain", 62);
        plain_spec.dns = false;
        let plain = driver.create_network(&plain_spec).unwrap();
        let mapping = PortMapping {
            protocol: Protocol::Tcp,
            container_port: 80,
            host_ip: None,
            host_ports: None,
        };
        for (label, network) in [
            ("default-bridge-like (no DNS)", &plain),
            ("user network (DNS)", &dns_net),
        ] {
            let (mut connect, mut publish, mut total, mut unpub, mut down) =
                (vec![], vec![], vec![], vec![], vec![]);
            for i in 0..40 {
                let c = Ns::new("t");
                let options = EndpointOptions {
                    container: format!("c{i}"),
                    ifname: "eth0".into(),
                    dns_names: vec![format!("c{i}")],
                    default_route: true,
                    ..EndpointOptions::default()
                };
                let start = Instant::now();
                let endpoint = driver.connect(network, &c.ns, &options).unwrap();
                let connected = Instant::now();
                let published = driver
                    .publish_ports(network, &endpoint, std::slice::from_ref(&mapping))
                    .unwrap();
                let done = Instant::now();
                let t = Instant::now();
                driver.unpublish(published).unwrap();
                unpub.push(t.elapsed());
                let t = Instant::now();
                driver.disconnect(network, &endpoint).unwrap();
                down.push(t.elapsed());
                connect.push(connected - start);
                publish.push(done - connected);
                total.push(done - start);
            }
            println!("-- {label}");
            report("connect", connect);
            report("publish 1 port", publish);
            report("connect + publish", total);
            report("unpublish", unpub);
            report("disconnect", down);
        }
        let allocations: Vec<Duration> = (0..40)
            .map(|i| {
                let start = Instant::now();
                let ip = driver
                    .ipam()
                    .allocate(&net.id, &format!("x{i}"), None)
                    .unwrap();
                let took = start.elapsed();
                driver.ipam().release(&net.id, ip).unwrap();
                took
            })
            .collect();
        println!("-- parts");
        report("IPAM allocate (persisted, fsynced)", allocations);
    });
}
