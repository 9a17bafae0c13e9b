-- Neuron explanations (server/explain): per (run, neuron, metric) the top input features found
-- offline, or explanation texts from an LLM, each scored on held-out samples. Replaced as a whole
-- when the neuron is explained again by the same source.
CREATE TABLE explanations (
  run_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  neuron INTEGER NOT NULL,
  metric VARCHAR NOT NULL,
  position INTEGER NOT NULL, -- the best position the activations were read at
  source VARCHAR NOT NULL CHECK (source IN ('features', 'llm')),
  rank INTEGER NOT NULL, -- 1 = best within (run, neuron, metric, source)
  feature_id VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  description VARCHAR NOT NULL,
  words VARCHAR[] NOT NULL, -- the words the feature reads (search by driving word)
  selection_r DOUBLE,
  held_out_r DOUBLE,
  held_out_auc DOUBLE,
  effect_size DOUBLE,
  held_out_samples INTEGER NOT NULL,
  detail JSON, -- misses, the feature spec, the LLM's model
  created TIMESTAMP NOT NULL DEFAULT current_timestamp
);
