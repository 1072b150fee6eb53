import type { z } from "zod";

/**
 * One line per issue, each naming the field by its path, e.g.
 * `stages[1].seqLen: Too small: expected number to be >=16`.
 */
export function formatZodError(error: z.ZodError, where?: string): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
    return `${path || "(root)"}: ${issue.message}`;
  });
  return (where ? `${where}: ` : "") + lines.join("\n  ");
}
