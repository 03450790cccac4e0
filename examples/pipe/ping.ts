/// <reference lib="deno.worker" />
/** examples/pipe, duplex: sends three pings, waits for each pong, then closes its end. */
import { connect, type Connection } from "@baton/baton/worker";

const remote = await connect<{ conn: Connection<string, string> }>(self);
const conn = remote.conn; // the pipe end, now owned by this worker
let exchanges = 0;
for (let n = 1; n <= 3; n++) {
  conn.send(`ping ${n}`);
  const answer = await conn.recv();
  console.log(`ping: sent "ping ${n}", got "${answer}"`);
  exchanges++;
}
conn.close(); // pong's next recv() rejects PipeClosed
await remote.close();
self.postMessage({ finished: exchanges });
self.close();
