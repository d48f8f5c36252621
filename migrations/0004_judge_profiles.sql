-- Judge profiles and backends: which prompt contract (profile name and content hash) and
-- which backend produced a judgment, plus the RM-R1 fields kept apart from the analysis.
-- All nullable: rows from before this migration simply do not know.
ALTER TABLE judgments ADD COLUMN profile         TEXT;   -- e.g. 'rubricate', 'rm-r1'
ALTER TABLE judgments ADD COLUMN profile_hash    TEXT;   -- SHA-256 of the profile's files
ALTER TABLE judgments ADD COLUMN backend         TEXT;   -- 'llama.cpp' (in-process), 'openai', ...
ALTER TABLE judgments ADD COLUMN server_url      TEXT;   -- base URL, never with credentials
ALTER TABLE judgments ADD COLUMN server_model    TEXT;   -- the model id the server reports
ALTER TABLE judgments ADD COLUMN judge_type      TEXT;   -- RM-R1 <type>: 'Chat' or 'Reasoning'
ALTER TABLE judgments ADD COLUMN solution        TEXT;   -- RM-R1 <solution>
-- The stored verdict is the most probable choice at the verdict position; the choice the
-- sampler drew there (if any) is kept here for comparison.
ALTER TABLE judgments ADD COLUMN verdict_sampled TEXT CHECK (verdict_sampled IN ('A', 'B', 'tie'));
