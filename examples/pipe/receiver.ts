/// <reference lib="deno.worker" />
/** examples/pipe, one-way: receives until the sender's end is closed and nothing is left. */
import { connect, type Connection, PipeClosed } from "@baton/baton/worker";

const remote = await connect<{ conn: Connection<unknown, number> }>(self);
const received: number[] = [];
while (true) {
  try {
    received.push(await remote.conn.recv());
  } catch (error) {
    if (error instanceof PipeClosed) break; // Python's EOFError
    throw error;
  }
}
console.log(`receiver: got ${received.join(", ")}, then PipeClosed: end of stream`);
remote.conn.close();
await remote.close();
self.postMessage({ finished: received });
self.close();
