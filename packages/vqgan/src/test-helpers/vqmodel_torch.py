"""Independent PyTorch reference of diffusers' VQModel (the aMUSEd layout), for the tests and the
encoder benchmark's PyTorch peer.

The modules carry diffusers' attribute names (encoder.down_blocks.{i}.resnets.{j}.norm1, …,
quantize.embedding, decoder.up_blocks.{i}.upsamplers.0.conv), so the safetensors file loads with
load_state_dict(strict=True): a missing, unexpected or wrongly shaped tensor fails the load.

usage: vqmodel_torch.py <weights dir> <frames.npy uint8 [N,H,W,3]> <range minus1to1|zero1> <out dir>
writes codes.npy (int64 [N, h*w]) and pixels.npy (float64 [N,3,H,W], decoded from those codes),
computed in float64.
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

torch.backends.nnpack.set_flags(False)  # else a warning per conv on CPUs without NNPACK support


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Downsample2D(nn.Module):
    """diffusers' Downsample2D(padding=0): pad right and bottom by one, then a stride-2 3×3 conv."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownEncoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, down):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else cout, cout, groups) for j in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if down else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        for d in self.downsamplers or []:
            x = d(x)
        return x


class UpDecoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, up):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else cout, cout, groups) for j in range(layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if up else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        for u in self.upsamplers or []:
            x = u(x)
        return x


class UNetMidBlock2D(nn.Module):
    """Two resnets; aMUSEd's VQGAN has no mid-block attention (mid_block_add_attention false)."""

    def __init__(self, c, groups):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups), ResnetBlock2D(c, c, groups)])

    def forward(self, x):
        return self.resnets[1](self.resnets[0](x))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, g, lpb = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg.get("in_channels", 3), ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            [DownEncoderBlock2D(ch[0] if i == 0 else ch[i - 1], ch[i], lpb, g, i < len(ch) - 1) for i in range(len(ch))]
        )
        self.mid_block = UNetMidBlock2D(ch[-1], g)
        self.conv_norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(ch[-1], cfg["latent_channels"], 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        return self.conv_out(self.conv_act(self.conv_norm_out(self.mid_block(x))))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        rev, g, lpb = cfg["block_out_channels"][::-1], cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["latent_channels"], rev[0], 3, padding=1)
        self.mid_block = UNetMidBlock2D(rev[0], g)
        self.up_blocks = nn.ModuleList(
            [UpDecoderBlock2D(rev[0] if i == 0 else rev[i - 1], rev[i], lpb + 1, g, i < len(rev) - 1) for i in range(len(rev))]
        )
        self.conv_norm_out = nn.GroupNorm(g, rev[-1], eps=1e-6)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(rev[-1], cfg.get("out_channels", 3), 3, padding=1)

    def forward(self, x):
        x = self.mid_block(self.conv_in(x))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(self.conv_act(self.conv_norm_out(x)))


class VectorQuantizer(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.embedding = nn.Embedding(n, dim)

    def codes(self, z):
        """Nearest codebook entry by squared L2, raster order: [N, h*w]."""
        n, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        e = self.embedding.weight
        dist = (flat**2).sum(1, keepdim=True) - 2 * flat @ e.T + (e**2).sum(1)[None, :]
        return dist.argmin(1).reshape(n, h * w)


class VQModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        embed = cfg.get("vq_embed_dim") or cfg["latent_channels"]
        self.encoder = Encoder(cfg)
        self.quant_conv = nn.Conv2d(cfg["latent_channels"], embed, 1)
        self.quantize = VectorQuantizer(cfg["num_vq_embeddings"], embed)
        self.post_quant_conv = nn.Conv2d(embed, cfg["latent_channels"], 1)
        self.decoder = Decoder(cfg)

    def encode_codes(self, x):
        return self.quantize.codes(self.quant_conv(self.encoder(x)))

    def decode_codes(self, codes, h, w):
        q = self.quantize.embedding(codes).reshape(codes.shape[0], h, w, -1).permute(0, 3, 1, 2)
        return self.decoder(self.post_quant_conv(q))


def load(weights_dir, dtype=torch.float64):
    cfg = json.load(open(f"{weights_dir}/config.json"))
    # Built on the meta device (no random init of ~100M parameters), then every parameter is taken
    # from the file: strict=True still fails on a missing, unexpected or wrongly shaped tensor.
    with torch.device("meta"):
        model = VQModel(cfg)
    model.load_state_dict(load_file(f"{weights_dir}/diffusion_pytorch_model.safetensors"), strict=True, assign=True)
    return model.to(dtype).eval(), cfg


def to_input(frames, prange, dtype):
    """uint8 [N,H,W,3] → the model's pixel range, NCHW."""
    lo, hi = (-1.0, 1.0) if prange == "minus1to1" else (0.0, 1.0)
    return torch.from_numpy(frames).to(dtype).permute(0, 3, 1, 2) * ((hi - lo) / 255) + lo, lo, hi


def main(wdir, frames_path, prange, out):
    model, cfg = load(wdir)
    frames = np.load(frames_path)
    x, lo, hi = to_input(frames, prange, torch.float64)
    down = 2 ** (len(cfg["block_out_channels"]) - 1)
    with torch.no_grad():
        codes = model.encode_codes(x)
        pixels = model.decode_codes(codes, x.shape[2] // down, x.shape[3] // down).clamp(lo, hi)
    np.save(f"{out}/codes.npy", codes.numpy().astype(np.int64))
    np.save(f"{out}/pixels.npy", pixels.numpy())
    print(json.dumps({"reference": "pytorch", "torch": torch.__version__, "strict_load": True}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
