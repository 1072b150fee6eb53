import { LLAMA2_LWM_VOCAB as V, type ExampleRecord } from "@lwm/schemas";
import { assembleRow } from "@lwm/shards";
import { describe, expect, it } from "vitest";
import { rowClips } from "./clips.js";

/** BOS, caption ids, one block of `frames` frames (codes f*10+k), EOS; loss on the block when `toVision`. */
function example(id: number, frames: number, toVision: boolean, times: number[]): ExampleRecord {
  const caption = [450, 4799];
  const block: number[] = [];
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < V.tokensPerFrame; k++) block.push(f * 10 + (k % 10));
    block.push(f === frames - 1 ? V.eovId : V.eofId);
  }
  const tokens = [V.bosId, ...caption, ...block, V.eosId];
  const vision = [0, 0, 0, ...block.map(() => 1), 0];
  const loss = [0, 0, 0, ...block.map(() => (toVision ? 1 : 0)), 1];
  return {
    exampleId: id.toString(16).padStart(32, "0"),
    task: toVision ? "text-video" : "video-text",
    tokens: Uint16Array.from(tokens),
    vision: Uint8Array.from(vision),
    loss: Uint8Array.from(loss),
    provenance: { kind: "media", file: `clip${id}.mp4`, fileSha256: "a".repeat(64), frameTimestamps: times },
  };
}

describe("rowClips", () => {
  it("gives each vision block its codes per frame, timestamps, loss direction and caption", async () => {
    const row = assembleRow(2048, V, [example(1, 2, false, [0, 0.25]), example(2, 3, true, [1, 2])]);
    const clips = await rowClips(row, V, null);
    expect(clips.map((c) => [c.segment, c.block, c.frames, c.loss, c.timestamps])).toEqual([
      [0, 0, 2, false, [0, 0.25]],
      [1, 0, 3, true, [1, 2, null]],
    ]);
    const c = clips[1]!;
    expect(c.codes).toHaveLength(3 * V.tokensPerFrame);
    expect(Array.from(c.codes.subarray(V.tokensPerFrame, V.tokensPerFrame + 3))).toEqual([10, 11, 12]);
    expect(c.caption).toBe("[450 4799]");
    expect(c.source).toBe("media clip2.mp4 frames at 1s, 2s");
  });
});
