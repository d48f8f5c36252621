//! Logs go to a file, never to the terminal: the workbench owns the screen and the CLI's
//! stderr carries progress and errors. llama.cpp's own messages arrive through tracing
//! (see `judge::engine`), so they land in the same file.

use crate::paths;
use tracing::Level;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Environment variable with a filter such as `debug` or `info,llama-cpp-2=debug`.
pub const LOG_ENV: &str = "RUBRICATE_LOG";
pub const LOG_FILE: &str = "rubricate.log";

/// Route tracing (rubricate and llama.cpp) to `rubricate.log` in `paths::log_dir()`.
/// Keep the guard alive until exit so buffered lines are written. `None` when there is
/// nowhere to write (logging is then off, which is never a reason to fail).
pub fn init_logging() -> Option<WorkerGuard> {
    let dir = paths::log_dir().ok()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, LOG_FILE);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = std::env::var(LOG_ENV)
        .ok()
        .and_then(|s| s.parse::<Targets>().ok())
        // llama.cpp is chatty at info level (a line per tensor while loading).
        .unwrap_or_else(|| {
            Targets::new()
                .with_default(Level::INFO)
                .with_target("llama-cpp-2", Level::WARN)
        });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(filter)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Append one entry to the log file directly (no tracing subscriber needed), for failures
/// whose details are too long for the terminal. Returns the log's path when it was written.
pub fn append_line(text: &str) -> Option<std::path::PathBuf> {
    use std::io::Write;
    let dir = paths::log_dir().ok()?;
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(LOG_FILE);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    writeln!(f, "[unix time {secs}] ERROR {text}").ok()?;
    Some(path)
}
