/**
 * @lwm/qa: synthetic long-context QA (lwm-spec §6). Generator backends behind one interface
 * (extractive, openai, local), the versioned prompt, sentence-end chunking and grounding checks.
 * The pipeline step that uses them is pipelines/qa.
 */
export { QaPair, type Chunk, type Generation, type Generator, type GeneratorIdentity, type JudgeOutcome, type Proposal } from "./generator.js";
export {
  PROMPT_VERSION,
  SYSTEM_PROMPT,
  CHAT_PREFIX,
  USER_MARKER,
  ASSISTANT_MARKER,
  qaMessages,
  userPrompt,
  lwmChatPrompt,
  passageNonce,
  parseReply,
  jsonOfReply,
  generationOfReply,
  type ChatMessage,
} from "./prompt.js";
export { sentenceEnds, sentencesOf, normalize, wordsOf, contentWords, type Sentence } from "./text.js";
export { chunkDocument, charOffsetsOfBytes, type TokenizedDocument, type DocumentChunk } from "./chunks.js";
export { checkPair, ambiguity, questionKey, instructionLike, DEFAULT_GROUNDING, type GroundingOptions, type Check } from "./grounding.js";
export { qaForChunks, judgeGeneration, type QaRecord, type QaReject, type ChunkQa, type QaOptions, type Verdicts } from "./chunk-qa.js";
export { JUDGE_PROMPT_VERSION, JUDGE_SYSTEM_PROMPT, judgeMessages, judgeUserPrompt, verdictOfReply, verdictRejection, qaIdentity } from "./judge.js";
export { ExtractiveGenerator, EXTRACTIVE_VERSION } from "./extractive.js";
export { OpenAIGenerator, requestKey, type OpenAIGeneratorOptions } from "./openai/generator.js";
export { ChatClient, ChatBackendError, type ChatClientOptions, type ChatRequest, type ChatResult } from "./openai/client.js";
export { RequestCache, CachedAnswer } from "./openai/cache.js";
export { backoffDelay, retryAfterMs, type BackoffOptions } from "./openai/backoff.js";
export { LocalGenerator, localPromptIds, type LocalGeneratorOptions } from "./local/generator.js";
export { topP, argmax, nextTokenRule } from "./local/sampler.js";
