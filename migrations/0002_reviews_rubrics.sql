-- Human decisions (append-only) and the library of named, versioned rubrics.
CREATE TABLE reviews (
    id                 INTEGER PRIMARY KEY,
    case_id            INTEGER NOT NULL REFERENCES cases (id),
    reviewer           TEXT NOT NULL,
    action             TEXT NOT NULL CHECK (action IN ('accept', 'edit', 'override', 'flag', 'note', 'revert')),
    verdict            TEXT CHECK (verdict IN ('A', 'B', 'tie', 'both_bad')),
    rubric             TEXT,
    analysis           TEXT,
    note               TEXT,
    flagged            INTEGER,
    seconds_spent      REAL,
    judgment_id        INTEGER REFERENCES judgments (id),
    reverts_review_id  INTEGER REFERENCES reviews (id),
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX reviews_by_case ON reviews (case_id, reviewer, id);

-- Undo is a new 'revert' row: the log itself is never rewritten.
CREATE TRIGGER reviews_append_only_update BEFORE UPDATE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only: add a revert row instead of updating');
END;
CREATE TRIGGER reviews_append_only_delete BEFORE DELETE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only: add a revert row instead of deleting');
END;

CREATE TABLE rubrics (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    case_id     INTEGER REFERENCES cases (id),   -- the case it was written for, if any
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (name, version)
);
