import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ConfigError, sha256File, type Logger } from "@lwm/core";
import { ExtractiveGenerator, LocalGenerator, OpenAIGenerator, PROMPT_VERSION, qaIdentity, type Generator, type GeneratorIdentity } from "@lwm/qa";
import type { QaSource } from "@lwm/schemas";
import type { Tokenizer } from "@lwm/tokenizer";

/**
 * One QA source's generator, as the step plans and runs it. `identity` (plus `contentHash` for a
 * local checkpoint's weights) goes into the unit keys; `open()` gives the generator for one unit
 * and `release()` gives it back: the openai backend is shared by all units (one request window,
 * one counter set), the local one runs in its own engine per unit and is closed after it.
 * With `judge: true` the identity names the judge's prompt version too (qaIdentity).
 */
export interface PlannedGenerator {
  identity: GeneratorIdentity;
  /** sha256 of the local checkpoint's weights; null for the other backends. */
  contentHash: string | null;
  open(): Promise<Generator>;
  release(generator: Generator): Promise<void>;
  /** Announces how many chunks this run will ask about (progress lines with requests/s and ETA). */
  expect(chunks: number): void;
  /** Counters of everything this run sent (for the report). */
  counters(): Record<string, number>;
  close(): Promise<void>;
}

export interface GeneratorContext {
  source: QaSource;
  /** The source's index in recipe.sources (for error fields). */
  index: number;
  recipeDir: string;
  stepDir: string;
  tokenizer: Tokenizer;
  logger: Logger;
  progressIntervalMs: number;
}

type OpenAIConfig = Extract<QaSource["generator"], { kind: "openai" }>;
type LocalConfig = Extract<QaSource["generator"], { kind: "local" }>;

/** The API key's value from the variable the recipe names (undefined when it names none); unset or empty is a ConfigError. */
function apiKeyOf(config: OpenAIConfig, field: string): string | undefined {
  if (config.apiKeyEnv === undefined) return undefined;
  const apiKey = process.env[config.apiKeyEnv];
  if (apiKey === undefined || apiKey === "")
    throw new ConfigError(`${field}.apiKeyEnv`, `the environment variable ${config.apiKeyEnv} is not set (it should hold the API key)`);
  return apiKey;
}

/** The checkpoint folder and its weights; a folder without model.safetensors and config.json is a ConfigError. */
async function checkpointOf(config: LocalConfig, field: string, recipeDir: string): Promise<{ dir: string; weights: string }> {
  const dir = resolve(recipeDir, config.checkpoint);
  const weights = join(dir, "model.safetensors");
  for (const file of [weights, join(dir, "config.json")]) {
    if (
      !(await stat(file).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      throw new ConfigError(`${field}.checkpoint`, `no checkpoint at ${dir} (expected model.safetensors and config.json, as lwm train writes them)`);
  }
  return { dir, weights };
}

/**
 * The source's generator settings checked against this machine without starting anything (the
 * step's preflight): the API key variable is set, the checkpoint folder holds a model.
 */
export async function checkGeneratorConfig(source: QaSource, index: number, recipeDir: string): Promise<void> {
  const config = source.generator;
  const field = `sources[${index}].generator`;
  judgeOf(source, index);
  if (config.kind === "openai") apiKeyOf(config, field);
  if (config.kind === "local") await checkpointOf(config, field, recipeDir);
}

/** Whether the source has a judge; a judge without a model to ask (extractive) is a ConfigError. */
function judgeOf(source: QaSource, index: number): boolean {
  if (source.judge && source.generator.kind === "extractive")
    throw new ConfigError(`sources[${index}].judge`, `the extractive generator has no model to judge with (use an openai or local generator, or judge: false)`);
  return source.judge;
}

/** Builds the source's generator from the recipe; a missing API key variable or checkpoint is a ConfigError naming the field. */
export async function planGenerator(ctx: GeneratorContext): Promise<PlannedGenerator> {
  const judge = judgeOf(ctx.source, ctx.index);
  const planned = await planBackend(ctx);
  return { ...planned, identity: qaIdentity(planned.identity, judge) };
}

async function planBackend(ctx: GeneratorContext): Promise<PlannedGenerator> {
  const config = ctx.source.generator;
  const field = `sources[${ctx.index}].generator`;
  switch (config.kind) {
    case "extractive": {
      const generator = new ExtractiveGenerator();
      return {
        identity: generator.identity,
        contentHash: null,
        open: async () => generator,
        release: async () => undefined,
        expect: () => undefined,
        counters: () => generator.counters(),
        close: async () => undefined,
      };
    }
    case "openai": {
      const apiKey = apiKeyOf(config, field);
      const generator = new OpenAIGenerator({
        baseUrl: config.baseUrl,
        model: config.model,
        apiKey,
        concurrency: config.concurrency,
        timeoutMs: config.timeoutMs,
        maxRetries: config.maxRetries,
        backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs },
        maxRetryAfterMs: config.maxRetryAfterMs,
        breakerFailures: config.breakerFailures,
        sampling: config.sampling,
        jsonMode: config.jsonMode,
        cacheDir: join(ctx.stepDir, "request-cache"),
        logger: ctx.logger,
      });
      return {
        identity: generator.identity,
        contentHash: null,
        open: async () => generator,
        release: async () => undefined,
        expect: (chunks) => generator.startProgress(chunks, ctx.logger, ctx.progressIntervalMs),
        counters: () => generator.counters(),
        close: () => generator.close(),
      };
    }
    case "local": {
      const { dir, weights } = await checkpointOf(config, field, ctx.recipeDir);
      const contentHash = await sha256File(weights);
      const totals: Record<string, number> = {};
      const identity: GeneratorIdentity = { kind: "local", model: config.checkpoint, baseUrl: null, promptVersion: PROMPT_VERSION, sampling: config.sampling };
      return {
        identity,
        contentHash,
        open: () =>
          LocalGenerator.open({
            checkpointDir: dir,
            checkpointLabel: config.checkpoint,
            tokenizer: ctx.tokenizer,
            sampling: config.sampling,
            workers: config.workers,
          }),
        release: async (generator) => {
          for (const [k, v] of Object.entries(generator.counters())) totals[k] = (totals[k] ?? 0) + v;
          await generator.close();
        },
        expect: () => undefined,
        counters: () => ({ ...totals }),
        close: async () => undefined,
      };
    }
  }
}
