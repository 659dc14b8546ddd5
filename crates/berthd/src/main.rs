//! berthd: serves the Docker Engine API on unix sockets, TCP and TLS.

mod config;
mod flags;
mod listeners;
mod lock;
mod logging;
mod routes;
mod server;
mod tls;

use std::process::ExitCode;

use anyhow::Context;
use berth_engine::config::Reloadable;
use berth_engine::{Engine, EngineConfig};
use clap::{CommandFactory, FromArgMatches};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::config::DaemonConfig;
use crate::flags::Flags;
use crate::listeners::{HostAddr, Listener};

fn main() -> ExitCode {
    let matches = Flags::command().get_matches();
    let flags = match Flags::from_arg_matches(&matches) {
        Ok(flags) => flags,
        Err(e) => e.exit(),
    };
    let config = match DaemonConfig::load(flags, &matches) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            return ExitCode::from(1);
        }
    };
    let log_handle = logging::init(&config.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("berthd")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("berthd: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(config, log_handle)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("berthd: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(mut config: DaemonConfig, log_handle: logging::Handle) -> anyhow::Result<()> {
    let _lock = lock::lock_data_root(&config.data_root)?;
    let _pidfile = lock::PidFile::create(&config.pidfile)?;
    // Handlers go in before the socket appears: a client that sees the socket may signal
    // at once, and a signal during the engine's start must end in a clean exit, not the
    // default action that leaves socket and pidfile behind.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;

    let tls_acceptor = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let mut bound = Vec::new();
    let mut socket_paths = Vec::new();
    for host in &config.hosts {
        let addr = listeners::parse_host(host)?;
        if let HostAddr::Tcp(addr) = &addr {
            match &config.tls {
                Some(tls) if tls.client_ca.is_some() => {}
                Some(_) => tracing::warn!(
                    "tcp://{addr} uses TLS without client verification: anyone who can reach it controls this host; use --tlsverify"
                ),
                None => tracing::warn!(
                    "Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. (tcp://{addr})"
                ),
            }
        }
        let listener = listeners::bind(&addr, &config.group, config.group_explicit).await?;
        let tls = match (&listener, &tls_acceptor) {
            (Listener::Tcp { .. }, Some(acceptor)) => Some(acceptor.clone()),
            _ => None,
        };
        if let Listener::Unix { path, .. } = &listener {
            socket_paths.push(path.clone());
        }
        tracing::info!("API listening on {host}");
        bound.push((listener, tls));
    }

    // The engine opens only once every listener is bound: a daemon that cannot serve
    // (socket in use, bad address) leaves no bridge or firewall rule behind.
    let engine = Engine::open(engine_config(&config)).context("opening the engine state")?;
    engine.restore().await;

    let shutdown = CancellationToken::new();
    let state = routes::AppState {
        engine: engine.clone(),
        shutdown: shutdown.clone(),
    };
    let server = server::Server::new(routes::router(state), shutdown.clone());
    let serving = tokio::spawn(server.run(bound));

    tracing::info!("Daemon has completed initialization");
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => match config.reload() {
                Ok((debug, labels, log_level)) => {
                    logging::set_level(&log_handle, &log_level);
                    engine.reload(Reloadable { debug, labels: labels.clone(), log_level: log_level.clone() });
                    config.debug = debug;
                    config.labels = labels;
                    config.log_level = log_level;
                    tracing::info!("configuration reloaded from {}", config.config_file.display());
                }
                Err(e) => tracing::error!("reload of {} failed, keeping the running configuration: {e:#}", config.config_file.display()),
            },
        }
    }
    tracing::info!("Processing signal 'terminated'");
    shutdown.cancel();
    let _ = serving.await;
    engine.shutdown().await;
    engine.network_shutdown().await;
    for path in socket_paths {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("Daemon shutdown complete");
    Ok(())
}

fn engine_config(config: &DaemonConfig) -> EngineConfig {
    let mut engine = EngineConfig::new(config.data_root.clone(), config.exec_root.clone());
    engine.debug = config.debug;
    engine.log_level = config.log_level.clone();
    engine.labels = config.labels.clone();
    engine.registry_mirrors = config.registry_mirrors.clone();
    engine.insecure_registries = config.insecure_registries.clone();
    engine.registry_certs_dir = config.registry_certs_dir.clone();
    engine.live_restore = config.live_restore;
    engine.iptables = config.iptables;
    engine.log_driver = config.log_driver.clone();
    engine.log_opts = config.log_opts.clone();
    engine.network = config.network.clone();
    engine.default_address_pools = config.default_address_pools.clone();
    engine
}
