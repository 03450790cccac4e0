/// <reference lib="deno.worker" />
/** examples/pipe, duplex: answers each ping until the other end closes. */
import { connect, type Connection, PipeClosed } from "@baton/baton/worker";

const remote = await connect<{ conn: Connection<string, string> }>(self);
const conn = remote.conn;
let answered = 0;
while (true) {
  let message: string;
  try {
    message = await conn.recv();
  } catch (error) {
    if (!(error instanceof PipeClosed)) throw error;
    console.log(`pong: PipeClosed after ${answered} messages: end of stream`);
    break;
  }
  conn.send(message.replace("ping", "pong"));
  answered++;
}
conn.close();
await remote.close();
self.postMessage({ finished: answered });
self.close();
