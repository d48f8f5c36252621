//! The rubric library: named rubrics with numbered versions. Versions are append-only
//! (migration 0005); restoring an old version saves its text again as the newest.

use super::Store;
use anyhow::{Result, bail};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRubric {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub body: String,
    /// The case it was written for, if any.
    pub case_id: Option<i64>,
    pub author: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
}

impl StoredRubric {
    /// `name@version`, the form the command line takes.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// One line of the library listing: a name and its newest version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RubricSummary {
    pub name: String,
    pub latest_version: i64,
    pub versions: i64,
    pub updated_at: String,
    /// Judgments that were given a version of this rubric.
    pub judgments: i64,
}

const COLUMNS: &str = "id, name, version, body, case_id, author, note, created_at";

fn rubric_from_row(r: &Row) -> rusqlite::Result<StoredRubric> {
    Ok(StoredRubric {
        id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        body: r.get(3)?,
        case_id: r.get(4)?,
        author: r.get(5)?,
        note: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Rubric names are typed on the command line (`NAME@V`): one short visible word or phrase.
pub fn check_rubric_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!(
            "rubric name {:?} is not usable: use up to 64 letters, digits, '-', '_' or '.' \
             (e.g. math-correctness)",
            crate::sanitize::visible(name)
        );
    }
    Ok(())
}

/// Split `name` or `name@version`.
pub fn parse_rubric_ref(spec: &str) -> Result<(String, Option<i64>)> {
    match spec.rsplit_once('@') {
        Some((name, v)) => {
            let version: i64 = v
                .trim_start_matches(['v', 'V'])
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{:?}: the version after @ must be a positive number (e.g. safety@2)",
                        crate::sanitize::visible(spec)
                    )
                })?;
            check_rubric_name(name)?;
            Ok((name.to_string(), Some(version)))
        }
        None => {
            check_rubric_name(spec)?;
            Ok((spec.to_string(), None))
        }
    }
}

impl Store {
    /// Save a rubric as the next version of `name`; earlier versions stay.
    pub fn save_rubric(
        &self,
        name: &str,
        body: &str,
        case_id: Option<i64>,
    ) -> Result<StoredRubric> {
        self.save_rubric_by(name, body, case_id, None, None)
    }

    /// [`Store::save_rubric`] with who saved it and why.
    pub fn save_rubric_by(
        &self,
        name: &str,
        body: &str,
        case_id: Option<i64>,
        author: Option<&str>,
        note: Option<&str>,
    ) -> Result<StoredRubric> {
        if body.trim().is_empty() {
            bail!("a rubric cannot be empty");
        }
        let version: i64 = self.conn().query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM rubrics WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        self.conn().execute(
            "INSERT INTO rubrics (name, version, body, case_id, author, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, version, body, case_id, author, note],
        )?;
        let id = self.conn().last_insert_rowid();
        Ok(self.conn().query_row(
            &format!("SELECT {COLUMNS} FROM rubrics WHERE id = ?1"),
            [id],
            rubric_from_row,
        )?)
    }

    /// The newest version of `name` when it already has exactly `body`, else a new version
    /// (re-judging with an unchanged rubric adds no version).
    pub fn save_rubric_unless_same(
        &self,
        name: &str,
        body: &str,
        case_id: Option<i64>,
        author: Option<&str>,
    ) -> Result<StoredRubric> {
        match self.latest_rubric(name)? {
            Some(r) if r.body == body => Ok(r),
            _ => self.save_rubric_by(name, body, case_id, author, None),
        }
    }

