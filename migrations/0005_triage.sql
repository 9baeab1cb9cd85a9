-- 0005_triage: who triaged a verdict, when and why; false positives per series.
-- verdicts.triage itself (accepted | false_positive | NULL) is in 0001.

ALTER TABLE verdicts ADD COLUMN triaged_at TEXT;                      -- RFC 3339 UTC; NULL if never triaged
ALTER TABLE verdicts ADD COLUMN triaged_by TEXT NOT NULL DEFAULT '';  -- free text: a person or a CI actor
ALTER TABLE verdicts ADD COLUMN triage_note TEXT NOT NULL DEFAULT '';

-- One row per series that was ever flagged: a regression or improvement
-- verdict. Counts are of results (cells of runs), not of metric verdicts:
-- flagged results, and those triaged false_positive or accepted.
CREATE VIEW noisy_series AS
SELECT series_key,
       count(DISTINCT result_id) AS flagged,
       count(DISTINCT CASE WHEN triage = 'false_positive' THEN result_id END) AS false_positives,
       count(DISTINCT CASE WHEN triage = 'accepted' THEN result_id END) AS accepted,
       max(CASE WHEN triage = 'false_positive' THEN triaged_at END) AS last_false_positive_at
FROM verdicts
WHERE status IN ('regression', 'improvement')
GROUP BY series_key;
