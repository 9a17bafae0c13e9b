-- Scores at the first answer token that carries content (not only whitespace or a word-boundary
-- piece, such as the lone space a BPE tokenizer puts before a number): its index in the answer
-- (-1: none does), the gold token's cross-entropy there and the top token probability there.
-- NULL for outputs stored before the runner reported them.
ALTER TABLE sample_outputs ADD COLUMN content_token INTEGER;
ALTER TABLE sample_outputs ADD COLUMN content_loss DOUBLE;
ALTER TABLE sample_outputs ADD COLUMN content_confidence DOUBLE;

-- The builtin metric "confidence" now means the top probability at the first content token. What
-- runs stored before this migration call "confidence" was read at the first answer position: it keeps
-- its meaning under the name that says so, in every table that names metrics (a run that somehow has
-- both names keeps both unchanged).
CREATE TEMPORARY TABLE confidence_renamed AS
SELECT DISTINCT run_id FROM metric_catalogue c
WHERE c.name = 'confidence' AND c.kind = 'builtin'
  AND NOT EXISTS (SELECT 1 FROM metric_catalogue o WHERE o.run_id = c.run_id AND o.name = 'confidence_first_position');
UPDATE metric_catalogue SET name = 'confidence_first_position',
  description = 'top token probability at the first answer position, whatever token is there; when the answer starts with a word-boundary token that position is nearly certain, so the value is nearly constant (runs stored before content-token outputs have only this one)'
WHERE name = 'confidence' AND run_id IN (SELECT run_id FROM confidence_renamed);
UPDATE metrics SET name = 'confidence_first_position' WHERE name = 'confidence' AND run_id IN (SELECT run_id FROM confidence_renamed);
UPDATE scores SET metric = 'confidence_first_position' WHERE metric = 'confidence' AND run_id IN (SELECT run_id FROM confidence_renamed);
UPDATE explanations SET metric = 'confidence_first_position' WHERE metric = 'confidence' AND run_id IN (SELECT run_id FROM confidence_renamed);
DROP TABLE confidence_renamed;
