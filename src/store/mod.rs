//! SQLite storage: one connection, migrations applied at open, typed queries.

mod cases;
mod curation;
pub mod errors;
mod eval_runs;
pub mod exports;
mod judgments;
mod reviews;
mod rubrics;

pub use cases::{
    CaseFilter, CaseInserter, CaseSummary, EncodedCase, category_matches, insert_case,
};
pub use curation::{AnswerRevision, Collection, CurrentAnswers, DerivedLink};
pub use eval_runs::{EvalRun, JudgeIdentity, NewEvalRun};
pub use judgments::{LOW_MARGIN, ModelView};
pub use rubrics::{
    RubricSummary, StoredRubric, check_rubric_name, is_case_rubric_name, parse_rubric_ref,
};

use anyhow::{Context, Result, bail};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
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
        "0003_case_category",
        include_str!("../../migrations/0003_case_category.sql"),
    ),
    (
        "0004_judge_profiles",
        include_str!("../../migrations/0004_judge_profiles.sql"),
    ),
    (
        "0005_curation",
        include_str!("../../migrations/0005_curation.sql"),
    ),
    (
        "0006_review_actions_blind",
        include_str!("../../migrations/0006_review_actions_blind.sql"),
    ),
    // After 0006, which rebuilds `reviews` (and with it drops any trigger on the old table).
    (
        "0007_append_only_replace_exports",
        include_str!("../../migrations/0007_append_only_replace_exports.sql"),
    ),
    (
        "0008_eval_runs",
        include_str!("../../migrations/0008_eval_runs.sql"),
    ),
    (
        "0009_content_hash_blob",
        include_str!("../../migrations/0009_content_hash_blob.sql"),
    ),
    (
        "0010_case_indexes",
        include_str!("../../migrations/0010_case_indexes.sql"),
    ),
    (
        "0011_case_label_check",
        include_str!("../../migrations/0011_case_label_check.sql"),
    ),
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How [`Store::open_with`] treats a missing file or someone else's SQLite file.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Create the file (and its folder) when it does not exist.
    pub create: bool,
    /// Add rubricate's tables to a SQLite file that already holds other tables.
    pub init: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: true,
            init: false,
        }
    }
}

/// Refuse a SQLite file that is not rubricate's: it has tables but no `cases` table, or
/// its `user_version` is set without them (another program's own schema counter). An
/// empty file (new, or zero bytes) is fine. `init` allows the first kind only, since a
/// foreign `user_version` would make the migrations skip steps.
fn check_ours(conn: &Connection, path: &Path, init: bool) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .with_context(|| format!("cannot read database {}", path.display()))?;
    let objects: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
    let has_cases: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cases')",
        [],
        |r| r.get(0),
    )?;
    if version > SCHEMA_VERSION {
        // Checked here, before anything is written (the switch to WAL would be).
        bail!(
            "{} has schema version {version}, but this rubricate only knows up to {SCHEMA_VERSION}: \
             it was written by a newer rubricate (or by another program). Nothing was changed. \
             Upgrade rubricate, or use another database with --db.",
            path.display()
        );
    }
    if objects == 0 && version == 0 || has_cases && version > 0 {
        return Ok(());
    }
    if version != 0 {
        bail!(
            "{} is a SQLite database of another program (schema version {version}, no rubricate tables); \
             rubricate leaves it alone. Pass --db with a new path to create a rubricate database.",
            path.display()
        );
    }
    if !init {
        bail!(
            "{} is a SQLite database without rubricate's tables ({objects} other table(s), index(es) or view(s)); nothing was changed. \
             Pass --db with a new path to create a rubricate database, or --init to add rubricate's tables \
             to this file (it is then switched to WAL mode).",
            path.display()
        );
    }
    Ok(())
}

pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    /// A SQLite file that holds other tables is refused (see [`Store::open_with`]).
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, &OpenOptions::default())
    }

    /// Open the database at `path`. Without `options.create` a missing file is an error
    /// (the caller explains it); with it the file and its folder are created. A SQLite file
    /// with tables but without rubricate's schema is refused unless `options.init`, before
    /// anything is written to it (not even the switch to WAL).
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Store> {
        if options.create {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!(
                        "cannot create the folder for the database: {}",
                        dir.display()
                    )
                })?;
            }
        } else if !path.exists() {
            bail!("no database at {}", path.display());
        }
        let flags = if options.create {
            OpenFlags::default()
        } else {
            OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE
        };
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        check_ours(&conn, path, options.init)?;
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
        self.conn
            .busy_timeout(Duration::from_secs(errors::LOCK_WAIT_SECS))?;
        // Without the query planner stability guarantee, SQLite (3.50+) marks every
        // `column = ?` term as "plan may depend on the bound value", and then
        // `sqlite3_clear_bindings` — which rusqlite's statement cache calls each time a
        // cached statement is returned — expires the statement: every `prepare_cached`
        // query was parsed and planned again on every use (half of an export's time).
        // Our queries are written for their indexes; a plan that ignores bound values is
        // what we want anyway.
        self.conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
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
    if current == known {
        return Ok(());
    }
    // A migration that rebuilds a table other tables point at (0009 rebuilds `cases`) must
    // run with foreign keys off, as SQLite's documented procedure for schema changes says:
    // otherwise dropping the old table deletes, or refuses to delete, every row that
    // judgments and reviews refer to. The pragma cannot change inside a transaction, so it
    // is switched off around all of them, and each migration checks the keys itself before
    // it commits.
    let foreign_keys: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = apply_migrations(conn, migrations, current, known);
    conn.pragma_update(None, "foreign_keys", foreign_keys)?;
    result
}

fn apply_migrations(
    conn: &mut Connection,
    migrations: &[(&str, &str)],
    current: i64,
    known: i64,
) -> Result<()> {
    for (index, (name, sql)) in migrations.iter().enumerate().skip(current as usize) {
        let applied = conn.transaction().and_then(|tx| {
            let dangling = |tx: &rusqlite::Transaction| -> rusqlite::Result<i64> {
                tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
            };
            // Only what the migration itself broke counts: a database with older dangling
            // references (written with foreign keys off elsewhere) can still be upgraded.
            let before = dangling(&tx)?;
            tx.execute_batch(sql)?;
            let broken = dangling(&tx)? - before;
            if broken > 0 {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "{broken} row(s) would refer to rows that no longer exist"
                    )),
                ));
            }
            tx.pragma_update(None, "user_version", (index + 1) as i64)?;
            tx.commit()
        });
        if let Err(e) = applied {
            // The SQL goes to the log, not the terminal: it is forty lines the user cannot act on.
            let log = crate::logging::append_line(&format!(
                "migration {name} failed: {e}\n--- SQL of {name} ---\n{sql}\n--- end of {name} ---"
            ));
            let log = log.map_or_else(
                || "the log could not be written".to_string(),
                |p| format!("the log {} has the SQL and the full error", p.display()),
            );
            // SqlInputError's text quotes the SQL: keep only its message for the terminal.
            let cause = match e {
                rusqlite::Error::SqlInputError { .. } => {
                    anyhow::Error::msg(errors::short_message(&e))
                }
                other => anyhow::Error::new(other),
            };
            return Err(cause.context(format!(
                "cannot update the database schema: migration {name} (step {} of {known}) failed. \
                 Nothing of that migration was applied (each one runs in its own transaction); \
                 {log}. Back the database up and report this, or open another database with --db. Cause",
                index + 1,
            )));
        }
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
