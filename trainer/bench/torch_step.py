"""Peer for trainer/bench/train-step.ts: the same Llama model's training step (forward + backward,
no optimizer) in PyTorch, fp32, on the same packed 2K row (same generator, same segments), with the
packed-shard loss and a block-diagonal causal mask. torch 1.13 has no fused attention, so attention
is materialised per head. Run: OPENBLAS_NUM_THREADS=2 python3 trainer/bench/torch_step.py [seqLen]
(needs Debian python3-torch + libopenblas0-pthread; the reference BLAS is ~10x slower)."""
import json, math, os, sys, time
import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
V, D, LAYERS, H, FF, EPS, THETA = 32000, 256, 4, 4, 688, 1e-6, 1e6
HD = D // H
L = int(sys.argv[1]) if len(sys.argv) > 1 else 2048


def bench_row(L, seed):
    """Same as benchRow() in train-step.ts (same LCG, same segments and tokens)."""
    s = seed
    def rnd():
        nonlocal s
        s = (s * 1664525 + 1013904223) % 2**32
        return s / 2**32
    lens, used, fill = [], 0, L - L // 128
    while used < fill:
        n = min(math.floor(L / 8 + rnd() * (L / 2 - L / 8)), fill - used)
        lens.append(n); used += n
    tokens, loss, seg = [0] * L, [0] * L, [len(lens) + 1] * L
    at = 0
    for i, n in enumerate(lens):
        for t in range(at, at + n):
            first = t == at
            tokens[t] = 1 if first else 3 + math.floor(rnd() * 31990)
            loss[t] = 0 if first else 1
            seg[t] = i + 1
        at += n
    return tokens, loss, seg, lens


def rope(x, pos):  # x [T, H, HD], HF half-split layout
    inv = THETA ** (-torch.arange(0, HD, 2, dtype=torch.float64) / HD)
    ang = pos[:, None].double() * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1).float()[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1).float()[:, None, :]
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def main():
    g = torch.Generator().manual_seed(0)
    p = lambda *s: (torch.randn(*s, generator=g) * 0.02).requires_grad_()
    ones = lambda n: torch.ones(n).requires_grad_()
    emb, head, norm = p(V, D), p(V, D), ones(D)
    layers = [dict(n1=ones(D), q=p(D, D), k=p(D, D), v=p(D, D), o=p(D, D), n2=ones(D), g=p(FF, D), u=p(FF, D), d=p(D, FF)) for _ in range(LAYERS)]
    tokens, loss_flags, seg, lens = bench_row(L, 7)
    tok = torch.tensor(tokens)
    segt = torch.tensor(seg)
    starts = torch.tensor([0] + list(torch.tensor(lens).cumsum(0).tolist()))
    pos = torch.zeros(L, dtype=torch.long)
    for i, n in enumerate(lens):
        pos[starts[i]: starts[i] + n] = torch.arange(n)
    idx = torch.arange(L)
    allowed = (segt[:, None] == segt[None, :]) & (idx[None, :] <= idx[:, None])
    bias = torch.zeros(L, L).masked_fill(~allowed, float("-inf"))
    # target of position t is token t+1 when it carries loss; weight 1/(its segment's loss tokens) / E
    E = len(lens)
    tgt = torch.full((L,), -100, dtype=torch.long)
    w = torch.zeros(L)
    for t in range(L - 1):
        if loss_flags[t + 1]:
            tgt[t] = tokens[t + 1]
            w[t] = 1.0 / (lens[seg[t + 1] - 1] - 1) / E
    pairs = int(allowed.sum())

    def step():
        x = emb[tok]
        for ly in layers:
            xn = rms(x, ly["n1"])
            q = rope((xn @ ly["q"].T).view(L, H, HD), pos).transpose(0, 1)
            k = rope((xn @ ly["k"].T).view(L, H, HD), pos).transpose(0, 1)
            v = (xn @ ly["v"].T).view(L, H, HD).transpose(0, 1)
            a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(HD) + bias, -1) @ v
            x = x + a.transpose(0, 1).reshape(L, D) @ ly["o"].T
            hn = rms(x, ly["n2"])
            x = x + (F.silu(hn @ ly["g"].T) * (hn @ ly["u"].T)) @ ly["d"].T
        logits = rms(x, norm) @ head.T
        nll = F.cross_entropy(logits, tgt.clamp(min=0), reduction="none")
        loss = (nll * w).sum()
        loss.backward()
        return float(loss)

    step()
    times, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step()
        times.append(time.perf_counter() - t0); cpus.append(time.process_time() - c0)
    ms = sorted(times)[1] * 1000
    cpu_ms = sorted(cpus)[1] * 1000  # all threads of the process: less sensitive to other jobs than wall time
    dense = LAYERS * (4 * D * D + 3 * D * FF + 2 * D) + D + V * D
    flops = 6 * dense * L + 12 * D * LAYERS * pairs
    print(json.dumps({"peer": f"pytorch {torch.__version__}", "blas": torch.__config__.show().count("BLAS"), "threads": torch.get_num_threads(),
                      "seqLen": L, "stepMs": round(ms), "gflops": round(flops / 1e9, 1), "gflopPerS": round(flops / 1e6 / ms, 1),
                      "cpuMs": round(cpu_ms), "gflopPerCpuS": round(flops / 1e6 / cpu_ms, 1), "loss": round(loss, 4)}))


main()
