"""Recomputes a stage's held-out loss with Hugging Face transformers, independently of the trainer:
loads the checkpoint `lwm train` wrote as LlamaForCausalLM (float64), picks the held-out rows from
the stage's shards by the trainer's documented split (trainer/TRAINING.md: row i of a shard is held
out iff the top 48 bits of sha256("<shard sha256>:<i>") / 2^48 < evalFraction; the first evalRows of
them in manifest order), and applies the loss rule (schemas/FORMAT.md): every segment is its own
sequence (positions from 0, causal attention inside it), token i with loss flag 1 is predicted from
position i-1, nll weighted by the segment's weight_text, summed, divided by E = the segments of
those rows. Prints {"evalLoss", "rows", "examples"} as JSON.

usage: hf_eval_loss.py CHECKPOINT_DIR STAGE_DIR EVAL_FRACTION EVAL_ROWS
"""
import hashlib
import json
import os
import sys

import numpy as np
import pyarrow as pa
import torch
from transformers import LlamaForCausalLM

ckpt, stage_dir, eval_fraction, eval_rows = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])


def held_out(sha, i):
    u = int.from_bytes(hashlib.sha256(f"{sha}:{i}".encode()).digest()[:6], "big") / 2**48
    return u < eval_fraction


manifest = json.load(open(os.path.join(stage_dir, "manifest.json")))
rows = []
for entry in manifest["shards"]:
    with pa.memory_map(os.path.join(stage_dir, entry["file"])) as f:
        table = pa.ipc.open_stream(f).read_all()
    for i in range(table.num_rows):
        if held_out(entry["sha256"], i):
            rows.append({name: table.column(name)[i].values.to_numpy(zero_copy_only=False) for name in ("tokens", "vision", "loss", "cu_seqlens", "weight_text")})
rows = rows[:eval_rows]

model = LlamaForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float64, attn_implementation="eager").eval()
examples = sum(len(r["cu_seqlens"]) - 1 for r in rows)
total = 0.0
with torch.no_grad():
    for r in rows:
        tokens, loss, cu = r["tokens"].astype(np.int64), r["loss"].astype(bool), r["cu_seqlens"].astype(np.int64)
        assert not r["vision"].any(), "a text stage holds no vision tokens"
        for s in range(len(cu) - 1):
            start, end = int(cu[s]), int(cu[s + 1])
            ids = torch.from_numpy(tokens[start:end])[None]
            logp = torch.log_softmax(model(input_ids=ids).logits[0], dim=-1)
            targets = [i for i in range(start + 1, end) if loss[i]]
            assert not loss[start], f"loss on a segment's first token (row token {start})"
            nll = -sum(logp[i - 1 - start, int(tokens[i])].item() for i in targets)
            total += float(r["weight_text"][s]) * nll
print(json.dumps({"evalLoss": total / examples, "rows": len(rows), "examples": examples}))
