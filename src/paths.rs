//! Where rubricate keeps its files by default.

use anyhow::{Result, anyhow};
use std::path::PathBuf;

pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_MODEL_SHA256: &str =
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

fn project_dirs() -> Result<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "rubricate")
        .ok_or_else(|| anyhow!("cannot find a home directory; pass --db and --model explicitly"))
}

/// The platform data dir, e.g. `~/.local/share/rubricate` on Linux.
pub fn data_dir() -> Result<PathBuf> {
    Ok(project_dirs()?.data_dir().to_path_buf())
}

pub fn default_db() -> Result<PathBuf> {
    Ok(data_dir()?.join("rubricate.db"))
}

pub fn default_model() -> Result<PathBuf> {
    Ok(data_dir()?.join("models").join(DEFAULT_MODEL_FILE))
}

/// Config file: `~/.config/rubricate/config.toml` on Linux.
pub fn config_file() -> Result<PathBuf> {
    Ok(project_dirs()?.config_dir().join("config.toml"))
}

/// Log folder (llama.cpp and rubricate logs), the platform state dir where there is one.
pub fn log_dir() -> Result<PathBuf> {
    let dirs = project_dirs()?;
    Ok(dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_dir())
        .join("logs"))
}

/// The reviewer name when none is given: the login name.
pub fn default_reviewer() -> String {
    whoami::username().unwrap_or_else(|_| "reviewer".to_string())
}
