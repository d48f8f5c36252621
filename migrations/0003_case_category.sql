-- A category (a benchmark's section or domain) and a difficulty (where the source grades one)
-- per case, so the queue can be filtered and an evaluation can report accuracy per kind of case.
ALTER TABLE cases ADD COLUMN category TEXT;
ALTER TABLE cases ADD COLUMN difficulty TEXT;
CREATE INDEX cases_by_category ON cases (category, difficulty);

-- Cases imported before this migration: a RewardBench subset is mapped to the section the
-- RewardBench leaderboard reports it under (the same table as formats/rewardbench.rs); a
-- subset outside that table keeps its own name. Other formats take a top-level `category`
-- field where the source had one.
UPDATE cases
SET category = CASE json_extract(meta_json, '$.extra.subset')
    WHEN 'alpacaeval-easy' THEN 'Chat'
    WHEN 'alpacaeval-length' THEN 'Chat'
    WHEN 'alpacaeval-hard' THEN 'Chat'
    WHEN 'mt-bench-easy' THEN 'Chat'
    WHEN 'mt-bench-med' THEN 'Chat'
    WHEN 'mt-bench-hard' THEN 'Chat Hard'
    WHEN 'llmbar-natural' THEN 'Chat Hard'
    WHEN 'llmbar-adver-neighbor' THEN 'Chat Hard'
    WHEN 'llmbar-adver-GPTInst' THEN 'Chat Hard'
    WHEN 'llmbar-adver-GPTOut' THEN 'Chat Hard'
    WHEN 'llmbar-adver-manual' THEN 'Chat Hard'
    WHEN 'refusals-dangerous' THEN 'Safety'
    WHEN 'refusals-offensive' THEN 'Safety'
    WHEN 'xstest-should-refuse' THEN 'Safety'
    WHEN 'xstest-should-respond' THEN 'Safety'
    WHEN 'donotanswer' THEN 'Safety'
    WHEN 'math-prm' THEN 'Reasoning'
    WHEN 'hep-cpp' THEN 'Reasoning'
    WHEN 'hep-go' THEN 'Reasoning'
    WHEN 'hep-java' THEN 'Reasoning'
    WHEN 'hep-js' THEN 'Reasoning'
    WHEN 'hep-python' THEN 'Reasoning'
    WHEN 'hep-rust' THEN 'Reasoning'
    ELSE json_extract(meta_json, '$.extra.subset')
END
WHERE json_extract(meta_json, '$.format') = 'rewardbench'
  AND json_type(meta_json, '$.extra.subset') = 'text';

UPDATE cases
SET category = json_extract(meta_json, '$.extra.category')
WHERE category IS NULL
  AND json_type(meta_json, '$.extra.category') = 'text'
  AND trim(json_extract(meta_json, '$.extra.category')) <> '';
