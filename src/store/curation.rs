//! Curation records: refined answers (revisions), derived cases, and collections.
//! All of them are append-only (triggers in migration 0005); the current state is read
//! from the newest rows.

use super::Store;
use super::cases::insert_case;
use crate::domain::{Case, NewCase, Verdict};
use anyhow::{Result, bail};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use std::collections::HashSet;

/// One refined text of answer A or B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerRevision {
    pub id: i64,
    pub case_id: i64,
    /// `A` or `B` (never tie / both_bad).
    pub side: Verdict,
    pub body: String,
    pub author: String,
    pub note: Option<String>,
    pub created_at: String,
}

fn revision_from_row(r: &Row) -> rusqlite::Result<AnswerRevision> {
    let side: String = r.get(2)?;
    Ok(AnswerRevision {
        id: r.get(0)?,
        case_id: r.get(1)?,
        side: if side == "B" { Verdict::B } else { Verdict::A },
        body: r.get(3)?,
        author: r.get(4)?,
        note: r.get(5)?,
        created_at: r.get(6)?,
    })
}

const REVISION_COLUMNS: &str = "id, case_id, side, body, author, note, created_at";

/// A derived case and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedLink {
    pub case_id: i64,
    pub parent_id: i64,
    pub author: String,
    /// What the fork was for, in the author's words or a short tag.
    pub how: String,
    pub created_at: String,
}

/// A named set of cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collection {
    pub id: i64,
    pub name: String,
    pub created_by: String,
    pub created_at: String,
    /// Cases in it now.
    pub size: i64,
}

/// Collection names are typed on the command line and in the workbench: keep them to
/// one short visible line.
fn check_collection_name(name: &str) -> Result<()> {
    let n = name.trim();
    if n.is_empty() {
        bail!("a collection needs a name");
    }
    if n != name || n.chars().count() > 64 || n.chars().any(|c| c.is_control()) {
        bail!(
            "collection name {:?} is not usable: use up to 64 visible characters, no leading or \
             trailing spaces",
            crate::sanitize::visible(name)
        );
    }
    Ok(())
}

impl Store {
    // ----- refined answers ------------------------------------------------------

    /// Record a refined text for answer `side` (A or B) of a case. The case row keeps the
    /// original; earlier revisions stay.
    pub fn add_revision(
        &self,
        case_id: i64,
        side: Verdict,
        body: &str,
        author: &str,
        note: Option<&str>,
    ) -> Result<AnswerRevision> {
        if !side.is_pair() {
            bail!("only answer A or B can be refined, not {side}");
        }
        if body.trim().is_empty() {
            bail!("a refined answer cannot be empty");
        }
        if self.get_case(case_id)?.is_none() {
            bail!("there is no case {case_id}");
        }
        self.conn().execute(
            "INSERT INTO answer_revisions (case_id, side, body, author, note) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![case_id, side.as_str(), body, author, note],
        )?;
        let id = self.conn().last_insert_rowid();
        Ok(self.conn().query_row(
            &format!("SELECT {REVISION_COLUMNS} FROM answer_revisions WHERE id = ?1"),
            [id],
            revision_from_row,
        )?)
    }

