//! JSON shapes of Engine API responses, field names exactly as the spec spells them.

pub mod container;
pub mod events;
pub mod image;
pub mod nullable;
pub mod system;
