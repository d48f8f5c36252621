-- The content hash (SHA-256 of a case's prompt and answers, placement-independent) is
-- stored as its 32 bytes instead of 64 hex characters: half the size in the row and in its
-- UNIQUE index, whose random keys are most of an import's B-tree work. The program still
-- shows and accepts the hex form.
--
-- SQLite cannot change a column's type, so `cases` is rebuilt the documented way: a new
-- table, the rows copied, the old one dropped, the new one renamed. The migration runner
-- turns foreign keys off around migrations (judgments, reviews, revisions, links,
-- collections and rubrics point at cases by id, and the ids are kept) and checks them
-- before this commits.

CREATE TABLE cases_0009 (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    source_id     TEXT,
    prompt_json   TEXT NOT NULL,            -- [{"role": ..., "content": ...}, ...]
    answer_a      TEXT NOT NULL,
    answer_b      TEXT NOT NULL,
    source_label  TEXT CHECK (source_label IN ('A', 'B', 'tie', 'both_bad')),
    content_hash  BLOB NOT NULL UNIQUE CHECK (length(content_hash) = 32),  -- SHA-256, independent of A/B placement
    meta_json     TEXT NOT NULL DEFAULT '{}',
    imported_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    category      TEXT,
    difficulty    TEXT
);

INSERT INTO cases_0009 (id, source, source_id, prompt_json, answer_a, answer_b, source_label,
                        content_hash, meta_json, imported_at, category, difficulty)
SELECT id, source, source_id, prompt_json, answer_a, answer_b, source_label,
       unhex(content_hash), meta_json, imported_at, category, difficulty
FROM cases ORDER BY id;

DROP TABLE cases;
ALTER TABLE cases_0009 RENAME TO cases;
CREATE INDEX cases_by_source ON cases (source, source_id);
CREATE INDEX cases_by_category ON cases (category, difficulty);
