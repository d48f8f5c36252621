//! The record of files written by `export --out`, so a later export can tell its own
//! earlier output (safe to replace) from a file someone else made or edited.

use super::Store;
use anyhow::Result;
use rusqlite::params;
use std::path::Path;

/// What an export wrote: where (absolute), its SHA-256 and size, and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRecord<'a> {
    pub path: &'a Path,
    pub sha256: &'a str,
    pub bytes: u64,
    pub records: u64,
    pub format: &'a str,
}

impl Store {
    pub fn record_export(&self, e: &ExportRecord) -> Result<()> {
        self.conn.execute(
            "INSERT INTO exports (path, sha256, bytes, records, format) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                e.path.to_string_lossy(),
                e.sha256,
                e.bytes as i64,
                e.records as i64,
                e.format
            ],
        )?;
        Ok(())
    }

    /// Whether an export from this database wrote exactly this content at this path.
    pub fn is_previous_export(&self, path: &Path, sha256: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM exports WHERE path = ?1 AND sha256 = ?2)",
            params![path.to_string_lossy(), sha256],
            |r| r.get(0),
        )?)
    }
}
