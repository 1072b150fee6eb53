import { join } from "node:path";

/** `lwm train`'s run folder when --out is not given: <data>/runs/<recipe name>. */
export function defaultRunDir(dataRoot: string, recipeName: string): string {
  return join(dataRoot, "runs", recipeName.replace(/[^A-Za-z0-9_.-]+/g, "_"));
}
