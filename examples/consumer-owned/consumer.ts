/// <reference lib="deno.worker" />
/** examples/consumer-owned: owns the queue, serves it on its port, drains it here. */
import { Queue } from "@baton/baton";
import { serve } from "@baton/baton/worker";

self.onmessage = async (event: MessageEvent<{ port: MessagePort; maxsize: number }>) => {
  const { port, maxsize } = event.data;
  const numbers = new Queue<number>(maxsize);
  const link = serve(port, { numbers });
  let count = 0;
  let ordered = true;
  let largest = 0;
  for await (const n of numbers) { // ends once the producer shut it down and it is empty
    largest = Math.max(largest, numbers.qsize() + 1);
    if (n !== count) ordered = false;
    count++;
  }
  link.close();
  port.close();
  self.postMessage({ finished: { count, ordered, largest } });
  self.close();
};
