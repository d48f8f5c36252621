//! What every subcommand needs: where the database is and who is reviewing.

use crate::cli::GlobalArgs;
use crate::paths;
use crate::store::{OpenOptions, Store};
use anyhow::{Result, bail};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Context {
    pub db_path: PathBuf,
    pub reviewer: String,
    /// Whether the reviewer was named (`--reviewer` or `RUBRICATE_REVIEWER`) rather than
    /// defaulted to the login name: export and stats then filter by it.
    pub reviewer_given: bool,
    /// How the database was named: `Some("--db")` / `Some("RUBRICATE_DB")`, or `None` for
    /// the default path. A named database that does not exist is a typo until shown
    /// otherwise, so only `import` and the workbench create one.
    pub db_named_by: Option<&'static str>,
    /// `--init`: take over a SQLite file that holds other tables.
    pub init: bool,
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
            db_named_by: global.db.as_ref().map(|_| {
                let flag = std::env::args_os()
                    .any(|a| a == "--db" || a.to_string_lossy().starts_with("--db="));
                if flag { "--db" } else { "RUBRICATE_DB" }
            }),
            init: global.init,
            reviewer_given: global
                .reviewer
                .as_ref()
                .is_some_and(|r| !r.trim().is_empty()),
        })
    }

    /// Whose decisions `stats` and `export` count: every reviewer's merged by a policy
    /// with `--all-reviewers`, else the reviewer (named, or the login name, as `--help`
    /// says). Naming a reviewer on the command line together with `--all-reviewers` is
    /// refused rather than one silently ignored.
    pub fn reviewer_selection(
        &self,
        args: &crate::cli::ReviewerArgs,
    ) -> Result<crate::domain::ReviewerSelection> {
        use crate::domain::{MergePolicy, ReviewerSelection};
        if args.all_reviewers {
            let flag = std::env::args_os()
                .any(|a| a == "--reviewer" || a.to_string_lossy().starts_with("--reviewer="));
            if flag {
                bail!(
                    "--reviewer and --all-reviewers name different sets of decisions; give one \
                     (--all-reviewers merges every reviewer's, --merge picks how)"
                );
            }
            return Ok(ReviewerSelection::All(
                args.merge.unwrap_or(MergePolicy::Majority),
            ));
        }
        Ok(ReviewerSelection::One(self.reviewer.clone()))
    }

    /// Open the database for a command that works on existing data (stats, export, judge).
    /// A named database that does not exist is refused with the path tried; the default
    /// one is created, so a first run works.
    pub fn open_store(&self) -> Result<Store> {
        if let Some(by) = self.db_named_by
            && !self.db_path.exists()
        {
            bail!(
                "no database at {} (named by {by}); nothing was created. Check the path for a typo, \
                 or create it by importing cases: rubricate --db {} import FILE.jsonl",
                self.db_path.display(),
                self.db_path.display()
            );
        }
        self.open_store_creating()
    }

    /// Open the database, creating it (and its folder) when missing: `import` and the
    /// workbench, whose empty-database screen offers the sample cases.
    pub fn open_store_creating(&self) -> Result<Store> {
        Store::open_with(
            &self.db_path,
            &OpenOptions {
                create: true,
                init: self.init,
            },
        )
    }
}
