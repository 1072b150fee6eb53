"""The control for mqar.mjs: the same multi-query associative recall task and model size, trained
with PyTorch and transformers' LlamaForCausalLM (untied embeddings, RoPE, RMSNorm, SwiGLU).

    $LWM_PYTHON datasets/tiny-lwm/mqar.py [DIM=64] [LAYERS=2] [LR=0.003] [STEPS=600] [PAIRS=8]

PAIRS is a count, or a curriculum "2:500,4:1500,8" (2 pairs until step 500, 4 until 1500, then 8);
held-out rows always have the last count.
"""
import sys
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def arg(i, default, kind):
    return kind(sys.argv[i]) if len(sys.argv) > i else default


def curriculum(text):
    """ "2:500,4:1500,8" -> [(2, 500), (4, 1500), (8, inf)]"""
    out = []
    for part in text.split(","):
        n, _, until = part.partition(":")
        out.append((int(n), int(until) if until else float("inf")))
    if any(not 1 <= n <= 24 for n, _ in out):
        sys.exit(f"PAIRS {text}: every count in 1..24 (there are 24 keys)")
    return out


dim, layers, lr, steps, schedule = arg(1, 64, int), arg(2, 2, int), arg(3, 0.003, float), arg(4, 600, int), curriculum(arg(5, "8", str))
torch.manual_seed(0)
torch.set_num_threads(2)
model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=dim, intermediate_size=4 * dim, num_hidden_layers=layers,
                                     num_attention_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
                                     tie_word_embeddings=False))
QUERIES, BATCH = 4, 64
L = 1 + 2 * max(n for n, _ in schedule) + 1 + 2 * QUERIES  # shorter rows are padded with 0 (no loss)
gen = torch.Generator().manual_seed(1)


def mqar_batch(n, pairs):
    tokens, labels = torch.zeros(n, L, dtype=torch.long), torch.full((n, L), -100)
    for b in range(n):
        keys = torch.randperm(24, generator=gen)[:pairs] + 8
        values = torch.randint(32, 64, (pairs,), generator=gen)
        row = [1] + [int(t) for kv in zip(keys, values) for t in kv] + [2]
        for _ in range(QUERIES):
            i = int(torch.randint(0, pairs, (1,), generator=gen))
            row += [int(keys[i]), int(values[i])]
            labels[b, len(row) - 1] = values[i]
        tokens[b] = torch.tensor(row + [0] * (L - len(row)))
    return tokens, labels


held_out = mqar_batch(BATCH, schedule[-1][0])
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
    x, y = mqar_batch(BATCH, next(n for n, until in schedule if step < until))
    loss = model(x, labels=y).loss
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    warmup.step()
