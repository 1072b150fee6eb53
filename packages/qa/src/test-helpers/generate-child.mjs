// Runs the openai generator over chunks given as JSON on argv[2] (for the SIGKILL test); the API
// key comes from LWM_TEST_API_KEY, as a recipe's apiKeyEnv would name it. Prints the result as JSON.
import { OpenAIGenerator, qaForChunks } from "../../dist/index.js";

const { baseUrl, cacheDir, chunks, concurrency } = JSON.parse(process.argv[2]);
const generator = new OpenAIGenerator({
  baseUrl,
  model: "test-model",
  apiKey: process.env.LWM_TEST_API_KEY,
  concurrency,
  timeoutMs: 60_000,
  maxRetries: 2,
  backoff: { baseMs: 50, maxMs: 500 },
  maxRetryAfterMs: 5_000,
  breakerFailures: 20,
  sampling: { mode: "greedy", maxNewTokens: 256 },
  jsonMode: true,
  cacheDir,
});
const result = await qaForChunks(generator, chunks, 1);
process.stdout.write(JSON.stringify({ result, counters: generator.counters() }));
