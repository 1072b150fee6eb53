/** A model folder: model.json (settings), encoder.onnx, decoder.onnx and any data files they share. */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, hashParts, sha256File, writeFileAtomic, writeJsonAtomic, type JsonValue } from "@lwm/core";
import { DECODER_FILE, ENCODER_FILE, MODEL_FILE, ModelSettings } from "./config.js";

export async function writeModelDir(
  dir: string,
  settings: ModelSettings,
  files: { encoder: Uint8Array; decoder: Uint8Array; extra?: Record<string, Uint8Array> },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files.extra ?? {})) await writeFileAtomic(join(dir, name), bytes);
  await writeFileAtomic(join(dir, ENCODER_FILE), files.encoder);
  await writeFileAtomic(join(dir, DECODER_FILE), files.decoder);
  // model.json last: a folder without it is not a finished model.
  await writeJsonAtomic(join(dir, MODEL_FILE), ModelSettings.parse(settings) as unknown as JsonValue);
}

export async function readModelSettings(dir: string): Promise<ModelSettings> {
  const path = join(dir, MODEL_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new ConfigError(path, (err as NodeJS.ErrnoException).code === "ENOENT" ? "no model.json (not a model folder, or an unfinished one)" : String(err));
  }
  const parsed = ModelSettings.safeParse(json);
  if (!parsed.success) throw new ConfigError(path, parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return parsed.data;
}

/**
 * The identity of a model folder: sha256 over its files' names and bytes, so any changed file is a
 * new model. Shards record it as `vqganSha256`; producers and decoders compare with this one hash.
 */
export async function modelFolderSha256(dir: string): Promise<string> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  const parts: string[] = ["lwm-vq-model/1"];
  for (const name of names) parts.push(name, await sha256File(join(dir, name)));
  return hashParts(parts);
}
