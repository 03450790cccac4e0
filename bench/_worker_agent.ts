/// <reference lib="deno.worker" />
/**
 * The worker side of bench/worker_bench.ts: one command per worker, sent as
 * a plain (non-baton) message; the result goes back the same way.
 */
import { Queue } from "../mod.ts";
import { connect, serve } from "../src/worker/mod.ts";

type Command =
  | { cmd: "raw-produce"; port?: MessagePort; n: number; batch: number; kind: Kind }
  | { cmd: "raw-consume"; port: MessagePort; n: number; credit?: boolean }
  | { cmd: "raw-bounded-produce"; port: MessagePort; n: number; window: number; kind: Kind }
  | { cmd: "baton-produce"; n: number; kind: Kind }
  | { cmd: "baton-consume" }
  | { cmd: "port-produce"; port: MessagePort; n: number; kind: Kind }
  | { cmd: "own-consume"; port: MessagePort }
  | { cmd: "raw-ping"; n: number }
  | { cmd: "remote-get"; n: number };
type Kind = "numbers" | "objects";

const item = (kind: Kind, i: number): unknown => kind === "numbers" ? i : { id: i, name: "item" };

self.addEventListener("message", async (event: MessageEvent) => {
  const command = event.data as Command;
  switch (command.cmd) {
    case "raw-produce": {
      const { n, batch, kind } = command;
      // Without a port, the items go to the main thread, which forwards them.
      const port = command.port ?? self;
      // Post in slices so the receiving side keeps up, as a real producer would.
      for (let i = 0; i < n;) {
        const end = Math.min(n, i + 50_000);
        while (i < end) {
          if (batch === 1) {
            port.postMessage(item(kind, i++));
          } else {
            const chunk = new Array(Math.min(batch, n - i));
            for (let k = 0; k < chunk.length; k++) chunk[k] = item(kind, i++);
            port.postMessage(chunk);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      command.port?.close();
      self.postMessage({ done: true });
      return;
    }
    case "raw-bounded-produce": {
      // The bound of a queue without the queue: at most `window` items unconsumed;
      // a quarter of the window per message, room given back per message received.
      const { port, n, window, kind } = command;
      let credits = window;
      let i = 0;
      const produce = () => {
        while (credits > 0 && i < n) {
          const chunk = new Array(Math.min(window / 4, credits, n - i));
          for (let k = 0; k < chunk.length; k++) chunk[k] = item(kind, i++);
          credits -= chunk.length;
          port.postMessage(chunk);
        }
        if (i === n) {
          port.close();
          self.postMessage({ done: true });
        }
      };
      port.onmessage = (message) => {
        credits += message.data as number;
        produce();
      };
      produce();
      return;
    }
    case "raw-consume": {
      const { port, n } = command;
      let count = 0;
      port.onmessage = (message) => {
        const received = Array.isArray(message.data) ? message.data.length : 1;
        count += received;
        if (command.credit && count < n) port.postMessage(received);
        if (count >= n) {
          port.close();
          self.postMessage({ count });
        }
      };
      return;
    }
    case "baton-produce": {
      const remote = await connect<{ q: Queue<unknown> }>(self);
      for (let i = 0; i < command.n; i++) await remote.q.put(item(command.kind, i));
      await remote.close();
      self.postMessage({ done: true });
      return;
    }
    case "baton-consume": {
      const remote = await connect<{ q: Queue<unknown> }>(self); // default prefetch
      let count = 0;
      for await (const _ of remote.q) count++;
      await remote.close();
      self.postMessage({ count });
      return;
    }
    case "port-produce": {
      // The queue lives in the consumer worker; this worker reaches it over a port.
      const remote = await connect<{ q: Queue<unknown> }>(command.port);
      for (let i = 0; i < command.n; i++) await remote.q.put(item(command.kind, i));
      await remote.q.shutdown();
      await remote.close();
      command.port.close();
      self.postMessage({ done: true });
      return;
    }
    case "own-consume": {
      // This worker owns the Queue(1000), serves it on the port and drains it itself.
      const queue = new Queue<unknown>(1000);
      const link = serve(command.port, { q: queue });
      let count = 0;
      for await (const _ of queue) count++;
      link.close();
      command.port.close();
      self.postMessage({ count });
      return;
    }
    case "raw-ping": {
      const times: number[] = [];
      let pending: ((value: unknown) => void) | undefined;
      self.addEventListener("message", (message: MessageEvent) => {
        if ((message.data as { pong?: number }).pong !== undefined) pending?.(undefined);
      });
      for (let i = 0; i < command.n; i++) {
        const start = performance.now();
        const answered = new Promise((resolve) => pending = resolve);
        self.postMessage({ ping: i });
        await answered;
        times.push(performance.now() - start);
      }
      self.postMessage({ times });
      return;
    }
    case "remote-get": {
      // prefetch 0: every get is a round trip served in the owner's thread.
      const remote = await connect<{ q: Queue<number> }>(self, { prefetch: 0 });
      const times: number[] = [];
      for (let i = 0; i < command.n; i++) {
        const start = performance.now();
        await remote.q.get();
        times.push(performance.now() - start);
      }
      await remote.close();
      self.postMessage({ times });
      return;
    }
  }
});
