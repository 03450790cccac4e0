/** examples/pipe, duplex: answers each ping until the other end closes. */
import { type Connection, PipeClosed, type RemoteQueue } from "@baton/baton/worker";

export default async function pong(
  conn: Connection<string, string>,
  answered: RemoteQueue<string>,
): Promise<void> {
  let count = 0;
  while (true) {
    let message: string;
    try {
      message = await conn.recv();
    } catch (error) {
      if (!(error instanceof PipeClosed)) throw error;
      console.log(`pong: PipeClosed after ${count} messages: end of stream`);
      break;
    }
    conn.send(message.replace("ping", "pong"));
    await answered.put(message); // for the summary
    count++;
  }
  conn.close();
}
