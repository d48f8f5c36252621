-- Curation: refined answers, derived cases, collections, flag reasons, reasoning approval,
-- and the rubric library (versions recorded on the judgments that were given one).
-- Everything here is append-only like reviews: history is added to, never rewritten.

-- What the reviewer said about the judge's reasoning when deciding:
--   approved      verdict and reasoning accepted as shown (`a`)
--   own           the reviewer's own (kept, edited) rubric/analysis
--   verdict_only  a verdict key (1-4): the reasoning was not vouched for
--   wrong         "verdict right, reasoning wrong"
-- NULL on rows written before this migration: those are never treated as approved.
ALTER TABLE reviews ADD COLUMN reasoning TEXT
    CHECK (reasoning IN ('approved', 'own', 'verdict_only', 'wrong'));
-- Why a case was flagged (on `flag` rows).
ALTER TABLE reviews ADD COLUMN flag_reason TEXT;

-- Refined answers: a reviewer's better text for answer A or B. The case row keeps the
-- original; the newest revision of a side is that side's current text.
CREATE TABLE answer_revisions (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    side        TEXT NOT NULL CHECK (side IN ('A', 'B')),
    body        TEXT NOT NULL,
    author      TEXT NOT NULL,
    note        TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX answer_revisions_by_case ON answer_revisions (case_id, side, id);
CREATE TRIGGER answer_revisions_append_only_update BEFORE UPDATE ON answer_revisions
BEGIN
    SELECT RAISE(ABORT, 'answer revisions are append-only: add a new revision instead');
END;
CREATE TRIGGER answer_revisions_append_only_delete BEFORE DELETE ON answer_revisions
BEGIN
    SELECT RAISE(ABORT, 'answer revisions are append-only: add a new revision instead');
END;

-- A case forked from another (e.g. the model's failure as rejected, a reviewer-written
-- answer as chosen). One parent per derived case.
CREATE TABLE case_links (
    case_id     INTEGER PRIMARY KEY REFERENCES cases (id),
    parent_id   INTEGER NOT NULL REFERENCES cases (id),
    author      TEXT NOT NULL,
    how         TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX case_links_by_parent ON case_links (parent_id);
CREATE TRIGGER case_links_append_only_update BEFORE UPDATE ON case_links
BEGIN
    SELECT RAISE(ABORT, 'case links are append-only');
END;
CREATE TRIGGER case_links_append_only_delete BEFORE DELETE ON case_links
BEGIN
    SELECT RAISE(ABORT, 'case links are append-only');
END;

-- Named sets of cases. Membership is a log: the newest row for (collection, case) says
-- whether the case is in it.
CREATE TABLE collections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE collection_items (
    id             INTEGER PRIMARY KEY,
    collection_id  INTEGER NOT NULL REFERENCES collections (id),
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    added          INTEGER NOT NULL CHECK (added IN (0, 1)),
    author         TEXT NOT NULL,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX collection_items_by_collection ON collection_items (collection_id, case_id, id);
CREATE INDEX collection_items_by_case ON collection_items (case_id, id);
CREATE TRIGGER collections_append_only_update BEFORE UPDATE ON collections
BEGIN
    SELECT RAISE(ABORT, 'collections are append-only');
END;
CREATE TRIGGER collections_append_only_delete BEFORE DELETE ON collections
BEGIN
    SELECT RAISE(ABORT, 'collections are append-only');
END;
CREATE TRIGGER collection_items_append_only_update BEFORE UPDATE ON collection_items
BEGIN
    SELECT RAISE(ABORT, 'collection membership is append-only: add a removal row instead');
END;
CREATE TRIGGER collection_items_append_only_delete BEFORE DELETE ON collection_items
BEGIN
    SELECT RAISE(ABORT, 'collection membership is append-only: add a removal row instead');
END;

-- The rubric library (table from 0002): who saved a version and why; versions are never
-- changed or removed (restoring an old version saves it again as the newest).
ALTER TABLE rubrics ADD COLUMN author TEXT;
ALTER TABLE rubrics ADD COLUMN note TEXT;
CREATE TRIGGER rubrics_append_only_update BEFORE UPDATE ON rubrics
BEGIN
    SELECT RAISE(ABORT, 'rubric versions are append-only: save a new version instead');
END;
CREATE TRIGGER rubrics_append_only_delete BEFORE DELETE ON rubrics
BEGIN
    SELECT RAISE(ABORT, 'rubric versions are append-only: save a new version instead');
END;

-- The library rubric (name + version) a rubric-given judgment was given, when it came
-- from the library.
ALTER TABLE judgments ADD COLUMN library_rubric_id INTEGER REFERENCES rubrics (id);
