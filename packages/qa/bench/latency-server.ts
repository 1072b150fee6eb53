/**
 * The benchmark's chat-completions server in a process of its own (qa.bench.ts --server process):
 * every request is answered after a fixed latency, so the client's process does only client work.
 * Prints {"url"} on its first stdout line; each "stats" line on stdin is answered with
 * {"requests", "cpuMs", "maxInFlight", "connections"} since the last one; it exits when stdin closes.
 *
 *   vite-node bench/latency-server.ts -- <latency ms>
 */
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { ChatServer, pairsReply } from "../src/test-helpers/chat-server.js";

const latency = Number(process.argv.at(-1));
if (!(latency >= 0)) throw new Error(`latency-server: give the latency in ms as the last argument, got "${process.argv.at(-1)}"`);
const server = await ChatServer.start(async (r) => {
  await sleep(latency);
  return pairsReply([{ question: "Which number is it?", answer: "7", evidence: r.passage }]);
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
let cpu = process.cpuUsage();
let requests = 0;
let connections = 0;
const lines = createInterface({ input: process.stdin });
lines.on("line", () => {
  const used = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({ requests: server.requests.length - requests, cpuMs: (used.user + used.system) / 1000, maxInFlight: server.maxInFlight, connections: server.connections - connections })}\n`,
  );
  connections = server.connections;
  requests = server.requests.length;
  server.maxInFlight = 0;
});
lines.on("close", () => void server.close().then(() => process.exit(0)));
