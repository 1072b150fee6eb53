import { Bool, DataType, Field, FixedSizeList, Float32, Int32, List, Schema, Type, Uint16, Uint32, Utf8 } from "apache-arrow";
import { FIRST_VERSION_WITH_TASKS, type ShardMetadata, type TokenDtype } from "@lwm/schemas";

/** Schema custom-metadata key holding the ShardMetadata JSON. */
export const METADATA_KEY = "lwm";

/** Column names in on-disk order (schemas/FORMAT.md, "Columns"); shards before format 3 end before `task`. */
export const COLUMNS = ["tokens", "vision", "loss", "cu_seqlens", "weight_text", "weight_vision", "example_id", "provenance", "task"] as const;
export type ColumnName = (typeof COLUMNS)[number];

/** Whether shards of this format version hold the per-segment `task` column (format 3 on). */
export function hasTaskColumn(meta: Pick<ShardMetadata, "formatVersion">): boolean {
  return meta.formatVersion >= FIRST_VERSION_WITH_TASKS;
}

/** The columns a shard of this format version holds, in order. */
export function columnsOf(meta: Pick<ShardMetadata, "formatVersion">): readonly ColumnName[] {
  return hasTaskColumn(meta) ? COLUMNS : COLUMNS.slice(0, -1);
}

const item = (type: DataType): Field => new Field("item", type, false);

function tokenType(dtype: TokenDtype): Uint16 | Uint32 {
  return dtype === "uint16" ? new Uint16() : new Uint32();
}

/** The Arrow schema of a shard with this metadata (metadata JSON included). */
export function shardSchema(meta: ShardMetadata): Schema {
  const fields = [
    new Field("tokens", new FixedSizeList(meta.seqLen, item(tokenType(meta.tokenDtype))), false),
    new Field("vision", new FixedSizeList(meta.seqLen, item(new Bool())), false),
    new Field("loss", new FixedSizeList(meta.seqLen, item(new Bool())), false),
    new Field("cu_seqlens", new List(item(new Int32())), false),
    new Field("weight_text", new List(item(new Float32())), false),
    new Field("weight_vision", new List(item(new Float32())), false),
    new Field("example_id", new List(item(new Utf8())), false),
    new Field("provenance", new List(item(new Utf8())), false),
    new Field("task", new List(item(new Utf8())), false),
  ].slice(0, columnsOf(meta).length);
  return new Schema(fields, new Map([[METADATA_KEY, JSON.stringify(meta)]]));
}

function describe(t: DataType): string {
  return String(t);
}

/** Same physical type, ignoring field names and nullability (other writers may differ there). */
function sameType(a: DataType, b: DataType): boolean {
  if (a.typeId !== b.typeId) return false;
  switch (a.typeId) {
    case Type.Int: {
      const x = a as Uint16,
        y = b as Uint16;
      return x.bitWidth === y.bitWidth && x.isSigned === y.isSigned;
    }
    case Type.Float:
      return (a as Float32).precision === (b as Float32).precision;
    case Type.FixedSizeList:
      return (a as FixedSizeList).listSize === (b as FixedSizeList).listSize && sameType(a.children[0]!.type, b.children[0]!.type);
    case Type.List:
      return sameType(a.children[0]!.type, b.children[0]!.type);
    default:
      return true;
  }
}

/**
 * Problems that make `actual` differ from the schema `meta` asks for: one message per column that
 * is missing, extra, out of order or of the wrong type. Empty when they match.
 */
export function schemaMismatches(actual: Schema, meta: ShardMetadata): string[] {
  const expected = shardSchema(meta).fields;
  const problems: string[] = [];
  const names = actual.fields.map((f) => f.name);
  const columns = columnsOf(meta);
  if (names.join(",") !== columns.join(",")) {
    problems.push(`columns are [${names.join(", ")}], expected [${columns.join(", ")}] in that order (format ${meta.formatVersion})`);
  }
  for (const want of expected) {
    const got = actual.fields.find((f) => f.name === want.name);
    if (got && !sameType(got.type, want.type)) {
      problems.push(`column ${want.name} is ${describe(got.type)}, expected ${describe(want.type)}`);
    }
  }
  return problems;
}

/**
 * Index of each data buffer in a record batch's buffer list (IPC order: fields depth first, each
 * with its validity bitmap, then offsets, then values). Validity buffers are empty (no nulls).
 */
export const BUFFER_INDEX = {
  tokens: 2,
  vision: 5,
  loss: 8,
  cuSeqlensOffsets: 10,
  cuSeqlens: 12,
  weightTextOffsets: 14,
  weightText: 16,
  weightVisionOffsets: 18,
  weightVision: 20,
  exampleIdListOffsets: 22,
  exampleIdOffsets: 24,
  exampleIdData: 25,
  provenanceListOffsets: 27,
  provenanceOffsets: 29,
  provenanceData: 30,
  taskListOffsets: 32,
  taskOffsets: 34,
  taskData: 35,
} as const;

/** Buffers per record batch: 31 before format 3, 36 with the task column. */
export function bufferCount(meta: Pick<ShardMetadata, "formatVersion">): number {
  return hasTaskColumn(meta) ? 36 : 31;
}
