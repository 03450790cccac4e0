/** examples/pipe, duplex: sends three pings, waits for each pong, then closes its end. */
import type { Connection, RemoteQueue } from "@baton/baton/worker";

export default async function ping(
  conn: Connection<string, string>, // the pipe end, moved to this process
  exchanges: RemoteQueue<number>,
): Promise<void> {
  for (let n = 1; n <= 3; n++) {
    conn.send(`ping ${n}`);
    const answer = await conn.recv();
    console.log(`ping: sent "ping ${n}", got "${answer}"`);
    await exchanges.put(n); // for the summary
  }
  conn.close(); // pong's next recv() rejects PipeClosed
}
