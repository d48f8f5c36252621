-- The label's CHECK is written as equalities instead of `source_label IN ('A', 'B', 'tie',
-- 'both_bad')`: same rule (a NULL label passes, anything else must be one of the four), but
-- SQLite evaluates an IN list of more than two constants by building a temporary b-tree of
-- the list, once per execution of the INSERT, which is once per row for a prepared
-- statement. That cost 0.15-0.17 s per 100,000 imported rows, more than the UNIQUE
-- content-hash index (measured with examples/bench_import_sqlite.rs and a scratch copy of
-- its loop, docs/benchmarks.md "Import, session 10").
--
-- SQLite cannot change a CHECK constraint in place, so `cases` is rebuilt as in 0009: a new
-- table, the rows copied with their ids, the old one dropped, the new one renamed, the
-- indexes recreated as 0010 left them. The migration runner turns foreign keys off around
-- migrations and checks them before this commits.

CREATE TABLE cases_0011 (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    source_id     TEXT,
    prompt_json   TEXT NOT NULL,            -- [{"role": ..., "content": ...}, ...]
    answer_a      TEXT NOT NULL,
    answer_b      TEXT NOT NULL,
    source_label  TEXT CHECK (source_label = 'A' OR source_label = 'B'
                              OR source_label = 'tie' OR source_label = 'both_bad'),
    content_hash  BLOB NOT NULL UNIQUE CHECK (length(content_hash) = 32),  -- SHA-256, independent of A/B placement
    meta_json     TEXT NOT NULL DEFAULT '{}',
    imported_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    category      TEXT,
    difficulty    TEXT
);

INSERT INTO cases_0011 (id, source, source_id, prompt_json, answer_a, answer_b, source_label,
                        content_hash, meta_json, imported_at, category, difficulty)
SELECT id, source, source_id, prompt_json, answer_a, answer_b, source_label,
       content_hash, meta_json, imported_at, category, difficulty
FROM cases ORDER BY id;

DROP TABLE cases;
ALTER TABLE cases_0011 RENAME TO cases;
CREATE INDEX cases_by_source ON cases (source, source_id);
CREATE INDEX cases_by_category ON cases (category, difficulty) WHERE category IS NOT NULL;
