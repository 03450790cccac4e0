/**
 * pipe: `Pipe()` between two processes, both ways. The main thread makes the
 * pipe and passes one end to each process in `args` (a pipe end moves to
 * the child); from then on the two processes talk directly, without the
 * main thread.
 *
 * 1. Duplex: "ping" sends three messages and waits for each answer from
 *    "pong", then closes its end; pong's next `recv()` rejects `PipeClosed`:
 *    the end of the stream.
 * 2. One-way (`duplex: false`): a sender sends five numbers and closes; the
 *    receiver reads until `PipeClosed`.
 *
 * Python: `multiprocessing.Pipe()` / `Pipe(duplex=False)` with an end passed
 * to each `Process(target=..., args=(conn,))`, `send`, `recv`, `close`, and
 * `EOFError` once the other end is closed and drained.
 *
 * Run: deno task example:pipe
 */
import { Queue } from "@baton/baton";
import { Pipe, Process } from "@baton/baton/worker";
import type ping from "./ping.ts";
import type pong from "./pong.ts";
import type receiver from "./receiver.ts";
import type sender from "./sender.ts";

const url = (module: string) => new URL(module, import.meta.url);

// 1. Duplex: both ends send and receive.
const [pingEnd, pongEnd] = Pipe<string, string>();
const exchanges = new Queue<number>(); // what each side reports, for the summary
const answered = new Queue<string>();
const p1 = new Process<typeof ping>(url("./ping.ts"), { args: [pingEnd, exchanges] });
const p2 = new Process<typeof pong>(url("./pong.ts"), { args: [pongEnd, answered] });
p1.start();
p2.start();
await p1.join();
await p2.join();

// 2. One-way: the first end only receives, the second only sends.
const [receiveEnd, sendEnd] = Pipe<unknown, number>({ duplex: false });
const sent = new Queue<number>();
const received = new Queue<number>();
const p3 = new Process<typeof sender>(url("./sender.ts"), { args: [sendEnd, sent] });
const p4 = new Process<typeof receiver>(url("./receiver.ts"), { args: [receiveEnd, received] });
p3.start();
p4.start();
await p3.join();
await p4.join();

const drain = <T>(queue: Queue<T>) =>
  Array.from({ length: queue.qsize() }, () => queue.getNowait());
const [sentItems, receivedItems] = [drain(sent), drain(received)];
console.log(
  `summary: duplex_exchanges=${exchanges.qsize()} duplex_answered=${answered.qsize()} oneway_sent=${sentItems.length} oneway_received=${receivedItems.length} oneway_same=${
    sentItems.join() === receivedItems.join()
  }`,
);
