use super::Store;
use anyhow::Result;
use rusqlite::params;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRubric {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub body: String,
    pub case_id: Option<i64>,
}

impl Store {
    /// Save a rubric as the next version of `name`; earlier versions stay.
    pub fn save_rubric(
        &self,
        name: &str,
        body: &str,
        case_id: Option<i64>,
    ) -> Result<StoredRubric> {
        let version: i64 = self.conn().query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM rubrics WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        self.conn().execute(
            "INSERT INTO rubrics (name, version, body, case_id) VALUES (?1, ?2, ?3, ?4)",
            params![name, version, body, case_id],
        )?;
        Ok(StoredRubric {
            id: self.conn().last_insert_rowid(),
            name: name.to_string(),
            version,
            body: body.to_string(),
            case_id,
        })
    }

    pub fn latest_rubric(&self, name: &str) -> Result<Option<StoredRubric>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, version, body, case_id FROM rubrics WHERE name = ?1 ORDER BY version DESC LIMIT 1",
                [name],
                |r| {
                    Ok(StoredRubric {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        version: r.get(2)?,
                        body: r.get(3)?,
                        case_id: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }
}
