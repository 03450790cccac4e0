/** examples/pipe, one-way: receives until the sender's end is closed and nothing is left. */
import { type Connection, PipeClosed, type RemoteQueue } from "@baton/baton/worker";

export default async function receiver(
  conn: Connection<unknown, number>,
  received: RemoteQueue<number>,
): Promise<void> {
  const got: number[] = [];
  while (true) {
    let n: number;
    try {
      n = await conn.recv();
    } catch (error) {
      if (error instanceof PipeClosed) break; // Python's EOFError
      throw error;
    }
    got.push(n);
    await received.put(n); // for the summary
  }
  console.log(`receiver: got ${got.join(", ")}, then PipeClosed: end of stream`);
  conn.close();
}
