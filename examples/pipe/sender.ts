/** examples/pipe, one-way: sends five numbers, then closes its end. */
import type { Connection, RemoteQueue } from "@baton/baton/worker";

export default async function sender(
  conn: Connection<number, unknown>,
  sent: RemoteQueue<number>,
): Promise<void> {
  for (const n of [1, 2, 3, 4, 5]) {
    conn.send(n);
    await sent.put(n); // for the summary
  }
  conn.close(); // what was sent stays readable at the other end
  console.log("sender: sent 1, 2, 3, 4, 5, then closed its end");
}
