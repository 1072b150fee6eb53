export { SequencePacker, packSequences, type PackItem, type PackedBin, type PackerOptions } from "./packer.js";
export { mixByTokenShare, type MixSource, type MixedItem, type MixStats } from "./mixture.js";
