/**
 * `lwm inspect <shard|dir|manifest> [--row N [--render row.png]] [--json] [--full] [--tokenizer PATH]` — shows what
 * shards hold: a summary (fill, loss share, modality mix, segments, segment lengths, sources), one
 * per stage for an output root (`lwm run --out DIR`), or with --row N the N-th row of the target
 * (counting across its shards) segment by segment, with decoded text («…» marks loss targets),
 * vision blocks, weights and provenance; `--render row.png` also decodes the row's vision blocks with
 * the stage's VQ model (--vqgan DIR, or the recipe's `vqgan` with --recipe) into a contact sheet.
 * It takes the targets `lwm validate` takes.
 * Exit 0 ok, 1 the shards cannot be read as shards, 2 usage or I/O error.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ClipDecoder, renderSheetPng, rowClips, vqModelDir, type PlacedFrame } from "@lwm/vision-sheets";
import { describeProvenance, rowSegments, segmentText, shardGroups, ShardError, ShardReader, summarizeShards, type ShardSummary } from "@lwm/shards";
import type { PackedRow } from "@lwm/shards";
import { loadTokenizer, type Tokenizer } from "@lwm/tokenizer";
import { errorMessage, parseCommandLine, usageError, wholeNumber } from "../args.js";

const USAGE =
  "usage: lwm inspect <shard.arrow|dir|output-root|manifest.json> [--row N [--render row.png (--vqgan DIR | --recipe recipe.json)]] [--json] [--full] [--tokenizer tokenizer.json]\n";
/** Characters of decoded text shown per segment without --full. */
const TEXT_PREVIEW = 400;

