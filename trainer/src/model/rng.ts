/** Small seeded generators (sfc32 + Box–Muller): parameter init must be a pure function of the seed. */
export function uniformSampler(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed,
    b = 0x243f6a88 + seed * 3,
    c = 0xb7e15162 ^ (seed * 7),
    d = 1;
  const next = () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 20; i++) next();
  return next;
}

export function normalSampler(seed: number): () => number {
  const u = uniformSampler(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u1 = u();
    while (u1 <= 1e-12) u1 = u();
    const r = Math.sqrt(-2 * Math.log(u1)),
      th = 2 * Math.PI * u();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}
