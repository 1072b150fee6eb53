"""LWM's preprocessing in PIL (resize short side to 256 with PIL's default bicubic, centre crop)
against our ffmpeg frames (raw rgb24 read from stdin, one per image, same order as argv).

usage: pil_compare.py <size> <image>…  < frames.rgb
"""
import sys
import numpy as np
from PIL import Image

size = int(sys.argv[1])
raw = sys.stdin.buffer.read()
diffs = []
for k, path in enumerate(sys.argv[2:]):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    im = im.resize((nw, nh), Image.BICUBIC)
    left, top = (nw - size) // 2, (nh - size) // 2
    ref = np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.int16)
    ours = np.frombuffer(raw[k * size * size * 3:(k + 1) * size * size * 3], dtype=np.uint8).reshape(size, size, 3).astype(np.int16)
    d = np.abs(ours - ref)
    diffs.append(d)
    print(f"{path.split('/')[-1]}: mean |Δ| {d.mean():.3f}, max {d.max()}, {100 * (d <= 1).mean():.1f} % within 1 level")
a = np.concatenate([d.ravel() for d in diffs])
print(f"all: mean |Δ| {a.mean():.3f}, max {a.max()}, {100 * (a <= 1).mean():.1f} % within 1 level, PSNR {10 * np.log10(255**2 / (a.astype(np.float64)**2).mean()):.1f} dB")
