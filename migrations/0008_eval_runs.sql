-- `rubricate eval` runs: which judge was measured on which labelled set, and the figures.
-- One row per run; runs are compared side by side (`eval --compare`) and the workbench
-- shows the latest run of the loaded judge next to its confidence bar.
CREATE TABLE eval_runs (
    id             INTEGER PRIMARY KEY,
    model_file     TEXT NOT NULL,
    model_sha256   TEXT NOT NULL,
    template_version TEXT NOT NULL,
    backend        TEXT,             -- 'llama.cpp' in-process, or the server kind
    profile        TEXT,             -- judge profile name, when recorded
    profile_hash   TEXT,
    server_model   TEXT,
    rubric         TEXT,             -- the fixed rubric, when the run used one
    dataset        TEXT NOT NULL,    -- the selection: source, category, limit
    both_orders    INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    numbers_json   TEXT NOT NULL,    -- eval::EvalNumbers, the same keys as `eval --json`
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX eval_runs_by_model ON eval_runs (model_sha256, id);