    pub fn latest_rubric(&self, name: &str) -> Result<Option<StoredRubric>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM rubrics WHERE name = ?1 ORDER BY version DESC LIMIT 1"
                ),
                [name],
                rubric_from_row,
            )
            .optional()?)
    }

    pub fn rubric_by_id(&self, id: i64) -> Result<Option<StoredRubric>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM rubrics WHERE id = ?1"),
                [id],
                rubric_from_row,
            )
            .optional()?)
    }

    /// A rubric by `name` (newest version) or `name@version`; an unknown one is an error
    /// that says what exists.
    pub fn find_rubric(&self, spec: &str) -> Result<StoredRubric> {
        let (name, version) = parse_rubric_ref(spec)?;
        let found = match version {
            None => self.latest_rubric(&name)?,
            Some(v) => self
                .conn()
                .query_row(
                    &format!("SELECT {COLUMNS} FROM rubrics WHERE name = ?1 AND version = ?2"),
                    params![name, v],
                    rubric_from_row,
                )
                .optional()?,
        };
        if let Some(r) = found {
            return Ok(r);
        }
        let versions = self.rubric_versions(&name)?;
        if versions.is_empty() {
            bail!(
                "there is no rubric named {:?} (`rubricate rubrics list` shows the library)",
                crate::sanitize::visible(&name)
            );
        }
        bail!(
            "rubric {:?} has versions 1 to {}, not {}",
            crate::sanitize::visible(&name),
            versions.len(),
            version.unwrap_or_default()
        );
    }

    /// Every version of one rubric, oldest first.
    pub fn rubric_versions(&self, name: &str) -> Result<Vec<StoredRubric>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM rubrics WHERE name = ?1 ORDER BY version"
        ))?;
        Ok(stmt
            .query_map([name], rubric_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The library, one line per name. Rubrics saved automatically for a single case
    /// (`case-N`) are included only with `include_case_rubrics`.
    pub fn rubric_library(&self, include_case_rubrics: bool) -> Result<Vec<RubricSummary>> {
        let mut stmt = self.conn().prepare(
            "SELECT r.name, MAX(r.version), COUNT(*), MAX(r.created_at),
                    (SELECT COUNT(*) FROM judgments j JOIN rubrics r2 ON j.library_rubric_id = r2.id
                     WHERE r2.name = r.name)
             FROM rubrics r GROUP BY r.name ORDER BY r.name",
        )?;
        let all: Vec<RubricSummary> = stmt
            .query_map([], |r| {
                Ok(RubricSummary {
                    name: r.get(0)?,
                    latest_version: r.get(1)?,
                    versions: r.get(2)?,
                    updated_at: r.get(3)?,
                    judgments: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(all
            .into_iter()
            .filter(|s| include_case_rubrics || !is_case_rubric_name(&s.name))
            .collect())
    }
}

/// The workbench's automatic per-case saves are named `case-N`.
pub fn is_case_rubric_name(name: &str) -> bool {
    name.strip_prefix("case-")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbered_and_kept() {
        let s = Store::open_in_memory().unwrap();
        let v1 = s
            .save_rubric_by("safety", "1. no harm", None, Some("ann"), None)
            .unwrap();
        let v2 = s
            .save_rubric_by(
                "safety",
                "1. no harm\n2. cite",
                None,
                Some("bob"),
                Some("cites"),
            )
            .unwrap();
        assert_eq!((v1.version, v2.version), (1, 2));
        assert_eq!(v2.label(), "safety@2");
        assert_eq!(s.find_rubric("safety").unwrap(), v2);
        assert_eq!(s.find_rubric("safety@1").unwrap(), v1);
        assert_eq!(s.find_rubric("safety@v1").unwrap(), v1);
        let err = s.find_rubric("safety@3").unwrap_err().to_string();
        assert!(err.contains("1 to 2"), "{err}");
        let err = s.find_rubric("nope").unwrap_err().to_string();
        assert!(err.contains("rubrics list"), "{err}");
        assert!(s.find_rubric("safety@0").is_err());
        assert!(s.find_rubric("bad name@1").is_err());
        s.save_rubric("case-3", "x", None).unwrap();
        let lib = s.rubric_library(false).unwrap();
        assert_eq!(lib.len(), 1);
        assert_eq!((lib[0].latest_version, lib[0].versions), (2, 2));
        assert_eq!(s.rubric_library(true).unwrap().len(), 2);
        assert!(
            s.conn()
                .execute("UPDATE rubrics SET body = 'x'", [])
                .is_err()
        );
        assert!(s.conn().execute("DELETE FROM rubrics", []).is_err());
        assert!(s.save_rubric("safety", "  ", None).is_err());
        let same = s
            .save_rubric_unless_same("safety", "1. no harm\n2. cite", None, None)
            .unwrap();
        assert_eq!(same, v2, "same text: the newest version is reused");
        let v3 = s
            .save_rubric_unless_same("safety", "1. cite", None, Some("ann"))
            .unwrap();
        assert_eq!((v3.version, v3.author.as_deref()), (3, Some("ann")));
    }
}
