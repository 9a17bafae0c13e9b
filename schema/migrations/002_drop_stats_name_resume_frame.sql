-- The stats table was never written (streaming statistics live in memory during a run; scores are stored).
DROP TABLE stats;
-- The column holds the runner's whole encoded checkpoint frame, not an optimizer state alone.
ALTER TABLE prompt_checkpoints RENAME COLUMN optimizer_state TO resume_frame;
