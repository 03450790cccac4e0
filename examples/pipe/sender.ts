/// <reference lib="deno.worker" />
/** examples/pipe, one-way: sends five numbers, then closes its end. */
import { connect, type Connection } from "@baton/baton/worker";

const remote = await connect<{ conn: Connection<number, unknown> }>(self);
const sent = [1, 2, 3, 4, 5];
for (const n of sent) remote.conn.send(n);
remote.conn.close(); // what was sent stays readable at the other end
console.log(`sender: sent ${sent.join(", ")}, then closed its end`);
await remote.close();
self.postMessage({ finished: sent });
self.close();
