//! The container's log: the json-file log or syslog, as `--log-driver` says.

use std::io;

use berth_shim::ShimOptions;

use super::logfile::{JsonLog, Stream};
use super::syslog::Syslog;

pub enum Logger {
    JsonFile(JsonLog),
    Syslog(Syslog),
}

impl Logger {
    /// Opens the configured log; `None` for `--log-driver none`. The error is the
    /// message for the launch result.
    pub fn open(opts: &ShimOptions) -> Result<Option<Logger>, String> {
        if !opts.log {
            return Ok(None);
        }
        match &opts.syslog {
            Some(syslog) => Syslog::open(syslog, &opts.id)
                .map(|s| Some(Logger::Syslog(s)))
                .map_err(|e| format!("failed to initialize logging driver: {e}")),
            None => JsonLog::open(&opts.log_path(), opts.log_max_size, opts.log_max_file)
                .map(|l| Some(Logger::JsonFile(l)))
                .map_err(|e| format!("opening the log: {e}")),
        }
    }

    /// Logs a chunk of output (complete lines now, the rest later).
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        match self {
            Logger::JsonFile(l) => l.write(stream, data),
            Logger::Syslog(s) => {
                s.write(stream, data);
                Ok(())
            }
        }
    }

    /// At exit: writes out unfinished lines.
    pub fn flush_partial(&mut self) -> io::Result<()> {
        match self {
            Logger::JsonFile(l) => l.flush_partial(),
            Logger::Syslog(s) => {
                s.finish();
                Ok(())
            }
        }
    }
}
