-- The activation lake (server/store/lake.ts): Parquet files that a run's shard runners wrote under
-- `location/run=R/layer=L/shard=S/part-K.parquet` instead of sending activations to the server.
-- The server reads exactly the files listed here, so a file a killed attempt left behind is never counted.
-- precision: 'f32', or 'f16' (values rounded to binary16, stored as FLOAT).
CREATE TABLE lake_files (
  run_id INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  path VARCHAR NOT NULL,
  rows INTEGER NOT NULL,
  precision VARCHAR NOT NULL CHECK (precision IN ('f32', 'f16')),
  PRIMARY KEY (run_id, layer, shard, path)
);
