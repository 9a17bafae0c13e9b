-- skillscope store, initial schema.
-- JSON columns hold JSON text; ids come from sequences (no foreign keys: DuckDB checks them eagerly
-- and a run is deleted table by table inside one transaction instead).

CREATE SEQUENCE model_ids START 1;
CREATE TABLE models (
  id INTEGER PRIMARY KEY DEFAULT nextval('model_ids'),
  path VARCHAR NOT NULL,
  family VARCHAR NOT NULL,
  config JSON,
  created TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE task_ids START 1;
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY DEFAULT nextval('task_ids'),
  name VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  template VARCHAR NOT NULL,
  verbalizer JSON,
  created TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE samples (
  task_id INTEGER NOT NULL,
  sample_id VARCHAR NOT NULL,
  split VARCHAR NOT NULL,
  fields JSON NOT NULL,
  rendered VARCHAR NOT NULL,
  answer VARCHAR,
  label VARCHAR
);

CREATE SEQUENCE run_ids START 1;
CREATE TABLE runs (
  id INTEGER PRIMARY KEY DEFAULT nextval('run_ids'),
  model_id INTEGER NOT NULL,
  task_id INTEGER NOT NULL,
  config JSON NOT NULL,
  status VARCHAR NOT NULL CHECK (status IN ('queued', 'running', 'training', 'extracting', 'scoring',
                                            'done', 'failed', 'cancelled', 'interrupted')),
  error VARCHAR,
  neuron_definition VARCHAR,
  layers INTEGER[],
  positions INTEGER,
  d_ff INTEGER,
  timings JSON,
  train_figures JSON,
  val_figures JSON,
  created TIMESTAMP NOT NULL DEFAULT current_timestamp,
  updated TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE run_events (
  run_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  payload JSON NOT NULL,
  created TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- sample_idx is the row index of the sample in the run's validation set: the key activations use.
CREATE TABLE sample_outputs (
  run_id INTEGER NOT NULL,
  sample_idx INTEGER NOT NULL,
  sample_id VARCHAR NOT NULL,
  loss DOUBLE,
  gold_prob DOUBLE,
  confidence DOUBLE,
  prediction VARCHAR,
  correct BOOLEAN
);

CREATE TABLE metric_catalogue (
  run_id INTEGER NOT NULL,
  name VARCHAR NOT NULL,
  kind VARCHAR NOT NULL CHECK (kind IN ('builtin', 'heuristic', 'column', 'added')),
  description VARCHAR,
  created TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE metrics (
  run_id INTEGER NOT NULL,
  name VARCHAR NOT NULL,
  sample_id VARCHAR NOT NULL,
  value DOUBLE
);

CREATE TABLE prompt_checkpoints (
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  prompt BLOB NOT NULL,
  optimizer_state BLOB,
  created TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- One row per (run, layer, sample, soft position). data = d_ff float32 values, little-endian, as a BLOB:
-- ingest measured several times faster than FLOAT[d_ff] (see bench/ingest.ts). Read it with the store's
-- readActivations/readNeuron; one neuron in SQL: data[4*n+1 : 4*n+4]. Exports carry FLOAT[] lists.
CREATE TABLE activations (
  run_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  sample_idx INTEGER NOT NULL,
  position INTEGER NOT NULL,
  data BLOB NOT NULL
);

-- Serialized streaming statistics per (run, layer); the analysis module owns the format.
CREATE TABLE stats (
  run_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  data BLOB NOT NULL,
  updated TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- Top-k mode: serialized per-neuron top/bottom-k reservoirs per (run, layer).
CREATE TABLE reservoirs (
  run_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  data BLOB NOT NULL,
  updated TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- agg: 'position' (r at one soft position), 'max_abs_r' (max |r| over positions; position = argmax),
-- 'max_act' (r of the activation maximised over positions; position NULL).
CREATE TABLE scores (
  run_id INTEGER NOT NULL,
  metric VARCHAR NOT NULL,
  agg VARCHAR NOT NULL CHECK (agg IN ('position', 'max_abs_r', 'max_act')),
  layer INTEGER NOT NULL,
  position INTEGER,
  neuron INTEGER NOT NULL,
  r DOUBLE, -- NULL: undefined (constant neuron or metric); never ranked
  p DOUBLE
);

-- Idempotency of activation batches: (run, shard, batch, layer) seen once.
CREATE TABLE ingested_batches (
  run_id INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  batch_id VARCHAR NOT NULL,
  layer INTEGER NOT NULL,
  sample_count INTEGER NOT NULL,
  created TIMESTAMP NOT NULL DEFAULT current_timestamp,
  PRIMARY KEY (run_id, shard, batch_id, layer)
);
