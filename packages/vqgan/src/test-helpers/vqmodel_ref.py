"""Independent NumPy (float64) reference of diffusers' VQModel, for the tests.

Walks the model with diffusers' module names, reading each tensor from the safetensors file by
name; at the end every tensor in the file must have been used exactly as load_state_dict(strict=True)
would require (no missing, no unexpected names, shapes checked by the ops themselves).

usage: vqmodel_ref.py <weights dir> <frames.npy uint8 [N,H,W,3]> <range minus1to1|zero1> <out dir>
writes codes.npy (int64 [N, h*w]) and pixels.npy (float64 [N,3,H,W], decoded from those codes).
"""
import json, struct, sys
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

wdir, frames_path, prange, out = sys.argv[1:5]
cfg = json.load(open(f"{wdir}/config.json"))
raw = open(f"{wdir}/diffusion_pytorch_model.safetensors", "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + hlen])
header.pop("__metadata__", None)
W = {}
for name, h in header.items():
    assert h["dtype"] == "F32", name
    b, e = h["data_offsets"]
    W[name] = np.frombuffer(raw[8 + hlen + b:8 + hlen + e], dtype="<f4").reshape(h["shape"]).astype(np.float64)
used = set()


def w(name):
    used.add(name)
    return W[name]


def conv(x, name, pad=(1, 1, 1, 1), stride=1):
    k, b = w(name + ".weight"), w(name + ".bias")
    t, l, bo, r = pad
    x = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    kh, kw = k.shape[2:]
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]  # N C H W kh kw
    return np.einsum("nchwij,ocij->nohw", win, k, optimize=True) + b[None, :, None, None]


def group_norm(x, name, groups=cfg["norm_num_groups"], eps=1e-6):
    n, c, hh, ww = x.shape
    g = x.reshape(n, groups, -1)
    g = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)
    return g.reshape(x.shape) * w(name + ".weight")[None, :, None, None] + w(name + ".bias")[None, :, None, None]


def silu(x):
    return x / (1 + np.exp(-x))


def resnet(x, name):
    h = conv(silu(group_norm(x, name + ".norm1")), name + ".conv1")
    h = conv(silu(group_norm(h, name + ".norm2")), name + ".conv2")
    if name + ".conv_shortcut.weight" in W:
        x = conv(x, name + ".conv_shortcut", pad=(0, 0, 0, 0))
    return x + h


ch = cfg["block_out_channels"]
lpb = cfg["layers_per_block"]
lo, hi = (-1.0, 1.0) if prange == "minus1to1" else (0.0, 1.0)

frames = np.load(frames_path)
x = frames.astype(np.float64).transpose(0, 3, 1, 2) * ((hi - lo) / 255) + lo
h = conv(x, "encoder.conv_in")
for i in range(len(ch)):
    for j in range(lpb):
        h = resnet(h, f"encoder.down_blocks.{i}.resnets.{j}")
    if i < len(ch) - 1:
        h = conv(h, f"encoder.down_blocks.{i}.downsamplers.0.conv", pad=(0, 0, 1, 1), stride=2)
h = resnet(h, "encoder.mid_block.resnets.0")
h = resnet(h, "encoder.mid_block.resnets.1")
h = conv(silu(group_norm(h, "encoder.conv_norm_out")), "encoder.conv_out")
h = conv(h, "quant_conv", pad=(0, 0, 0, 0))
n, d, gh, gw = h.shape
z = h.transpose(0, 2, 3, 1).reshape(-1, d)
emb = w("quantize.embedding.weight")
dist = (z ** 2).sum(1, keepdims=True) - 2 * z @ emb.T + (emb ** 2).sum(1)[None, :]
codes = dist.argmin(1).reshape(n, gh * gw)
np.save(f"{out}/codes.npy", codes)
srt = np.sort(dist, axis=1)
print(json.dumps({"min_gap": float((srt[:, 1] - srt[:, 0]).min())}))

q = emb[codes.reshape(n, gh, gw)].transpose(0, 3, 1, 2)
h = conv(q, "post_quant_conv", pad=(0, 0, 0, 0))
h = conv(h, "decoder.conv_in")
h = resnet(h, "decoder.mid_block.resnets.0")
h = resnet(h, "decoder.mid_block.resnets.1")
rev = ch[::-1]
for i in range(len(rev)):
    for j in range(lpb + 1):
        h = resnet(h, f"decoder.up_blocks.{i}.resnets.{j}")
    if i < len(rev) - 1:
        h = h.repeat(2, axis=2).repeat(2, axis=3)
        h = conv(h, f"decoder.up_blocks.{i}.upsamplers.0.conv")
h = conv(silu(group_norm(h, "decoder.conv_norm_out")), "decoder.conv_out")
np.save(f"{out}/pixels.npy", np.clip(h, lo, hi))

missing = sorted(set(W) - used)
if missing:
    sys.exit(f"strict load failed: unused tensors {missing[:5]}")
