//! Images: references and their normalization, image configs, and the image store with
//! load (docker save / OCI layout), save, import, tag, remove, prune, inspect, list and
//! history, on top of `berth-store`'s content and layer stores.
//!
//! The engine opens one [`ImageStore`] per data root and shares it (`Send + Sync`);
//! every operation is a blocking call, meant for `spawn_blocking`.

pub mod changes;
pub mod config;
pub mod derive;
pub mod error;
pub mod filters;
pub mod import;
pub mod load;
pub mod reference;
pub mod registry;
mod save;
pub mod store;

pub use config::ImageConfig;
pub use derive::ChildImage;
pub use error::ImageError;
pub use import::{repo_tag_reference, ImportOptions};
pub use load::LoadedImage;
pub use reference::{AnyReference, Reference, ReferenceError};
pub use store::view::ListOptions;
pub use store::{ContainerUse, Image, ImageRecord, ImageStore, LayerBlob, RemoveOptions};

pub use berth_store::Digest;

/// An image ID: the sha256 digest of the image's config bytes.
pub type ImageId = Digest;
