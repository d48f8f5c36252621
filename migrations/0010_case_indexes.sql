-- Every index of `cases` is paid again by every imported row. `cases_by_category` serves
-- the category list (`WHERE category IS NOT NULL`), which only needs the cases that have a
-- category. As a partial index, a case without one (HH-RLHF, TRL and most sources) adds
-- nothing to it; the list's query plan is the same. (`cases_by_source` stays: the queue's
-- source picker counts cases per source from it without reading the table.)
DROP INDEX cases_by_category;
CREATE INDEX cases_by_category ON cases (category, difficulty) WHERE category IS NOT NULL;
