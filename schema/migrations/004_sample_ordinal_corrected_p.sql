-- Sample identity: an explicit ordinal per (task, split), 0, 1, 2, ... in insertion order. A run's
-- sample_idx (the key of every stored activation and output) is the ordinal of the sample in the
-- split the run analyses, so activations and metric values align through it, never through row order.
ALTER TABLE samples ADD COLUMN ordinal INTEGER;
UPDATE samples SET ordinal = numbered.o
FROM (SELECT rowid AS rid, (row_number() OVER (PARTITION BY task_id, split ORDER BY rowid) - 1)::INTEGER AS o FROM samples) numbered
WHERE samples.rowid = numbered.rid;

-- p corrected for choosing the best of P positions (Sidak, 1 - (1 - p)^P) for agg 'max_abs_r'; equal
-- to p where no position was chosen ('position', 'max_act'). p stays the analytic p of r alone.
ALTER TABLE scores ADD COLUMN p_corrected DOUBLE;
UPDATE scores SET p_corrected = CASE
    WHEN scores.agg <> 'max_abs_r' THEN scores.p
    WHEN scores.p < 1e-9 THEN least(1, scores.p * counted.positions)
    ELSE 1 - pow(1 - scores.p, counted.positions) END
FROM (SELECT run_id, metric, layer, count(DISTINCT position) AS positions FROM scores WHERE agg = 'position' GROUP BY ALL) counted
WHERE scores.run_id = counted.run_id AND scores.metric = counted.metric AND scores.layer = counted.layer;
