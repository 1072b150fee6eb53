/**
 * The two configurations a model folder records: the diffusers VQModel config.json of the weights
 * (aMUSEd's, for `lwm vqgan build`) and our own model.json, which says how frames go in and out.
 */
import { z } from "zod";

/** The fields of a diffusers VQModel config.json that decide the graph (others are ignored). */
export const VqModelConfig = z.object({
  in_channels: z.number().int().positive().default(3),
  out_channels: z.number().int().positive().default(3),
  block_out_channels: z.array(z.number().int().positive()).min(1),
  layers_per_block: z.number().int().positive(),
  latent_channels: z.number().int().positive(),
  num_vq_embeddings: z.number().int().positive().max(65536),
  vq_embed_dim: z.number().int().positive().optional(),
  norm_num_groups: z.number().int().positive(),
  norm_type: z.literal("group").default("group"),
  mid_block_add_attention: z.literal(false, { message: "graphs with mid-block attention are not supported (aMUSEd has none)" }).default(false),
  lookup_from_codebook: z.boolean().optional(),
});
export type VqModelConfig = z.infer<typeof VqModelConfig>;

/** aMUSEd's VQGAN (the one LWM uses; lwm-spec §1.1). */
export const AMUSED_CONFIG: VqModelConfig = {
  in_channels: 3,
  out_channels: 3,
  block_out_channels: [128, 256, 256, 512, 768],
  layers_per_block: 2,
  latent_channels: 64,
  num_vq_embeddings: 8192,
  vq_embed_dim: 64,
  norm_num_groups: 32,
  norm_type: "group",
  mid_block_add_attention: false,
};

/**
 * How pixels enter the encoder and leave the decoder: LWM feeds x/127.5 − 1 ([−1, 1]);
 * diffusers' aMUSEd pipeline feeds x/255 ([0, 1]).
 */
export const PixelRange = z.enum(["minus1to1", "zero1"]);
export type PixelRange = z.infer<typeof PixelRange>;
export const PIXEL_RANGES: Readonly<Record<PixelRange, { lo: number; hi: number }>> = { minus1to1: { lo: -1, hi: 1 }, zero1: { lo: 0, hi: 1 } };

export const MODEL_FILE = "model.json";
export const ENCODER_FILE = "encoder.onnx";
export const DECODER_FILE = "decoder.onnx";

/** model.json: what kind of model the graphs hold and how to feed them. */
export const ModelSettings = z.object({
  format: z.literal("lwm-vqgan/1"),
  kind: z.enum(["vqmodel", "patch-kmeans"]),
  pixelRange: PixelRange,
  /** Codes per frame side: a frame of `frameSize`² pixels gives (frameSize / downsample)² codes. */
  downsample: z.number().int().positive(),
  frameSize: z.number().int().positive(),
  codebookSize: z.number().int().positive().max(65536),
  /** sha256 of the weights the graphs were built from (safetensors, or the fitted codebook). */
  weightsSha256: z.string(),
  /** Free-form provenance: source folder, fit options and quality numbers. */
  notes: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
});
export type ModelSettings = z.infer<typeof ModelSettings>;
