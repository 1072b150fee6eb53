export * from "./vocab.js";
export * from "./provenance.js";
export * from "./example.js";
export * from "./recipe.js";
export * from "./launch.js";
export * from "./qa.js";
export * from "./shard.js";
export * from "./needle.js";
export { formatZodError } from "./errors.js";
