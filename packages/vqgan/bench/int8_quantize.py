"""int8 variant of a VQModel encoder graph with onnxruntime's static quantization (QDQ, per-channel
int8 weights, uint8 activations calibrated by MinMax on the given frames). Only the convolutions are
quantized: the codebook search (MatMul + ArgMin) stays float32, so a code changes only when the
quantized features land nearer another entry.

usage: int8_quantize.py <encoder.onnx> <calibration frames.npy uint8 [N,256,256,3]> <out.onnx>
"""
import os
import shutil
import sys
import tempfile
import time

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

src, frames_path, out = sys.argv[1:4]
frames = np.load(frames_path)


class Frames(CalibrationDataReader):
    def __init__(self):
        self.k = 0

    def get_next(self):
        if self.k >= len(frames):
            return None
        self.k += 1
        return {"frames": frames[self.k - 1 : self.k]}


t0 = time.perf_counter()
tmp = tempfile.mkdtemp()
# onnx refuses external data with several hard links ("potential hardlink attack"), and a model
# folder hard-links its weights: quantize from private copies.
for name in os.listdir(os.path.dirname(os.path.abspath(src))):
    if name.endswith((".onnx", ".safetensors")) and "int8" not in name:
        shutil.copyfile(os.path.join(os.path.dirname(os.path.abspath(src)), name), os.path.join(tmp, name))
quantize_static(
    os.path.join(tmp, os.path.basename(src)),
    out,
    Frames(),
    quant_format=QuantFormat.QDQ,
    op_types_to_quantize=["Conv"],
    per_channel=True,
    weight_type=QuantType.QInt8,
    activation_type=QuantType.QUInt8,
)
shutil.rmtree(tmp)
print(f"quantized {src} → {out} with {len(frames)} calibration frames in {time.perf_counter() - t0:.0f} s", flush=True)
