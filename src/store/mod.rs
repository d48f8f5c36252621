//! SQLite storage: one connection, migrations applied at open, typed queries.

mod cases;
mod curation;
mod eval_runs;
mod judgments;
mod reviews;
mod rubrics;

pub use cases::{CaseFilter, CaseSummary, insert_case};
pub use curation::{AnswerRevision, Collection, CurrentAnswers, DerivedLink};
pub use eval_runs::{EvalRun, JudgeIdentity, NewEvalRun};
pub use judgments::{LOW_MARGIN, ModelView};
pub use rubrics::{
    RubricSummary, StoredRubric, check_rubric_name, is_case_rubric_name, parse_rubric_ref,
};

use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Migrations in order; `PRAGMA user_version` records how many are applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_cases_judgments",
        include_str!("../../migrations/0001_cases_judgments.sql"),
    ),
    (
        "0002_reviews_rubrics",
        include_str!("../../migrations/0002_reviews_rubrics.sql"),
    ),
    (
        "0005_case_category",
        include_str!("../../migrations/0005_case_category.sql"),
    ),
    // Numbers are per engineer, not order: the list order is what `user_version` counts.
    (
        "0003_judge_profiles",
        include_str!("../../migrations/0003_judge_profiles.sql"),
    ),
    (
        "0008_curation",
        include_str!("../../migrations/0008_curation.sql"),
    ),
    (
        "0007_review_actions_blind",
        include_str!("../../migrations/0007_review_actions_blind.sql"),
    ),
    (
        "0006_eval_runs",
        include_str!("../../migrations/0006_eval_runs.sql"),
    ),
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "cannot create the folder for the database: {}",
                    dir.display()
                )
            })?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        let mut store = Store {
            conn,
            path: Some(path.to_path_buf()),
        };
        store
            .configure(true)
            .with_context(|| format!("database {}", path.display()))?;
        Ok(store)
    }

    /// A throwaway database for tests.
    pub fn open_in_memory() -> Result<Store> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: None,
        };
        store.configure(false)?;
        Ok(store)
    }

    fn configure(&mut self, wal: bool) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(5))?;
        // Only takes effect on a new, empty database (before WAL is switched on): cases are
        // about a kilobyte each, and 8 KiB pages made bulk imports 13-16 % faster here.
        self.conn.pragma_update(None, "page_size", 8192)?;
        if wal {
            let mode: String = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!("SQLite refused WAL mode; journal mode is {mode}");
            }
        }
        self.conn.pragma_update(None, "foreign_keys", true)?;
        // FULL syncs the WAL at every commit, so a decision that was reported saved survives
        // a power cut too, not only a process crash. Decisions are a few per minute and an
        // import is one transaction per file, so the extra fsync per commit costs nothing noticeable.
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut self.conn, MIGRATIONS)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

/// Apply the migrations not yet recorded in `user_version`, each in its own transaction.
/// A database from a newer rubricate is refused rather than guessed at.
pub fn migrate(conn: &mut Connection, migrations: &[(&str, &str)]) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = migrations.len() as i64;
    if current > known {
        bail!(
            "this database has schema version {current}, but this rubricate only knows up to {known}: \
             it was written by a newer rubricate. Upgrade rubricate, or use another database with --db."
        );
    }
    for (index, (name, sql)) in migrations.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("migration {name} failed"))?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Current UTC time in the same format the schema's defaults use.
pub fn now_timestamp(conn: &Connection) -> Result<String> {
    Ok(
        conn.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |r| {
            r.get(0)
        })?,
    )
}
