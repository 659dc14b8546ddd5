//! Network commands: `network create`, `network ls`, `network inspect`, `network rm`,
//! `network prune`, `network connect`, `network disconnect`.

pub mod connect;
pub mod create;
pub mod disconnect;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;