/** `--json` of an output root: one summary per stage folder, sorted by folder name. */
interface StageSummary {
  stage: string;
  summary: ShardSummary;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const kib = (n: number) => (n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

function table(rows: string[][], alignRight: boolean[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (alignRight[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** Where the task counts come from: the shards' task column, or (before format 3) each segment's layout. */
function taskSourceNote(fromLayout: number, segments: number): string {
  const why = "shards before format 3 record no task, so a 1-frame video counts as an image";
  if (fromLayout === 0) return "recorded per segment";
  if (fromLayout === segments) return `read off the layout: ${why}`;
  return `${fromLayout} of ${segments} segments read off the layout: ${why}`;
}

function formatSummary(s: ShardSummary): string {
  const out: string[] = [];
  const m = s.meta;
  out.push(`shards      ${s.shards.length} (${kib(s.bytes)}, ${(s.bytes / Math.max(1, s.tokens)).toFixed(3)} bytes/token)`);
  for (const sh of s.shards) out.push(`  ${sh.file}: ${sh.rows} rows in ${sh.batches} batches, ${kib(sh.bytes)}`);
  if (m) {
    out.push(`stage       ${m.stage}   seqLen ${m.seqLen}   tokens ${m.tokenDtype}   rowsPerBatch ${m.rowsPerBatch}`);
    out.push(`models      tokenizer ${m.tokenizerSha256.slice(0, 12)}…   vqgan ${m.vqganSha256 ? `${m.vqganSha256.slice(0, 12)}…` : "none"}`);
  }
  out.push(`rows        ${s.rows}`);
  out.push(`tokens      ${s.tokens} (real ${s.realTokens}, fill ${pct(s.fill)}, padding ${s.tokens - s.realTokens})`);
  out.push(`loss        ${s.lossTokens} tokens = ${pct(s.lossShare)} of real tokens (text ${s.textLossTokens}, vision ${s.visionLossTokens})`);
  const real = Math.max(1, s.realTokens);
  out.push(`modality    text ${s.textTokens} (${pct(s.textTokens / real)})   vision ${s.visionTokens} (${pct(s.visionTokens / real)})`);
  out.push(`segments    ${s.segments} (per row min ${s.segmentsPerRow.min}, mean ${s.segmentsPerRow.mean.toFixed(2)}, max ${s.segmentsPerRow.max})`);
  if (s.vision.clips > 0) {
    const v = s.vision;
    out.push(
      `vision      ${v.clips} clips, ${v.frames} frames (per clip min ${v.framesPerClip.min}, mean ${v.framesPerClip.mean.toFixed(2)}, max ${v.framesPerClip.max})`,
    );
  }
  if (s.segments > 0) {
    const v = s.vision;
    out.push(
      `tasks       ${v.tasks.map((t) => `${t.task} ${t.segments} (${pct(t.tokens / real)})`).join("   ")}   (${taskSourceNote(v.tasksFromLayout, s.segments)})`,
    );
  }
  out.push("segment lengths (tokens, log2 buckets)");
  const most = Math.max(1, ...s.segmentLengths.map((b) => b.count));
  const hist = s.segmentLengths
    .filter((b) => b.count > 0)
    .map((b) => [`[${b.from}, ${b.to})`, String(b.count), "█".repeat(Math.max(1, Math.round((40 * b.count) / most)))]);
  if (hist.length > 0) out.push(...table(hist, [false, true, false]).map((l) => `  ${l}`));
  out.push("sources");
  const src = [["source", "segments", "tokens"], ...s.sources.map((x) => [x.source, String(x.segments), String(x.tokens)])];
  out.push(...table(src, [false, true, true]).map((l) => `  ${l}`));
  return out.join("\n") + "\n";
}

const weight = (w: number) => (w === 0 ? "0" : w.toPrecision(6));

function preview(text: string, full: boolean): string {
  if (full || text.length <= TEXT_PREVIEW) return text;
  const head = Math.floor(TEXT_PREVIEW * 0.6);
  return `${text.slice(0, head)} … [${text.length - TEXT_PREVIEW} chars] … ${text.slice(text.length - (TEXT_PREVIEW - head))}`;
}

async function openTokenizer(path: string | undefined, expectedSha: string | undefined): Promise<Tokenizer | null> {
  try {
    const tokenizer = await loadTokenizer(path);
    if (expectedSha && tokenizer.sha256 !== expectedSha) {
      process.stderr.write(
        `lwm inspect: note: the shard was made with tokenizer ${expectedSha.slice(0, 12)}…, decoding with ${tokenizer.path} (${tokenizer.sha256.slice(0, 12)}…)\n`,
      );
    }
    return tokenizer;
  } catch (err) {
    process.stderr.write(`lwm inspect: showing token ids (no tokenizer: ${(err as Error).message})\n`);
    return null;
  }
}

interface RenderRequest {
  png: string;
  vqgan?: string;
  recipe?: string;
}

interface RenderedRow {
  png: string;
  width: number;
  height: number;
  blocks: number;
  frames: PlacedFrame[];
  note: string | null;
}

/** The row's vision blocks decoded by the stage's VQ model into one PNG contact sheet. */
async function renderRow(row: PackedRow, reader: ShardReader, title: string, tokenizer: Tokenizer | null, request: RenderRequest): Promise<RenderedRow> {
  const clips = await rowClips(row, reader.meta.vocab, tokenizer);
  if (clips.length === 0) throw new Error(`${title} has no vision blocks: nothing to render`);
  const decoder = await ClipDecoder.open(await vqModelDir(request), reader.meta.vqganSha256);
  try {
    const decoded = [];
    for (const clip of clips) decoded.push(await decoder.decode(clip, title));
    const sheet = await renderSheetPng(title, decoded);
    await writeFile(request.png, sheet.png);
    return { png: request.png, width: sheet.width, height: sheet.height, blocks: clips.length, frames: sheet.frames, note: decoder.note };
  } finally {
    await decoder.release();
  }
}

async function inspectRow(
  paths: string[],
  n: number,
  json: boolean,
  full: boolean,
  tokenizerPath: string | undefined,
  render: RenderRequest | null,
): Promise<number> {
  let first = 0;
  for (const path of paths) {
    const reader = await ShardReader.open(path);
    try {
      if (n >= first + reader.numRows) {
        first += reader.numRows;
        continue;
      }
      const local = n - first;
      const row = await reader.row(local);
      const { vocab, seqLen } = reader.meta;
      const segments = rowSegments(row, vocab);
      const tokenizer = await openTokenizer(tokenizerPath, reader.meta.tokenizerSha256);
      const texts = await Promise.all(segments.map((s) => segmentText(row, s, tokenizer, vocab)));
      const used = row.cuSeqlens[row.cuSeqlens.length - 1]!;
      const sheet = render ? await renderRow(row, reader, `row ${n} = ${reader.name} row ${local}`, tokenizer, render) : null;
      if (sheet?.note) process.stderr.write(`lwm inspect: note: ${sheet.note}\n`);
      if (json) {
        const out = {
          shard: reader.name,
          shardRow: local,
          row: n,
          seqLen,
          realTokens: used,
          padding: { start: used, end: seqLen },
          segments: segments.map(({ spans: _spans, ...s }, k) => ({ ...s, text: texts[k] })),
          ...(sheet ? { render: sheet } : {}),
        };
        process.stdout.write(JSON.stringify(out) + "\n");
        return 0;
      }
      const lines = [`row ${n} = ${reader.name} row ${local}: ${segments.length} segments, ${used} real tokens, padding [${used}, ${seqLen})`, ""];
      const head = ["seg", "task", "tokens", "len", "text", "vision", "loss t/v", "w_text", "w_vision", "example"];
      const cells = segments.map((s) => [
        String(s.index),
        s.task,
        `[${s.start}, ${s.end})`,
        String(s.length),
        String(s.textTokens),
        String(s.visionTokens),
        `${s.textLossTokens}/${s.visionLossTokens}`,
        weight(s.weightText),
        weight(s.weightVision),
        s.exampleId,
      ]);
      const rendered = table([head, ...cells], [true, false, false, true, true, true, true, false, false, false]);
      if (row.tasks === null) lines.push(`tasks read off the layout: ${reader.name} is format ${reader.meta.formatVersion}, which records no task`, "");
      lines.push(rendered[0]!);
      segments.forEach((s, k) => {
        lines.push(rendered[k + 1]!);
        lines.push(`      source: ${describeProvenance(s.provenance)}`);
        for (const b of s.visionBlocks)
          lines.push(`      vision: [${b.start}, ${b.end}) ${b.frames} frame${b.frames === 1 ? "" : "s"}${b.loss ? ", loss" : ""}`);
        lines.push(`      text:   ${preview(texts[k]!, full).replace(/\n/g, "\n              ")}`);
      });
      if (sheet) lines.push("", `rendered ${sheet.blocks} vision block(s), ${sheet.frames.length} frame(s) to ${sheet.png} (${sheet.width}×${sheet.height})`);
      process.stdout.write(lines.join("\n") + "\n");
      return 0;
    } finally {
      await reader.close();
    }
  }
  return usageError("inspect", `--row ${n} is out of range: the target has ${first} rows`);
}

export async function run(argv: string[]): Promise<number> {
  const cl = parseCommandLine(
    "inspect",
    USAGE,
    argv,
    {
      row: { type: "string" },
      json: { type: "boolean" },
      full: { type: "boolean" },
      tokenizer: { type: "string" },
      render: { type: "string" },
      vqgan: { type: "string" },
      recipe: { type: "string" },
    },
    { count: 1, what: "one target" },
  );
  if (typeof cl === "number") return cl;
  const { values, positionals } = cl;
  const row = values.row === undefined ? undefined : wholeNumber(values.row);
  if (row === null) return usageError("inspect", `--row must be a non-negative integer, got ${values.row}`);
  if (values.render !== undefined && row === undefined) return usageError("inspect", "--render draws one row: give --row N");
  if ((values.vqgan !== undefined || values.recipe !== undefined) && values.render === undefined)
    return usageError("inspect", "--vqgan and --recipe choose the decoder of --render; give --render row.png");
  const render = values.render === undefined ? null : { png: values.render, vqgan: values.vqgan, recipe: values.recipe };
  try {
    const target = positionals[0]!;
    const groups = await shardGroups(target);
    if (row !== undefined) {
      const [group, ...more] = groups;
      if (more.length > 0) {
        return usageError(
          "inspect",
          `--row needs one stage: ${target} is an output root with stages ${groups.map((g) => g.stage).join(", ")}; name a stage folder, e.g. ${join(target, group!.stage!)}`,
        );
      }
      return await inspectRow(group!.paths, row, values.json ?? false, values.full ?? false, values.tokenizer, render);
    }
    const [single] = groups;
    if (single && single.stage === null) {
      const summary = await summarizeShards(single.paths);
      process.stdout.write(values.json ? JSON.stringify(summary) + "\n" : formatSummary(summary));
      return 0;
    }
    const stages: StageSummary[] = [];
    for (const g of groups) stages.push({ stage: g.stage!, summary: await summarizeShards(g.paths) });
    process.stdout.write(
      values.json
        ? JSON.stringify({ root: target, stages }) + "\n"
        : stages.map((s) => `== stage ${s.stage} (${join(target, s.stage)})\n${formatSummary(s.summary)}`).join("\n"),
    );
    return 0;
  } catch (err) {
    if (err instanceof ShardError) {
      process.stderr.write(`lwm inspect: ${err.message} (run lwm validate for every problem)\n`);
      return 1;
    }
    // Missing paths, unreadable files, a manifest that is not a Manifest: nothing to inspect.
    return usageError("inspect", errorMessage(err));
  }
}
