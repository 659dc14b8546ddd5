//! The builder's pure parts: the Dockerfile parser and word expansion, `.dockerignore`
//! rules, build contexts (safe unpacking with checksums), the stage plan, what each
//! instruction does to the image config, and the persistent build cache. The engine
//! (`berth-engine::build`) executes the steps with real containers and layers.

pub mod archive;
pub mod cache;
pub mod context;
pub mod dispatch;
pub mod error;
pub mod git;
pub mod ignore;
pub mod parser;
pub mod plan;
pub mod tarctx;
pub mod words;

pub use cache::BuildCache;
pub use dispatch::{Action, CopySpec, Source, StageState};
pub use error::BuildError;
pub use ignore::IgnoreRules;
pub use parser::{parse, Dockerfile, Node};
pub use plan::{Plan, Stage};
pub use words::Lexer;
