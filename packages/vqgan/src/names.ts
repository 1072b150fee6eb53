/**
 * Every tensor of a diffusers VQModel, by its exact state-dict name and shape. `lwm vqgan build`
 * checks a safetensors file against it before building; the tests write random weights from it.
 */
import type { VqModelConfig } from "./config.js";

export type TensorShapes = Map<string, number[]>;

function conv(out: TensorShapes, name: string, cin: number, cout: number, k: number): void {
  out.set(`${name}.weight`, [cout, cin, k, k]);
  out.set(`${name}.bias`, [cout]);
}
function norm(out: TensorShapes, name: string, c: number): void {
  out.set(`${name}.weight`, [c]);
  out.set(`${name}.bias`, [c]);
}
function resnet(out: TensorShapes, name: string, cin: number, cout: number): void {
  norm(out, `${name}.norm1`, cin);
  conv(out, `${name}.conv1`, cin, cout, 3);
  norm(out, `${name}.norm2`, cout);
  conv(out, `${name}.conv2`, cout, cout, 3);
  if (cin !== cout) conv(out, `${name}.conv_shortcut`, cin, cout, 1);
}

/** The channel plan shared by the shape list and the graph builder. */
export function encoderPlan(c: VqModelConfig): { cin: number; cout: number; down: boolean }[] {
  const ch = c.block_out_channels;
  return ch.map((cout, i) => ({ cin: i === 0 ? ch[0]! : ch[i - 1]!, cout, down: i < ch.length - 1 }));
}
export function decoderPlan(c: VqModelConfig): { cin: number; cout: number; up: boolean }[] {
  const rev = [...c.block_out_channels].reverse();
  return rev.map((cout, i) => ({ cin: i === 0 ? rev[0]! : rev[i - 1]!, cout, up: i < rev.length - 1 }));
}

export function vqModelShapes(c: VqModelConfig): TensorShapes {
  const out: TensorShapes = new Map();
  const ch = c.block_out_channels;
  const top = ch[ch.length - 1]!;
  const embed = c.vq_embed_dim ?? c.latent_channels;
  conv(out, "encoder.conv_in", c.in_channels, ch[0]!, 3);
  encoderPlan(c).forEach((b, i) => {
    for (let j = 0; j < c.layers_per_block; j++) resnet(out, `encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? b.cin : b.cout, b.cout);
    if (b.down) conv(out, `encoder.down_blocks.${i}.downsamplers.0.conv`, b.cout, b.cout, 3);
  });
  resnet(out, "encoder.mid_block.resnets.0", top, top);
  resnet(out, "encoder.mid_block.resnets.1", top, top);
  norm(out, "encoder.conv_norm_out", top);
  conv(out, "encoder.conv_out", top, c.latent_channels, 3);
  conv(out, "quant_conv", c.latent_channels, embed, 1);
  out.set("quantize.embedding.weight", [c.num_vq_embeddings, embed]);
  conv(out, "post_quant_conv", embed, c.latent_channels, 1);
  conv(out, "decoder.conv_in", c.latent_channels, top, 3);
  resnet(out, "decoder.mid_block.resnets.0", top, top);
  resnet(out, "decoder.mid_block.resnets.1", top, top);
  decoderPlan(c).forEach((b, i) => {
    for (let j = 0; j <= c.layers_per_block; j++) resnet(out, `decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? b.cin : b.cout, b.cout);
    if (b.up) conv(out, `decoder.up_blocks.${i}.upsamplers.0.conv`, b.cout, b.cout, 3);
  });
  norm(out, "decoder.conv_norm_out", ch[0]!);
  conv(out, "decoder.conv_out", ch[0]!, c.out_channels, 3);
  return out;
}
