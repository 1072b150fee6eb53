#!/usr/bin/env python3
"""Independent NumPy reference forward pass for lwm checkpoints.

Reads a checkpoint folder (model.safetensors + config.json in the Hugging Face Llama layout, as
written by @lwm/trainer's saveCheckpoint) and a packed row, and writes the logits. It shares no
code with the TypeScript trainer: the safetensors parser, RMSNorm, RoPE (Hugging Face half-split
layout: rotate_half), causal + segment attention and SwiGLU are written here from the Hugging Face
`modeling_llama.py` definitions, in float64. If our logits equal these, the checkpoint layout
(names, [out, in] weight orientation, RoPE convention) is what Hugging Face expects.

usage: llama_ref.py CHECKPOINT_DIR ROW.json OUT.f32
  ROW.json: {"tokens": [ids], "vision": [0|1] (optional), "cuSeqlens": [0, .., n] (optional)}
            positions restart at 0 in each segment; tokens past cuSeqlens[-1] are padding
  OUT.f32:  text logits [L, vocab_size], then (vision models) vision logits [L, vision_vocab_size],
            float32 little-endian, row-major
  stdout:   {"textShape": [L, V], "visionShape": [L, Vv] | null}
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": None, "F64": np.dtype("<f8")}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        begin, end = h["data_offsets"]
        raw = data[begin:end]
        if h["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[h["dtype"]])
        out[name] = arr.reshape(h["shape"]).astype(np.float64)
    return out


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def silu(x):
    return x / (1.0 + np.exp(-x))


def segments_and_positions(length, cu):
    seg = np.zeros(length, dtype=np.int64)
    pos = np.zeros(length, dtype=np.int64)
    for s in range(len(cu) - 1):
        a, b = cu[s], cu[s + 1]
        seg[a:b] = s + 1
        pos[a:b] = np.arange(b - a)
    # Tail padding: segment 0, position 0 (the shards' POSITION_RULE); each pad sees only itself.
    return seg, pos


def forward(w, cfg, tokens, vision, cu):
    L = len(tokens)
    dim = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    hd = dim // heads
    eps = cfg["rms_norm_eps"]
    theta = cfg.get("rope_theta", 10000.0)
    seg, pos = segments_and_positions(L, cu)

    x = np.empty((L, dim))
    for i, (t, v) in enumerate(zip(tokens, vision)):
        x[i] = w["model.vision_embed_tokens.weight"][t] if v else w["model.embed_tokens.weight"][t]

    inv_freq = 1.0 / (theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    freqs = np.outer(pos.astype(np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]

    idx = np.arange(L)
    allowed = (idx[None, :] <= idx[:, None]) & (seg[None, :] == seg[:, None])
    allowed &= (seg[:, None] != 0) | (idx[None, :] == idx[:, None])

    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(L, heads, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(L, heads, hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(L, heads, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hd)
        scores = np.where(allowed[None], scores, -np.inf)
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        att = np.einsum("hqk,khd->qhd", probs, v).reshape(L, dim)
        x = x + att @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        ff = silu(h @ w[p + "mlp.gate_proj.weight"].T) * (h @ w[p + "mlp.up_proj.weight"].T)
        x = x + ff @ w[p + "mlp.down_proj.weight"].T

    x = rms_norm(x, w["model.norm.weight"], eps)
    text = x @ w["lm_head.weight"].T
    vis = x @ w["vision_head.weight"].T if "vision_head.weight" in w else None
    return text, vis


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    ckpt, row_path, out_path = argv[1:]
    with open(f"{ckpt}/config.json") as f:
        cfg = json.load(f)
    assert cfg.get("tie_word_embeddings", False) is False, "tied embeddings are not an lwm checkpoint"
    w = read_safetensors(f"{ckpt}/model.safetensors")
    with open(row_path) as f:
        row = json.load(f)
    tokens = row["tokens"]
    vision = row.get("vision") or [0] * len(tokens)
    cu = row.get("cuSeqlens") or [0, len(tokens)]
    text, vis = forward(w, cfg, tokens, vision, cu)
    with open(out_path, "wb") as f:
        f.write(text.astype("<f4").tobytes())
        if vis is not None:
            f.write(vis.astype("<f4").tobytes())
    json.dump({"textShape": list(text.shape), "visionShape": list(vis.shape) if vis is not None else None}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
