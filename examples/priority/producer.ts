/** examples/priority: puts one [priority, task] pair per priority given; task names are `<name><n>`. */
import { currentProcess, type RemoteQueue } from "@baton/baton/worker";

export default async function producer(
  tasks: RemoteQueue<[number, string]>,
  priorities: number[],
  produced: RemoteQueue<string>,
): Promise<void> {
  const name = currentProcess().name;
  for (const [index, priority] of priorities.entries()) {
    await tasks.put([priority, `${name}${index + 1}`]);
    await produced.put(`${name}${index + 1}`); // for the summary
  }
}
