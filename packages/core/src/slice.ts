/** One of n deterministic slices of a step's work (Slurm array task, Kubernetes indexed Job). */
export interface TaskSlice {
  index: number;
  count: number;
}

export function checkSlice(slice: TaskSlice): void {
  if (!Number.isInteger(slice.count) || slice.count < 1) throw new RangeError(`--task-count must be an integer >= 1, got ${slice.count}`);
  if (!Number.isInteger(slice.index) || slice.index < 0 || slice.index >= slice.count) {
    throw new RangeError(`--task-index must be an integer in [0, ${slice.count - 1}], got ${slice.index}`);
  }
}

/**
 * The groups (in plan order) that belong to `slice`: round-robin over the distinct groups, so the
 * assignment depends only on the plan, never on timing, and slices get near-equal shares.
 */
export function groupsOfSlice(groupsInOrder: readonly string[], slice: TaskSlice): Set<string> {
  checkSlice(slice);
  const distinct = [...new Set(groupsInOrder)];
  return new Set(distinct.filter((_, i) => i % slice.count === slice.index));
}
