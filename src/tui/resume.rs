//! Where each reviewer left off in each database: the case on screen and the queue's
//! filter when the workbench closed, so the next session opens there.
//!
//! One small JSON file in the state folder, keyed by database path and reviewer. The
//! parsing and updating are pure; `load` and `save` are the only I/O.

use crate::store::CaseFilter;
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub case_id: i64,
    #[serde(with = "filter_name")]
    pub filter: CaseFilter,
}

mod filter_name {
    use crate::store::CaseFilter;
    use clap::ValueEnum;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &CaseFilter, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(f.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CaseFilter, D::Error> {
        let name = String::deserialize(d)?;
        CaseFilter::from_str(&name, true).map_err(serde::de::Error::custom)
    }
}

/// The file: `$XDG_STATE_HOME/rubricate/resume.json` on Linux.
pub fn file() -> Result<PathBuf> {
    let logs = crate::paths::log_dir()?;
    Ok(logs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(logs)
        .join("resume.json"))
}

fn key(db: &Path, reviewer: &str) -> String {
    // The same database reached by another relative path is the same place.
    let db = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    format!("{}\u{1f}{reviewer}", db.display())
}

/// Parse the file's text; an unreadable file is no place at all (only a convenience).
pub fn parse(text: &str) -> BTreeMap<String, Place> {
    serde_json::from_str(text).unwrap_or_default()
}

pub fn load(file: &Path, db: &Path, reviewer: &str) -> Option<Place> {
    let text = std::fs::read_to_string(file).ok()?;
    parse(&text).get(&key(db, reviewer)).copied()
}

pub fn save(file: &Path, db: &Path, reviewer: &str, place: Place) -> Result<()> {
    let mut all = std::fs::read_to_string(file)
        .map(|t| parse(&t))
        .unwrap_or_default();
    all.insert(key(db, reviewer), place);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&all)?;
    // Write then rename: a crash never leaves half a file.
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_kept_per_database_and_reviewer() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("state/resume.json");
        let db = dir.path().join("a.db");
        assert_eq!(load(&f, &db, "ann"), None);
        let p = Place {
            case_id: 7,
            filter: CaseFilter::Flagged,
        };
        save(&f, &db, "ann", p).unwrap();
        save(
            &f,
            &db,
            "bob",
            Place {
                case_id: 2,
                filter: CaseFilter::All,
            },
        )
        .unwrap();
        assert_eq!(load(&f, &db, "ann"), Some(p));
        assert_eq!(load(&f, &db, "bob").unwrap().case_id, 2);
        assert_eq!(load(&f, &dir.path().join("b.db"), "ann"), None);
        // A damaged file is no place, not an error.
        std::fs::write(&f, "{not json").unwrap();
        assert_eq!(load(&f, &db, "ann"), None);
    }
}
