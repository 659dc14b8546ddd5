//! The daemon's core services. HTTP handlers in `berthd` parse a request, call one method
//! here and shape the answer; nothing in this crate knows about HTTP.

mod atomic;
pub mod build;
pub mod config;
pub mod containers;
pub mod events;
pub mod host;
pub mod identity;
pub mod images;
mod lifecycle;
pub mod networks;
pub mod system;
pub mod volumes;

pub use system::ObjectCounts;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub use config::EngineConfig;
pub use events::EventBus;

/// Everything the daemon serves, shared by all connections.
pub struct Engine {
    config: std::sync::RwLock<EngineConfig>,
    pub events: EventBus,
    /// Stable daemon ID, persisted in the data root (`/info` `ID`).
    id: String,
    host: host::HostFacts,
    images: Arc<berth_image::ImageStore>,
    pub(crate) registries: Arc<berth_image::registry::Registries>,
    pub(crate) containers: containers::Containers,
    pub(crate) runtime: Arc<RuntimeSettings>,
    pub(crate) stats_cache: containers::introspect::StatsCache,
    pub(crate) execs: containers::exec::Execs,
    pub(crate) networks: networks::Networks,
    pub(crate) volumes: volumes::Volumes,
    pub(crate) build_cache: Arc<berth_build::BuildCache>,
    shutting_down: AtomicBool,
}

/// What starting containers needs from the host, probed once.
pub struct RuntimeSettings {
    pub shim_binary: PathBuf,
    pub init_binary: PathBuf,
    pub host: berth_runtime::spec::HostInfo,
}

impl Engine {
    /// Opens the engine on its data root: creates the folders it owns and loads state.
    pub fn open(config: EngineConfig) -> std::io::Result<Arc<Engine>> {
        std::fs::create_dir_all(&config.data_root)?;
        std::fs::create_dir_all(&config.exec_root)?;
        let id = identity::load_or_create(&config.data_root)?;
        let images = berth_image::ImageStore::open(&config.data_root)
            .map_err(|e| std::io::Error::other(format!("opening the image store: {e}")))?;
        let containers = containers::load_all(&config.data_root, &config.exec_root);
        let networks = networks::open(
            &config.data_root,
            &id,
            &config.network,
            &config.default_address_pools,
        );
        let volumes = volumes::Volumes::open(&config.data_root, &containers)?;
        build::clean_leftovers(&config.data_root);
        let build_cache = Arc::new(berth_build::BuildCache::open(&build::builder_dir(
            &config.data_root,
        ))?);
        let runtime = Arc::new(RuntimeSettings {
            shim_binary: config.shim_binary.clone(),
            init_binary: config.init_binary.clone(),
            host: berth_runtime::spec::HostInfo::detect(),
        });
        let registries = Arc::new(berth_image::registry::Registries::new(
            berth_image::registry::RegistryConfig {
                mirrors: config.registry_mirrors.clone(),
                insecure: config.insecure_registries.clone(),
                certs_dir: config.registry_certs_dir.clone(),
            },
        ));
        Ok(Arc::new(Engine {
            registries,
            containers,
            runtime,
            stats_cache: Default::default(),
            execs: Default::default(),
            networks,
            volumes,
            build_cache,
            shutting_down: AtomicBool::new(false),
            images: Arc::new(images),
            config: std::sync::RwLock::new(config),
            events: EventBus::new(),
            id,
            host: host::HostFacts::probe(),
        }))
    }

    /// A snapshot of the current configuration.
    pub fn config(&self) -> EngineConfig {
        self.config.read().expect("config lock poisoned").clone()
    }

    /// Applies the settings dockerd reloads on SIGHUP (debug, labels, log level) and
    /// publishes the `reload` daemon event.
    pub fn reload(&self, reloadable: config::Reloadable) {
        {
            let mut config = self.config.write().expect("config lock poisoned");
            config.debug = reloadable.debug;
            config.labels = reloadable.labels;
            config.log_level = reloadable.log_level;
        }
        let name = self.host.hostname.clone();
        let attributes = [("name".to_string(), name)].into_iter().collect();
        self.events.publish_daemon("reload", &self.id, attributes);
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}
