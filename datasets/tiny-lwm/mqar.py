"""The control for mqar.mjs: the same multi-query associative recall task and model size, trained
with PyTorch and transformers' LlamaForCausalLM (untied embeddings, RoPE, RMSNorm, SwiGLU).

    $LWM_PYTHON datasets/tiny-lwm/mqar.py [DIM=64] [LAYERS=2] [LR=0.003] [STEPS=600] [PAIRS=8]
"""
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def arg(i, default, kind):
    return kind(sys.argv[i]) if len(sys.argv) > i else default


dim, layers, lr, steps, pairs = arg(1, 64, int), arg(2, 2, int), arg(3, 0.003, float), arg(4, 600, int), arg(5, 8, int)
if not 1 <= pairs <= 24:
    sys.exit(f"PAIRS {pairs}: 1..24 (there are 24 keys)")
torch.manual_seed(0)
torch.set_num_threads(2)
model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=dim, intermediate_size=4 * dim, num_hidden_layers=layers,
                                     num_attention_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
                                     tie_word_embeddings=False))
PAIRS, QUERIES, BATCH = pairs, 4, 64
L = 1 + 2 * PAIRS + 1 + 2 * QUERIES
gen = torch.Generator().manual_seed(1)


def mqar_batch(n):
    tokens, labels = torch.zeros(n, L, dtype=torch.long), torch.full((n, L), -100)
    for b in range(n):
        keys = torch.randperm(24, generator=gen)[:PAIRS] + 8
        values = torch.randint(32, 64, (PAIRS,), generator=gen)
        row = [1] + [int(t) for kv in zip(keys, values) for t in kv] + [2]
        for _ in range(QUERIES):
            i = int(torch.randint(0, PAIRS, (1,), generator=gen))
            row += [int(keys[i]), int(values[i])]
            labels[b, len(row) - 1] = values[i]
        tokens[b] = torch.tensor(row)
    return tokens, labels


held_out = mqar_batch(BATCH)
optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1, (s + 1) / 20))
t0 = time.time()
for step in range(steps + 1):
    if step % 50 == 0:
        with torch.no_grad():
            logits, target = model(held_out[0]).logits[:, :-1], held_out[1][:, 1:]
            mask = target != -100
            accuracy = (logits.argmax(-1)[mask] == target[mask]).float().mean().item()
        print(f"step {step}: held-out accuracy {accuracy:.3f} | {time.time() - t0:.0f} s", flush=True)
    if step == steps:
        break
    x, y = mqar_batch(BATCH)
    loss = model(x, labels=y).loss
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    warmup.step()
