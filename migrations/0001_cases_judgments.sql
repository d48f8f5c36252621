-- Cases to be judged and the model judgments made of them.
CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    source_id     TEXT,
    prompt_json   TEXT NOT NULL,            -- [{"role": ..., "content": ...}, ...]
    answer_a      TEXT NOT NULL,
    answer_b      TEXT NOT NULL,
    source_label  TEXT CHECK (source_label IN ('A', 'B', 'tie', 'both_bad')),
    content_hash  TEXT NOT NULL UNIQUE,     -- independent of A/B placement
    meta_json     TEXT NOT NULL DEFAULT '{}',
    imported_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX cases_by_source ON cases (source, source_id);

CREATE TABLE judgments (
    id                INTEGER PRIMARY KEY,
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    origin            TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'import')),
    swapped           INTEGER NOT NULL DEFAULT 0,
    rubric_given      INTEGER NOT NULL DEFAULT 0,
    model_file        TEXT NOT NULL,
    model_sha256      TEXT NOT NULL,
    template_version  TEXT NOT NULL,
    grammar           INTEGER NOT NULL,
    sampler_json      TEXT NOT NULL,
    seed              INTEGER,
    rubric            TEXT,
    analysis          TEXT,
    verdict           TEXT CHECK (verdict IN ('A', 'B', 'tie')),  -- original letters, even when swapped
    p_a               REAL,
    p_b               REAL,
    p_tie             REAL,
    parse_ok          INTEGER NOT NULL,
    parse_error       TEXT,
    raw               TEXT NOT NULL,
    tokens_prompt     INTEGER,
    tokens_generated  INTEGER,
    ms_prefill        INTEGER,
    ms_generate       INTEGER,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX judgments_by_case ON judgments (case_id, swapped, id);
