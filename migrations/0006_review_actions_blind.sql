-- Review actions say what happened: `decide` is a verdict given where the model had
-- none to accept or override (no judgment on screen, or its output did not parse);
-- before this, such rows were stored as `override`, which inflated override rates.
-- `blind` records whether the model's verdict, confidence and the answers' lengths were
-- hidden when the reviewer decided (NULL for rows written before blind mode existed).
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt. The
-- append-only triggers are dropped only for the rebuild and recreated on the new table
-- in the same transaction, so no program ever sees `reviews` without them.

ALTER TABLE reviews RENAME TO reviews_before_0006;
DROP TRIGGER reviews_append_only_update;
DROP TRIGGER reviews_append_only_delete;
DROP INDEX reviews_by_case;

CREATE TABLE reviews (
    id                 INTEGER PRIMARY KEY,
    case_id            INTEGER NOT NULL REFERENCES cases (id),
    reviewer           TEXT NOT NULL,
    action             TEXT NOT NULL CHECK (action IN ('decide', 'accept', 'edit', 'override', 'flag', 'note', 'revert')),
    verdict            TEXT CHECK (verdict IN ('A', 'B', 'tie', 'both_bad')),
    rubric             TEXT,
    analysis           TEXT,
    note               TEXT,
    flagged            INTEGER,
    seconds_spent      REAL,
    judgment_id        INTEGER REFERENCES judgments (id),
    reverts_review_id  INTEGER REFERENCES reviews (id),
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- From 0005_curation (which comes before this one in the list).
    reasoning          TEXT CHECK (reasoning IN ('approved', 'own', 'verdict_only', 'wrong')),
    flag_reason        TEXT,
    blind              INTEGER
);

-- An old `override` with no judgment, or with a judgment that had no verdict, was a
-- decision without a model verdict. The others stay as they were: where a judgment with
-- a verdict was on screen, `override` was right.
INSERT INTO reviews (id, case_id, reviewer, action, verdict, rubric, analysis, note, flagged,
                     seconds_spent, judgment_id, reverts_review_id, created_at, reasoning,
                     flag_reason, blind)
SELECT r.id, r.case_id, r.reviewer,
       CASE
           WHEN r.action = 'override'
                AND (r.judgment_id IS NULL
                     OR (SELECT j.verdict FROM judgments j WHERE j.id = r.judgment_id) IS NULL)
           THEN 'decide'
           ELSE r.action
       END,
       r.verdict, r.rubric, r.analysis, r.note, r.flagged, r.seconds_spent, r.judgment_id,
       r.reverts_review_id, r.created_at, r.reasoning, r.flag_reason, NULL
FROM reviews_before_0006 r
ORDER BY r.id;

DROP TABLE reviews_before_0006;

CREATE INDEX reviews_by_case ON reviews (case_id, reviewer, id);

CREATE TRIGGER reviews_append_only_update BEFORE UPDATE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only: add a revert row instead of updating');
END;
CREATE TRIGGER reviews_append_only_delete BEFORE DELETE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only: add a revert row instead of deleting');
END;
