/** Hugging Face checkpoint folders: config.json, safetensors headers (no weights in memory), tokenizer.json. */
export { CheckpointError, ConfigError } from "./errors.js";
export { readConfig, parseConfig, SUPPORTED_MODEL_TYPES, type ModelConfig, type ModelType, type ModelFamily, type CheckpointDtype, type RopeScaling } from "./config.js";
export { readSafetensorsHeader, readTensorIndex, readTensor, type TensorInfo, type TensorIndex, type SafetensorsDtype } from "./safetensors.js";
export { TextTokenizer } from "./tokenizer.js";
export { loadModelDir, assertModelFilesInside, type ModelDir, type LoadModelDirOptions } from "./model-dir.js";
export { OutsideRootError } from "./roots.js";
