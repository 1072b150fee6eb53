/**
 * Which task a sample serves, drawn by the source's shares from a hash of (seed, source, row): the
 * draw depends on the sample alone, not on the unit, slice or order it is processed in.
 */
import { hashParts } from "@lwm/core";
import type { VisionSource, VisionTask } from "@lwm/schemas";

export function taskShares(source: VisionSource): [VisionTask, number][] {
  return (Object.entries(source.tasks) as [VisionTask, number | undefined][])
    .filter((e): e is [VisionTask, number] => e[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
}

export function drawTask(source: VisionSource, row: number): VisionTask {
  const shares = taskShares(source);
  const total = shares.reduce((s, [, w]) => s + w, 0);
  // 52 bits of the hash as a uniform number in [0, 1).
  const u = parseInt(hashParts(["lwm-vision-task/1", source.seed, source.name, row]).slice(0, 13), 16) / 2 ** 52;
  let acc = 0;
  for (const [task, w] of shares) {
    acc += w / total;
    if (u < acc) return task;
  }
  return (shares[shares.length - 1] as [VisionTask, number])[0];
}
