/**
 * aMUSEd's VQGAN (diffusers VQModel) as two ONNX graphs:
 *   encoder  frames uint8 [N, H, W, 3] → pixel range → conv_in → down blocks → mid block →
 *            GroupNorm → SiLU → conv_out → quant_conv → nearest codebook entry (squared L2,
 *            arg-min in the graph) → codes uint16 [N, (H/16)·(W/16)], raster order
 *   decoder  codes uint16 [N, h, w] → codebook rows → post_quant_conv → conv_in → mid block →
 *            up blocks → GroupNorm → SiLU → conv_out → pixels clipped to the range
 *            (`pixels` float [N, 3, H, W]) and rgb uint8 [N, H, W, 3]
 */
import { GraphBuilder, ONNX_TYPE, type V, i } from "@lwm/onnx";
import { PIXEL_RANGES, type PixelRange, type VqModelConfig } from "./config.js";
import { VqLayers, type WeightSource } from "./layers.js";
import { decoderPlan, encoderPlan } from "./names.js";

/** uint8 NHWC frames → float NCHW in the model's pixel range. */
export function framesToPixels(g: GraphBuilder, frames: V, range: PixelRange): V {
  const { lo, hi } = PIXEL_RANGES[range];
  const x = g.transpose(g.op("Cast", [frames], { to: i(ONNX_TYPE.float) }), [0, 3, 1, 2]);
  return g.add(g.mul(x, g.constF([(hi - lo) / 255])), g.constF([lo]));
}

/** float NCHW pixels in the range → uint8 NHWC, rounded. */
export function pixelsToFrames(g: GraphBuilder, pixels: V, range: PixelRange): V {
  const { lo, hi } = PIXEL_RANGES[range];
  const scaled = g.mul(g.sub(pixels, g.constF([lo])), g.constF([255 / (hi - lo)]));
  const rounded = g.op("Floor", [g.add(scaled, g.constF([0.5]))]);
  return g.op("Cast", [g.transpose(rounded, [0, 2, 3, 1])], { to: i(ONNX_TYPE.uint8) });
}

/** Index of the nearest row of `codebook` [K, D] for each row of `z` [.., D] (squared L2; ‖z‖² is the same for every row, so it is left out). */
export function nearestCode(g: GraphBuilder, z: V, codebook: V): V {
  const cc = g.sumLast(g.mul(codebook, codebook), 0);
  const scores = g.sub(cc, g.mul(g.matmul(z, g.transpose(codebook, [1, 0])), g.constF([2])));
  const idx = g.op("ArgMin", [scores], { axis: i(-1), keepdims: i(0) });
  return g.op("Cast", [idx], { to: i(ONNX_TYPE.uint16) });
}

export function vqEncoderGraph(c: VqModelConfig, w: WeightSource, range: PixelRange): GraphBuilder {
  const g = new GraphBuilder("vqgan_encoder");
  const L = new VqLayers(g, w, c.norm_num_groups);
  let h = L.conv(framesToPixels(g, g.input("frames", ["n", "height", "width", c.in_channels], "uint8"), range), "encoder.conv_in");
  encoderPlan(c).forEach((b, bi) => {
    for (let j = 0; j < c.layers_per_block; j++) h = L.resnet(h, `encoder.down_blocks.${bi}.resnets.${j}`);
    if (b.down) h = L.downsample(h, `encoder.down_blocks.${bi}.downsamplers.0.conv`);
  });
  h = L.resnet(h, "encoder.mid_block.resnets.0");
  h = L.resnet(h, "encoder.mid_block.resnets.1");
  h = L.conv(L.silu(L.groupNorm(h, "encoder.conv_norm_out")), "encoder.conv_out");
  h = L.conv1x1(h, "quant_conv");
  const embed = w.get("quantize.embedding.weight");
  // [N, D, h, w] → [N, h·w, D]: raster order, as LWM's reshape(-1).
  const z = g.transpose(g.reshape(h, [0, embed.shape[1]!, -1]), [0, 2, 1]);
  g.output("codes", nearestCode(g, z, L.tensor("quantize.embedding.weight")), "uint16", ["n", "codes"]);
  return g;
}

export function vqDecoderGraph(c: VqModelConfig, w: WeightSource, range: PixelRange): GraphBuilder {
  const g = new GraphBuilder("vqgan_decoder");
  const L = new VqLayers(g, w, c.norm_num_groups);
  const codes = g.input("codes", ["n", "h", "w"], "uint16");
  const rows = g.op("Gather", [L.tensor("quantize.embedding.weight"), g.op("Cast", [codes], { to: i(ONNX_TYPE.int64) })], { axis: i(0) });
  let h = L.conv1x1(g.transpose(rows, [0, 3, 1, 2]), "post_quant_conv");
  h = L.conv(h, "decoder.conv_in");
  h = L.resnet(h, "decoder.mid_block.resnets.0");
  h = L.resnet(h, "decoder.mid_block.resnets.1");
  decoderPlan(c).forEach((b, bi) => {
    for (let j = 0; j <= c.layers_per_block; j++) h = L.resnet(h, `decoder.up_blocks.${bi}.resnets.${j}`);
    if (b.up) h = L.upsample(h, `decoder.up_blocks.${bi}.upsamplers.0.conv`);
  });
  h = L.conv(L.silu(L.groupNorm(h, "decoder.conv_norm_out")), "decoder.conv_out");
  const { lo, hi } = PIXEL_RANGES[range];
  const pixels = g.op("Clip", [h, g.constF([lo]), g.constF([hi])]);
  g.output("pixels", pixels, "float", ["n", c.out_channels, "height", "width"]);
  g.output("rgb", pixelsToFrames(g, pixels, range), "uint8", ["n", "height", "width", c.out_channels]);
  return g;
}