    /// Every revision of a case, oldest first.
    pub fn revisions(&self, case_id: i64) -> Result<Vec<AnswerRevision>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {REVISION_COLUMNS} FROM answer_revisions WHERE case_id = ?1 ORDER BY id"
        ))?;
        Ok(stmt
            .query_map([case_id], revision_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The newest revision of one side, if the answer was refined.
    pub fn current_revision(&self, case_id: i64, side: Verdict) -> Result<Option<AnswerRevision>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {REVISION_COLUMNS} FROM answer_revisions WHERE case_id = ?1 AND side = ?2
             ORDER BY id DESC LIMIT 1"
        ))?;
        Ok(stmt
            .query_row(params![case_id, side.as_str()], revision_from_row)
            .optional()?)
    }

    // ----- derived cases --------------------------------------------------------

    /// Fork a new case from `parent_id` and link it to its parent. Fails (naming the
    /// existing case) when a case with the same content is already stored.
    pub fn derive_case(
        &mut self,
        parent_id: i64,
        case: &NewCase,
        author: &str,
        how: &str,
    ) -> Result<i64> {
        if self.get_case(parent_id)?.is_none() {
            bail!("there is no case {parent_id} to derive from");
        }
        if case.answer_a.trim().is_empty() || case.answer_b.trim().is_empty() {
            bail!("a derived case needs two non-empty answers");
        }
        let tx = self.conn_mut().transaction()?;
        let Some(id) = insert_case(&tx, case)? else {
            let existing: i64 = tx.query_row(
                "SELECT id FROM cases WHERE content_hash = ?1",
                [case.content_digest()],
                |r| r.get(0),
            )?;
            bail!(
                "case {existing} already has exactly this prompt and these answers: change an answer, \
                 or review case {existing}"
            );
        };
        tx.execute(
            "INSERT INTO case_links (case_id, parent_id, author, how) VALUES (?1, ?2, ?3, ?4)",
            params![id, parent_id, author, how],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The parent of a derived case.
    pub fn case_parent(&self, case_id: i64) -> Result<Option<DerivedLink>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT case_id, parent_id, author, how, created_at FROM case_links WHERE case_id = ?1",
                [case_id],
                link_from_row,
            )
            .optional()?)
    }

    /// Cases derived from `case_id`, oldest first.
    pub fn case_children(&self, case_id: i64) -> Result<Vec<DerivedLink>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT case_id, parent_id, author, how, created_at FROM case_links WHERE parent_id = ?1
             ORDER BY case_id",
        )?;
        Ok(stmt
            .query_map([case_id], link_from_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    // ----- collections ----------------------------------------------------------

    /// The collection called `name`, created if it does not exist yet.
    pub fn ensure_collection(&self, name: &str, author: &str) -> Result<i64> {
        check_collection_name(name)?;
        self.conn().execute(
            "INSERT INTO collections (name, created_by) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, author],
        )?;
        Ok(self
            .conn()
            .query_row("SELECT id FROM collections WHERE name = ?1", [name], |r| {
                r.get(0)
            })?)
    }

    fn collection_id(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM collections WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Put a case into a collection (created on first use), or take it out.
    /// Returns whether anything changed.
    pub fn set_in_collection(
        &self,
        name: &str,
        case_id: i64,
        member: bool,
        author: &str,
    ) -> Result<bool> {
        if self.get_case(case_id)?.is_none() {
            bail!("there is no case {case_id}");
        }
        let id = if member {
            self.ensure_collection(name, author)?
        } else {
            match self.collection_id(name)? {
                Some(id) => id,
                None => return Ok(false),
            }
        };
        if self.is_member(id, case_id)? == member {
            return Ok(false);
        }
        self.conn().execute(
            "INSERT INTO collection_items (collection_id, case_id, added, author) VALUES (?1, ?2, ?3, ?4)",
            params![id, case_id, member, author],
        )?;
        Ok(true)
    }

    fn is_member(&self, collection_id: i64, case_id: i64) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT added FROM collection_items WHERE collection_id = ?1 AND case_id = ?2
                 ORDER BY id DESC LIMIT 1",
                params![collection_id, case_id],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// Ids of the cases in a collection now, in id order. An unknown name is an error
    /// that lists the collections there are.
    pub fn collection_case_ids(&self, name: &str) -> Result<Vec<i64>> {
        let Some(id) = self.collection_id(name)? else {
            let names: Vec<String> = self.collections()?.into_iter().map(|c| c.name).collect();
            if names.is_empty() {
                bail!(
                    "there is no collection {:?} (none exists yet: tag cases with t in the workbench or \
                     `rubricate collections add NAME CASE...`)",
                    crate::sanitize::visible(name)
                );
            }
            bail!(
                "there is no collection {:?}; there are: {}",
                crate::sanitize::visible(name),
                crate::sanitize::visible(&names.join(", "))
            );
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT i.case_id FROM collection_items i
             WHERE i.collection_id = ?1
               AND i.id = (SELECT MAX(id) FROM collection_items
                           WHERE collection_id = i.collection_id AND case_id = i.case_id)
               AND i.added = 1
             ORDER BY i.case_id",
        )?;
        Ok(stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Every collection with its current size, by name.
    pub fn collections(&self) -> Result<Vec<Collection>> {
        let mut stmt = self.conn().prepare(
            "SELECT c.id, c.name, c.created_by, c.created_at,
                    (SELECT COUNT(*) FROM collection_items i
                     WHERE i.collection_id = c.id AND i.added = 1
                       AND i.id = (SELECT MAX(id) FROM collection_items
                                   WHERE collection_id = c.id AND case_id = i.case_id))
             FROM collections c ORDER BY c.name",
        )?;
        Ok(stmt
            .query_map([], |r| {
                Ok(Collection {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_by: r.get(2)?,
                    created_at: r.get(3)?,
                    size: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Names of the collections a case is in now.
    pub fn case_collections(&self, case_id: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT c.name FROM collections c
             WHERE (SELECT added FROM collection_items i WHERE i.collection_id = c.id AND i.case_id = ?1
                    ORDER BY i.id DESC LIMIT 1) = 1
             ORDER BY c.name",
        )?;
        Ok(stmt
            .query_map([case_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }
}

fn link_from_row(r: &Row) -> rusqlite::Result<DerivedLink> {
    Ok(DerivedLink {
        case_id: r.get(0)?,
        parent_id: r.get(1)?,
        author: r.get(2)?,
        how: r.get(3)?,
        created_at: r.get(4)?,
    })
}

/// A case's answers as they stand now: the newest revision of each side, else the original.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentAnswers {
    pub a: String,
    pub b: String,
    pub revision_a: Option<AnswerRevision>,
    pub revision_b: Option<AnswerRevision>,
}

impl CurrentAnswers {
    /// The answers of a case nobody refined: its own texts.
    pub fn original(case: &Case) -> CurrentAnswers {
        CurrentAnswers {
            a: case.answer_a.clone(),
            b: case.answer_b.clone(),
            revision_a: None,
            revision_b: None,
        }
    }
}

impl Store {
    /// Ids of the cases with at least one refined answer, read once so a bulk reader
    /// (export) asks for revisions only where there are some instead of twice per case.
    pub fn revised_case_ids(&self) -> Result<HashSet<i64>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT DISTINCT case_id FROM answer_revisions")?;
        Ok(stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn current_answers(&self, case: &Case) -> Result<CurrentAnswers> {
        let revision_a = self.current_revision(case.id, Verdict::A)?;
        let revision_b = self.current_revision(case.id, Verdict::B)?;
        Ok(CurrentAnswers {
            a: revision_a
                .as_ref()
                .map_or_else(|| case.answer_a.clone(), |r| r.body.clone()),
            b: revision_b
                .as_ref()
                .map_or_else(|| case.answer_b.clone(), |r| r.body.clone()),
            revision_a,
            revision_b,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Message;

    fn case(q: &str, a: &str, b: &str) -> NewCase {
        NewCase {
            source: "t".into(),
            source_id: None,
            prompt: vec![Message::user(q)],
            answer_a: a.into(),
            answer_b: b.into(),
            source_label: None,
            meta: serde_json::json!({}),
            category: None,
            difficulty: None,
        }
    }

    fn store_with_case() -> (Store, i64) {
        let mut s = Store::open_in_memory().unwrap();
        let id = s.insert_case(&case("q", "a1", "b1")).unwrap().unwrap();
        (s, id)
    }

    #[test]
    fn revisions_keep_the_original_and_the_newest_wins() {
        let (s, id) = store_with_case();
        assert!(s.current_revision(id, Verdict::A).unwrap().is_none());
        s.add_revision(id, Verdict::A, "better a", "ann", None)
            .unwrap();
        let r2 = s
            .add_revision(id, Verdict::A, "best a", "bob", Some("fixed the sum"))
            .unwrap();
        let cur = s.current_revision(id, Verdict::A).unwrap().unwrap();
        assert_eq!(cur, r2);
        assert_eq!(cur.author, "bob");
        assert_eq!(s.revisions(id).unwrap().len(), 2);
        let c = s.get_case(id).unwrap().unwrap();
        assert_eq!(c.answer_a, "a1", "the case row keeps the original");
        let now = s.current_answers(&c).unwrap();
        assert_eq!((now.a.as_str(), now.b.as_str()), ("best a", "b1"));
        assert!(now.revision_b.is_none());
        // Append-only: the log cannot be rewritten.
        let err = s
            .conn()
            .execute("UPDATE answer_revisions SET body = 'x'", [])
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        assert!(
            s.conn()
                .execute("DELETE FROM answer_revisions", [])
                .is_err()
        );
        // Refusals.
        assert!(s.add_revision(id, Verdict::Tie, "x", "a", None).is_err());
        assert!(s.add_revision(id, Verdict::B, "  ", "a", None).is_err());
        assert!(s.add_revision(999, Verdict::B, "x", "a", None).is_err());
    }

    #[test]
    fn derived_case_is_linked_and_duplicates_are_named() {
        let (mut s, parent) = store_with_case();
        let child = s
            .derive_case(
                parent,
                &case("q", "reviewer answer", "a1"),
                "ann",
                "model failure",
            )
            .unwrap();
        let link = s.case_parent(child).unwrap().unwrap();
        assert_eq!((link.parent_id, link.author.as_str()), (parent, "ann"));
        assert_eq!(s.case_children(parent).unwrap()[0].case_id, child);
        assert!(s.case_parent(parent).unwrap().is_none());
        let err = s
            .derive_case(parent, &case("q", "b1", "a1"), "ann", "dup")
            .unwrap_err();
        assert!(err.to_string().contains(&format!("case {parent}")), "{err}");
        assert!(
            s.derive_case(77, &case("q", "x", "y"), "a", "h").is_err(),
            "no such parent"
        );
        assert!(s.conn().execute("DELETE FROM case_links", []).is_err());
    }

    #[test]
    fn collections_membership_is_a_log() {
        let (mut s, c1) = store_with_case();
        let c2 = s.insert_case(&case("q2", "x", "y")).unwrap().unwrap();
        assert!(s.set_in_collection("gold", c1, true, "ann").unwrap());
        assert!(
            !s.set_in_collection("gold", c1, true, "ann").unwrap(),
            "already in"
        );
        assert!(s.set_in_collection("gold", c2, true, "bob").unwrap());
        assert_eq!(s.collection_case_ids("gold").unwrap(), vec![c1, c2]);
        assert!(s.set_in_collection("gold", c1, false, "ann").unwrap());
        assert_eq!(s.collection_case_ids("gold").unwrap(), vec![c2]);
        assert!(s.set_in_collection("gold", c1, true, "ann").unwrap());
        assert_eq!(s.collection_case_ids("gold").unwrap(), vec![c1, c2]);
        assert_eq!(s.case_collections(c1).unwrap(), vec!["gold".to_string()]);
        let all = s.collections().unwrap();
        assert_eq!((all[0].name.as_str(), all[0].size), ("gold", 2));
        let err = s.collection_case_ids("silver").unwrap_err().to_string();
        assert!(err.contains("gold"), "{err}");
        assert!(!s.set_in_collection("silver", c1, false, "a").unwrap());
        assert!(s.set_in_collection(" bad", c1, true, "a").is_err());
        assert!(s.set_in_collection("x\u{1b}[2J", c1, true, "a").is_err());
        assert!(
            s.conn()
                .execute("DELETE FROM collection_items", [])
                .is_err()
        );
    }
}
