/**
 * pipe: `Pipe()` between two workers, both ways. The main thread makes the
 * pipe and hands one end to each worker (`serve` transfers a pipe end); from
 * then on the two workers talk directly, without the main thread.
 *
 * 1. Duplex: "ping" sends three messages and waits for each answer from
 *    "pong", then closes its end; pong's next `recv()` rejects `PipeClosed`:
 *    the end of the stream.
 * 2. One-way (`duplex: false`): a sender sends five numbers and closes; the
 *    receiver reads until `PipeClosed`.
 *
 * Python: `multiprocessing.Pipe()` / `Pipe(duplex=False)` with `send`,
 * `recv`, `close`, and `EOFError` once the other end is closed and drained.
 *
 * Run: deno task example:pipe
 */
import { Pipe, serve } from "@baton/baton/worker";
import { finished } from "../_finished.ts";

const start = (module: string) => new Worker(new URL(module, import.meta.url), { type: "module" });

// 1. Duplex: both ends send and receive.
const [pingEnd, pongEnd] = Pipe<string, string>();
const ping = start("./ping.ts");
const pong = start("./pong.ts");
const duplexLinks = [serve(ping, { conn: pingEnd }), serve(pong, { conn: pongEnd })];
const [exchanges, answered] = await Promise.all([finished<number>(ping), finished<number>(pong)]);
for (const link of duplexLinks) link.close();

// 2. One-way: the first end only receives, the second only sends.
const [receiveEnd, sendEnd] = Pipe<unknown, number>({ duplex: false });
const sender = start("./sender.ts");
const receiver = start("./receiver.ts");
const oneWayLinks = [serve(sender, { conn: sendEnd }), serve(receiver, { conn: receiveEnd })];
const [sent, received] = await Promise.all([
  finished<number[]>(sender),
  finished<number[]>(receiver),
]);
for (const link of oneWayLinks) link.close();

console.log(
  `summary: duplex_exchanges=${exchanges} duplex_answered=${answered} oneway_sent=${sent.length} oneway_received=${received.length} oneway_same=${
    sent.join() === received.join()
  }`,
);
