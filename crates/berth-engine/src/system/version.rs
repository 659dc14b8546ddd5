use std::collections::BTreeMap;

use berth_api::build_info;
use berth_api::types::system::{ComponentVersion, Platform, SystemVersion};
use berth_api::ApiVersion;

use crate::Engine;

impl Engine {
    /// `GET /version`.
    pub fn version(&self) -> SystemVersion {
        let os = std::env::consts::OS.to_string();
        let arch = build_info::go_arch().to_string();
        let details: BTreeMap<String, String> = [
            ("ApiVersion", ApiVersion::MAX.to_string()),
            ("Arch", arch.clone()),
            ("BuildTime", build_info::BUILD_TIME.to_string()),
            ("Experimental", "false".to_string()),
            ("GitCommit", build_info::GIT_COMMIT.to_string()),
            ("GoVersion", build_info::RUSTC_VERSION.to_string()),
            ("KernelVersion", self.host.kernel_version.clone()),
            ("MinAPIVersion", ApiVersion::MIN.to_string()),
            ("Os", os.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        SystemVersion {
            platform: Platform {
                name: "Berth Engine".into(),
            },
            components: vec![ComponentVersion {
                name: "Engine".into(),
                version: build_info::VERSION.into(),
                details: Some(details),
            }],
            version: build_info::VERSION.into(),
            api_version: ApiVersion::MAX.to_string(),
            min_api_version: ApiVersion::MIN.to_string(),
            git_commit: build_info::GIT_COMMIT.into(),
            go_version: build_info::RUSTC_VERSION.into(),
            os,
            arch,
            kernel_version: self.host.kernel_version.clone(),
            experimental: false,
            build_time: build_info::BUILD_TIME.into(),
        }
    }
}
