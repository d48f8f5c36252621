//! What every subcommand needs: where the database is and who is reviewing.

use crate::cli::GlobalArgs;
use crate::paths;
use crate::store::Store;
use anyhow::Result;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Context {
    pub db_path: PathBuf,
    pub reviewer: String,
    /// Whether the reviewer was named (`--reviewer` or `RUBRICATE_REVIEWER`) rather than
    /// defaulted to the login name: export and stats then filter by it.
    pub reviewer_given: bool,
}

impl Context {
    pub fn from_args(global: &GlobalArgs) -> Result<Context> {
        Ok(Context {
            db_path: match &global.db {
                Some(p) => p.clone(),
                None => paths::default_db()?,
            },
            reviewer: global
                .reviewer
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(paths::default_reviewer),
            reviewer_given: global
                .reviewer
                .as_ref()
                .is_some_and(|r| !r.trim().is_empty()),
        })
    }

    pub fn open_store(&self) -> Result<Store> {
        Store::open(&self.db_path)
    }
}
