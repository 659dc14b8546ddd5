//! Daemon logs to stderr with a level that SIGHUP can change.

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{reload, Registry};

pub type Handle = reload::Handle<LevelFilter, Registry>;

pub fn init(level: &str) -> Handle {
    let (filter, handle) = reload::Layer::new(parse(level));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
    handle
}

pub fn set_level(handle: &Handle, level: &str) {
    let _ = handle.modify(|filter| *filter = parse(level));
}

fn parse(level: &str) -> LevelFilter {
    match level {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" | "fatal" | "panic" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}
