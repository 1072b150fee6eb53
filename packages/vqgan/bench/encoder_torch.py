"""The encoder benchmark's PyTorch peer: diffusers-named VQModel (src/test-helpers/vqmodel_torch.py)
in float32 on the CPU, the same weights and frames as the onnxruntime sides.

usage: encoder_torch.py <weights dir> <frames.npy uint8 [B,H,W,3]> <range> <threads> <batches>
Loads once, then for every line "run" on stdin encodes <batches> batches and prints
{"seconds": …}; the first line printed is {"ready": …, "codes": [first batch's codes]}.
"""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../src/test-helpers"))
from vqmodel_torch import load, to_input  # noqa: E402

wdir, frames_path, prange, threads, batches = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
model, _ = load(wdir, torch.float32)
x, _, _ = to_input(np.load(frames_path), prange, torch.float32)
with torch.inference_mode():
    codes = model.encode_codes(x)  # also the warm-up
print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "codes": codes.flatten().tolist()}), flush=True)
for line in sys.stdin:
    if line.strip() != "run":
        break
    t0 = time.perf_counter()
    with torch.inference_mode():
        for _ in range(batches):
            model.encode_codes(x)
    print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
