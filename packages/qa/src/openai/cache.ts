import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic, type JsonValue } from "@lwm/core";
import { z } from "zod";

/**
 * What the server answered to one request: a completion, or a refusal that is not worth repeating
 * (HTTP 400 and the like). Holds no request headers, so no API key can reach it.
 */
export const CachedAnswer = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("completion"),
    content: z.string(),
    finishReason: z.string(),
    promptTokens: z.number().int().nonnegative(),
    completionTokens: z.number().int().nonnegative(),
  }),
  z.object({ kind: z.literal("refused"), status: z.number().int(), message: z.string() }),
]);
export type CachedAnswer = z.infer<typeof CachedAnswer>;

const CacheFile = z.object({ format: z.literal("lwm.qa.request-cache/1"), key: z.string(), answer: CachedAnswer });

/**
 * The on-disk request cache: one file per answered request, `<dir>/<key[0,2]>/<key>.json`, keyed
 * by hash(model, messages, parameters). Written atomically as soon as an answer arrives, so a
 * rerun, or a resume after SIGKILL, sends no answered request again. An unreadable entry counts as
 * a miss (the request is sent again and the entry rewritten).
 */
export class RequestCache {
  constructor(readonly dir: string) {}

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CachedAnswer | null> {
    let text: string;
    try {
      text = await readFile(this.pathOf(key), "utf8");
    } catch {
      return null;
    }
    try {
      const parsed = CacheFile.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.key === key ? parsed.data.answer : null;
    } catch {
      return null;
    }
  }

  async put(key: string, answer: CachedAnswer): Promise<void> {
    await writeJsonAtomic(this.pathOf(key), { format: "lwm.qa.request-cache/1", key, answer } as unknown as JsonValue);
  }
}
