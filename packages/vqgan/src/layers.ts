/**
 * diffusers' VQModel layers as ONNX ops, reading weights by their state-dict names. Activations
 * are NCHW float; spatial sizes stay symbolic, so one graph serves every resolution.
 */
import { GraphBuilder, type V, f, ints } from "@lwm/onnx";

/** Float32 weights by state-dict name: the bytes stay in `file` (beside the model) at `offset`. */
export interface WeightSource {
  file: string;
  /** The tensor `name` (e.g. "encoder.conv_in.weight"); throws when absent. */
  get(name: string): { shape: readonly number[]; offset: number; length: number };
  has(name: string): boolean;
}

/** GroupNorm eps in every diffusers VQModel block (resnet_eps and conv_norm_out). */
const NORM_EPS = 1e-6;

export class VqLayers {
  constructor(
    readonly g: GraphBuilder,
    private readonly w: WeightSource,
    private readonly groups: number,
  ) {}

  private weight(name: string, reshape?: number[]): V {
    const t = this.w.get(name);
    return this.g.externalInitializer("float", reshape ?? t.shape, { file: this.w.file, offset: t.offset, length: t.length });
  }

  /** Conv2d with padding `pads` [top, left, bottom, right] and the given stride. */
  conv(x: V, name: string, pads: [number, number, number, number] = [1, 1, 1, 1], stride = 1): V {
    const wt = this.w.get(`${name}.weight`);
    return this.g.op("Conv", [x, this.weight(`${name}.weight`), this.weight(`${name}.bias`)], {
      kernel_shape: ints([wt.shape[2]!, wt.shape[3]!]),
      pads: ints(pads),
      strides: ints([stride, stride]),
    });
  }
  conv1x1(x: V, name: string): V {
    return this.conv(x, name, [0, 0, 0, 0]);
  }

  /** torch GroupNorm: InstanceNormalization over [N, G, C/G·H·W], then the per-channel affine. */
  groupNorm(x: V, name: string): V {
    const g = this.g;
    const c = this.w.get(`${name}.weight`).shape[0]!;
    const grouped = g.reshape(x, [0, this.groups, -1]);
    const normed = g.op(
      "InstanceNormalization",
      [grouped, g.constF(new Array<number>(this.groups).fill(1), [this.groups]), g.constF(new Array<number>(this.groups).fill(0), [this.groups])],
      { epsilon: f(NORM_EPS) },
    );
    const back = g.reshape(normed, g.op("Shape", [x]));
    return g.add(g.mul(back, this.weight(`${name}.weight`, [c, 1, 1])), this.weight(`${name}.bias`, [c, 1, 1]));
  }

  silu(x: V): V {
    return this.g.mul(x, this.g.sigmoid(x));
  }

  /** ResnetBlock2D (no time embedding, output_scale_factor 1). */
  resnet(x: V, name: string): V {
    let h = this.conv(this.silu(this.groupNorm(x, `${name}.norm1`)), `${name}.conv1`);
    h = this.conv(this.silu(this.groupNorm(h, `${name}.norm2`)), `${name}.conv2`);
    const shortcut = this.has(`${name}.conv_shortcut.weight`) ? this.conv1x1(x, `${name}.conv_shortcut`) : x;
    return this.g.add(shortcut, h);
  }

  /** Downsample2D(padding=0): pad right and bottom by one, then a stride-2 3×3 conv. */
  downsample(x: V, name: string): V {
    return this.conv(x, name, [0, 0, 1, 1], 2);
  }

  /** Upsample2D: nearest ×2, then a 3×3 conv. */
  upsample(x: V, name: string): V {
    const up = this.g.op("Resize", [x, "", this.g.constF([1, 1, 2, 2], [4])], {
      mode: { s: "nearest" },
      coordinate_transformation_mode: { s: "asymmetric" },
      nearest_mode: { s: "floor" },
    });
    return this.conv(up, name);
  }

  has(name: string): boolean {
    return this.w.has(name);
  }

  /** A weight as a graph constant, for layers outside this class (the codebook). */
  tensor(name: string): V {
    return this.weight(name);
  }
}
