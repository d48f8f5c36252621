-- REPLACE and INSERT OR REPLACE remove a conflicting row without firing DELETE triggers
-- (unless the connection turned on recursive_triggers, which another SQLite client will
-- not have done), so the append-only rule on reviews is also checked at insert: a new row
-- may not take the id of an existing one.
CREATE TRIGGER reviews_append_only_replace BEFORE INSERT ON reviews
WHEN EXISTS (SELECT 1 FROM reviews WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only: a review id cannot be reused or replaced; insert a new row');
END;

-- The same for the other append-only logs (migration 0005), by their key only, so
-- `ON CONFLICT (name) DO NOTHING` on collections keeps working.
CREATE TRIGGER answer_revisions_append_only_replace BEFORE INSERT ON answer_revisions
WHEN EXISTS (SELECT 1 FROM answer_revisions WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'answer revisions are append-only: an id cannot be reused or replaced');
END;
CREATE TRIGGER case_links_append_only_replace BEFORE INSERT ON case_links
WHEN EXISTS (SELECT 1 FROM case_links WHERE case_id = NEW.case_id)
BEGIN
    SELECT RAISE(ABORT, 'case links are append-only: a case''s parent cannot be replaced');
END;
CREATE TRIGGER collections_append_only_replace BEFORE INSERT ON collections
WHEN EXISTS (SELECT 1 FROM collections WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'collections are append-only: an id cannot be reused or replaced');
END;
CREATE TRIGGER collection_items_append_only_replace BEFORE INSERT ON collection_items
WHEN EXISTS (SELECT 1 FROM collection_items WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'collection membership is append-only: add a removal row instead');
END;

-- Files written by `rubricate export --out`: a later export may replace a file only when
-- it is still exactly what an export wrote (same absolute path and SHA-256), so a file the
-- user made or edited is never overwritten without --force. Nothing is added to the file itself.
CREATE TABLE exports (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    records     INTEGER NOT NULL,
    format      TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX exports_by_path ON exports (path, sha256);
