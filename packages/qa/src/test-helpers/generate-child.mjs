// Runs the openai generator with the options and over the chunks given as JSON on argv[2] (for the
// SIGKILL test); the API key comes from LWM_TEST_API_KEY, as a recipe's apiKeyEnv would name it. Prints the result as JSON.
import { OpenAIGenerator, qaForChunks } from "../../dist/index.js";

// options: chatGeneratorOptions (chat-server.ts) as JSON, less the key.
const { options, chunks } = JSON.parse(process.argv[2]);
const generator = new OpenAIGenerator({ ...options, apiKey: process.env.LWM_TEST_API_KEY });
const result = await qaForChunks(generator, chunks, 1);
process.stdout.write(JSON.stringify({ result, counters: generator.counters() }));
