/**
 * The Redis entry point (`@baton/baton/redis`) as its users call it, on any
 * runtime with sockets: queues with timeouts, nowait calls, `maxsize`,
 * `taskDone`/`join` and `shutdown`, aborted gets, an event, a
 * semaphore and a lock with its fencing token, two clients on one queue
 * streams, LIFO and priority queues, and `close()` settling blocked
 * calls (cutting their connections when the server refuses to cancel them)
 * and calls made just before it, `close()` while the server is away, a
 * connection that cannot be made, and a connect given up on with a timeout
 * (the server never answers).
 *
 * Portable: no Deno API, only baton, ioredis, `@std/assert` and `node:net`
 * (for a server that never answers, and one that goes away).
 * `tests/redis_runtimes_test.ts` runs the checks on Deno, and
 * `deno task test:runtimes` bundles them from `src/redis/mod.ts` (ioredis
 * left to the runtime's own resolution, as a consumer's bundler leaves an npm
 * dependency) and runs them on Node and Bun against one throwaway server.
 * Each check uses its own names, each run its own database (`db`), and every
 * client a check opens is closed before it ends, so that the process can end
 * by itself once the last check is done.
 *
 * @module
 */

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { createConnection, createServer, type Socket } from "node:net";
import { Redis } from "ioredis";
import { QueueEmpty, QueueFull, QueueShutDown } from "../../mod.ts";
import { LinkClosed } from "../../src/worker/mod.ts";
import { connectRedis, type RedisClient } from "../../src/redis/mod.ts";

/** Where the checks find their server: a unix socket, and the database they alone use. */
export interface RedisPlace {
  path: string;
  db: number;
}

/** One check. */
export interface RedisCheck {
  name: string;
  run(place: RedisPlace): Promise<void>;
}

/** Runs `fn` with `count` clients of the server at `place`; closes them all afterwards. */
async function withClients(
  place: RedisPlace,
  count: number,
  fn: (clients: RedisClient[]) => Promise<void>,
): Promise<void> {
  const clients: RedisClient[] = [];
  try {
    for (let i = 0; i < count; i++) {
      clients.push(await connectRedis({ path: place.path, db: place.db }));
    }
    await fn(clients);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `count` connections of database `place.db` are blocked in the
 * server (`CLIENT LIST`, flag `b`): only this run uses that database.
 */
async function blockedIn(place: RedisPlace, count: number): Promise<void> {
  const raw = new Redis({ path: place.path, lazyConnect: true });
  await raw.connect();
  try {
    const deadline = Date.now() + 20_000;
    while (true) {
      const list = String(await raw.call("CLIENT", "LIST", "TYPE", "normal"));
      const blocked = list.split("\n").filter((line) =>
        line.includes(` db=${place.db} `) && /\bflags=\S*b/.test(line)
      ).length;
      if (blocked === count) {
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`${blocked} connections blocked in db ${place.db}, not ${count}`);
      }
      await sleep(5);
    }
  } finally {
    await raw.quit();
  }
}

/**
 * Runs `fn` with a unix socket at `path` that accepts every connection and
 * never answers it; closes them all and the server afterwards.
 */
async function withSilentServer(path: string, fn: () => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  try {
    await fn();
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Runs `fn` with a unix socket at `path` that relays every connection to the
 * server at `target` until `down()` is called: then it closes them all, and
 * each later one at once (a server that went away). Everything is closed
 * afterwards.
 */
async function withRelay(
  path: string,
  target: string,
  fn: (down: () => void) => Promise<void>,
): Promise<void> {
  const sockets = new Set<Socket>();
  let isDown = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const server = createServer((socket) => {
    track(socket);
    if (isDown) {
      socket.destroy();
      return;
    }
    const upstream = createConnection({ path: target });
    track(upstream);
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  try {
    await fn(() => {
      isDown = true;
      for (const socket of sockets) socket.destroy();
    });
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The checks, in the order they run. */
export const checks: RedisCheck[] = [
  {
    name:
      "R-1: put and get with and without a timeout; getNowait and a timed get on an empty queue reject QueueEmpty",
    run: (place) =>
      withClients(place, 1, async ([redis]) => {
        const queue = redis!.queue<{ n: number }>("basics");
        await queue.put({ n: 1 });
        await queue.put({ n: 2 }, { timeout: 1_000 });
        assertEquals(await queue.qsize(), 2);
        assertEquals(await queue.get(), { n: 1 });
        assertEquals(await queue.get({ timeout: 1_000 }), { n: 2 });
        await assertRejects(() => queue.getNowait(), QueueEmpty);
        await assertRejects(() => queue.get({ timeout: 20 }), QueueEmpty);
        await queue.putNowait({ n: 3 });
        assertEquals(await queue.getNowait(), { n: 3 });
        assertEquals(await queue.empty(), true);
      }),
  },
  {
    name:
      "R-2: maxsize: putNowait and a timed put on a full queue reject QueueFull; a blocked put goes in once a get frees a slot",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const producer = a!.queue<number>("bounded", { maxsize: 2 });
        const consumer = b!.queue<number>("bounded", { maxsize: 2 });
        await producer.putNowait(1);
        await producer.put(2);
        assertEquals(await producer.full(), true);
        await assertRejects(() => producer.putNowait(3), QueueFull);
        await assertRejects(() => producer.put(3, { timeout: 20 }), QueueFull);
        const blocked = producer.put(3);
        assertEquals(await consumer.get(), 1);
        await blocked;
        await a!.flush();
        assertEquals(await consumer.get(), 2);
        assertEquals(await consumer.get(), 3);
        assertEquals(await consumer.qsize(), 0);
      }),
  },
  {
    name:
      "R-4: join on another client resolves once every item taken is marked done; one taskDone too many rejects RangeError",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const worker = a!.queue<string>("tasks");
        const watcher = b!.queue<string>("tasks");
        await worker.put("x");
        await worker.put("y");
        let joined = false;
        const joining = watcher.join().then((value) => {
          joined = true;
          return value;
        });
        assertEquals(await worker.get(), "x");
        await worker.taskDone();
        assertEquals(await worker.get(), "y");
        assertEquals(await worker.unfinishedTasks, 1);
        assertEquals(joined, false);
        await worker.taskDone();
        assertEquals(await joining, true);
        assertEquals(await watcher.unfinishedTasks, 0);
        await assertRejects(() => worker.taskDone(), RangeError);
      }),
  },
  {
    name:
      "R-4: after shutdown puts reject QueueShutDown, what was queued is still got, then gets on every client reject QueueShutDown",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const owner = a!.queue<number>("closing");
        const other = b!.queue<number>("closing");
        await owner.put(1);
        await a!.flush();
        assertEquals(await other.get(), 1);
        const waiting = other.get().then(() => "item", (error) => error);
        await blockedIn(place, 1);
        await owner.put(2);
        assertEquals(await waiting, "item");
        await owner.put(3);
        await owner.shutdown();
        assertEquals(await other.isShutdown, true);
        await assertRejects(() => other.put(4), QueueShutDown);
        assertEquals(await other.get(), 3);
        const blocked = owner.get().then(() => "item", (error) => error);
        assertInstanceOf(await blocked, QueueShutDown);
        await assertRejects(() => other.getNowait(), QueueShutDown);
        await assertRejects(() => other.get({ timeout: 1_000 }), QueueShutDown);
      }),
  },
  {
    name:
      "R-5: gets aborted or timed out while another client puts lose nothing: every item is got exactly once",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const producer = a!.queue<number>("races", { maxsize: 10 });
        const consumer = b!.queue<number>("races", { maxsize: 10 });
        const reason = new Error("cancelled");
        await assertRejects(
          () => consumer.get({ signal: AbortSignal.abort(reason) }),
          Error,
          "cancelled",
        );
        const rounds = 60;
        const got: number[] = [];
        for (let i = 0; i < rounds; i++) {
          const controller = new AbortController();
          const getting = i % 2 === 0
            ? consumer.get({ timeout: 1 + (i % 5) })
            : consumer.get({ signal: controller.signal });
          const putting = producer.put(i).then(() => a!.flush());
          if (i % 2 === 1) setTimeout(() => controller.abort(reason), i % 3);
          try {
            got.push(await getting);
          } catch (error) {
            assert(error === reason || error instanceof QueueEmpty, String(error));
          }
          await putting;
        }
        while (true) {
          try {
            got.push(await consumer.getNowait());
          } catch (error) {
            assertInstanceOf(error, QueueEmpty);
            break;
          }
        }
        assertEquals(got.sort((x, y) => x - y), Array.from({ length: rounds }, (_, i) => i));
      }),
  },
  {
    name:
      "R-1: an event: a timed wait returns false, a wait on one client ends when another sets it, clear resets it",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const waiter = a!.event("go");
        const setter = b!.event("go");
        assertEquals(await waiter.isSet(), false);
        assertEquals(await waiter.wait({ timeout: 20 }), false);
        const waiting = waiter.wait();
        await blockedIn(place, 1);
        await setter.set();
        assertEquals(await waiting, true);
        assertEquals(await waiter.isSet(), true);
        assertEquals(await waiter.wait({ timeout: 0 }), true);
        await setter.clear();
        assertEquals(await waiter.isSet(), false);
      }),
  },
  {
    name:
      "R-1: a semaphore shared by two clients: at zero a try and a timed acquire return false, a release wakes the other client's acquire",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const first = a!.semaphore("pool", 2);
        const second = b!.semaphore("pool", 2);
        assertEquals(await first.acquire(), true);
        assertEquals(await first.acquire({ timeout: 1_000 }), true);
        assertEquals(await first.value, 0);
        assertEquals(await second.acquire({ timeout: 0 }), false);
        assertEquals(await second.acquire({ timeout: 20 }), false);
        const waiting = second.acquire();
        await blockedIn(place, 1);
        assertEquals(await second.waiting, 1);
        await first.release();
        assertEquals(await waiting, true);
        await first.release();
        await second.release();
        assertEquals(await first.value, 2);
        const bounded = a!.boundedSemaphore("slots", 1);
        await assertRejects(() => bounded.release(), RangeError);
      }),
  },
  {
    name:
      "R-7: a lock held by one client blocks the other until released; its fencing token grows with every acquire",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const mine = a!.lock("ledger");
        const theirs = b!.lock("ledger");
        const tokens: number[] = [];
        assertEquals(await mine.acquire(), true);
        tokens.push(mine.token!);
        assertEquals(await theirs.locked(), true);
        assertEquals(await theirs.acquire({ timeout: 20 }), false);
        const waiting = theirs.acquire();
        await blockedIn(place, 1);
        await mine.release();
        assertEquals(await waiting, true);
        tokens.push(theirs.token!);
        await theirs.release();
        {
          using _held = await mine.hold();
          tokens.push(mine.token!);
          assertEquals(await theirs.locked(), true);
        }
        // the hold's release is sent on dispose; the next acquire waits for it if need be
        assertEquals(await theirs.acquire({ timeout: 5_000 }), true);
        tokens.push(theirs.token!);
        await theirs.release();
        assertEquals(await mine.locked(), false);
        for (let i = 1; i < tokens.length; i++) {
          assert(tokens[i]! > tokens[i - 1]!, `tokens ${tokens.join(", ")}`);
        }
      }),
  },
  {
    name:
      "R-2: two clients on one queue: what one puts through maxsize 5, the other gets in the same order",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const producer = a!.queue<number>("fifo", { maxsize: 5 });
        const consumer = b!.queue<number>("fifo", { maxsize: 5 });
        const count = 300;
        const producing = (async () => {
          for (let i = 0; i < count; i++) await producer.put(i);
          await producer.shutdown();
        })();
        const got: number[] = [];
        for await (const item of consumer) {
          got.push(item);
          await consumer.taskDone();
        }
        await producing;
        assertEquals(got, Array.from({ length: count }, (_, i) => i));
        assertEquals(await producer.join({ timeout: 1_000 }), true);
      }),
  },
  {
    name:
      "R-1: close() settles a blocked get with LinkClosed, later calls reject LinkClosed, and an item put afterwards is still there",
    run: (place) =>
      withClients(place, 1, async ([other]) => {
        const redis = await connectRedis({ path: place.path, db: place.db });
        const queue = redis.queue<number>("abandoned");
        const getting = queue.get().then(() => "item", (error) => error);
        await blockedIn(place, 1);
        await redis.close();
        assertInstanceOf(await getting, LinkClosed);
        await assertRejects(() => queue.get(), LinkClosed);
        await assertRejects(() => queue.put(1), LinkClosed);
        const kept = other!.queue<number>("abandoned");
        await kept.put(7);
        await other!.flush();
        assertEquals(await kept.get({ timeout: 1_000 }), 7);
      }),
  },
  {
    name:
      "R-1: a put, a get and an event wait started before close() in a client's first calls settle: the puts that resolved are on the server",
    run: (place) =>
      withClients(place, 1, async ([reader]) => {
        const redis = await connectRedis({ path: place.path, db: place.db });
        const queue = redis.queue<number>("first-calls");
        const outcome = (call: Promise<unknown>) =>
          call.then(() => "resolved", (error: Error) => error.name);
        const puts = [0, 1, 2, 3, 4].map((item) => outcome(queue.put(item)));
        const others = [
          outcome(redis.queue<number>("first-empty").get()),
          outcome(
            redis.event("first-event").wait(),
          ),
        ];
        await redis.close();
        const settled = await Promise.all(puts);
        for (const put of settled) assert(put === "resolved" || put === "LinkClosed", put);
        assertEquals(await Promise.all(others), ["LinkClosed", "LinkClosed"]);
        assertEquals(
          await reader!.queue<number>("first-calls").qsize(),
          settled.filter((put) => put === "resolved").length,
        );
      }),
  },
  {
    name:
      "R-1: close() when the server refuses to cancel blocked calls cuts their connections: get, lock acquire, event wait and join reject LinkClosed",
    run: async (place) => {
      // a user of its own, refused CLIENT UNBLOCK: the other runs on this server are not
      const user = `baton-cut-${place.db}`;
      const raw = new Redis({ path: place.path, db: place.db, lazyConnect: true });
      await raw.connect();
      try {
        await raw.call(
          "ACL",
          "SETUSER",
          user,
          "on",
          "nopass",
          "~*",
          "&*",
          "+@all",
          "-client|unblock",
        );
        const redis = await connectRedis({ path: place.path, db: place.db, username: user });
        const queue = redis.queue<number>("cut");
        const lock = redis.lock("cut");
        await lock.acquire();
        await queue.put(1);
        assertEquals(await queue.get(), 1); // a task left unfinished: join blocks
        const outcome = (call: Promise<unknown>) => call.then(() => "resolved", (error) => error);
        const calls = [
          outcome(queue.get()),
          outcome(lock.acquire()),
          outcome(redis.event("cut").wait()),
          outcome(queue.join()),
        ];
        await blockedIn(place, calls.length);
        await redis.close();
        for (const call of calls) assertInstanceOf(await call, LinkClosed);
        await blockedIn(place, 0);
      } finally {
        await raw.call("ACL", "DELUSER", user);
        await raw.quit();
      }
    },
  },
  {
    name: "R-1: connectRedis to a socket nobody listens on rejects, and leaves nothing open",
    run: async (place) => {
      await assertRejects(() => connectRedis({ path: `${place.path}.nobody`, db: place.db }));
    },
  },
  {
    name:
      "R-1: connectRedis with a timeout to a server that never answers rejects TimeoutError, and leaves nothing open",
    run: (place) => {
      const path = `${place.path}.silent-${place.db}`; // one per run: runs share the directory
      return withSilentServer(path, async () => {
        const error = await assertRejects(() =>
          connectRedis({ path, db: place.db }, { timeout: 100 })
        );
        assertInstanceOf(error, DOMException);
        assertEquals(error.name, "TimeoutError");
      });
    },
  },
  {
    name:
      "R-1, R-9: close() while the connection waits 60 s to reconnect (the server went away) settles, rejecting AggregateError for a put it could not send, and leaves nothing open",
    run: (place) => {
      const path = `${place.path}.relay-${place.db}`; // one per run: runs share the directory
      return withRelay(path, place.path, async (down) => {
        let waits = 0;
        const retryStrategy = () => {
          waits++;
          return 60_000;
        };
        const redis = await connectRedis({ path, db: place.db, retryStrategy });
        const jobs = redis.queue<number>("away");
        await jobs.put(1);
        await redis.flush();
        down();
        const deadline = Date.now() + 20_000;
        while (waits === 0) {
          if (Date.now() > deadline) throw new Error("the connection did not wait to reconnect");
          await sleep(5);
        }
        await jobs.put(2); // batched: it resolves before it reached the server
        // Before the fix, close() waited for a reconnect that never came; on Node and Bun the
        // run must also end by itself: no retry timer or socket may outlive the close.
        const error = await assertRejects(() => redis.close());
        assertInstanceOf(error, AggregateError);
        assertEquals(waits, 1);
      });
    },
  },
  {
    name: "R-5: a timed get or acquire never gives up before its timeout",
    run: (place) =>
      withClients(place, 1, async ([redis]) => {
        const queue = redis!.queue<number>("late");
        const semaphore = redis!.semaphore("late", 0);
        for (const timeout of [1, 2, 5, 10, 30]) {
          let start = performance.now();
          await assertRejects(() => queue.get({ timeout }), QueueEmpty);
          let waited = performance.now() - start;
          assert(waited >= timeout, `get gave up after ${waited} of ${timeout} ms`);
          start = performance.now();
          assertEquals(await semaphore.acquire({ timeout }), false);
          waited = performance.now() - start;
          assert(waited >= timeout, `acquire gave up after ${waited} of ${timeout} ms`);
        }
      }),
  },
  {
    name:
      "R-1: a queue's writable stream on one client feeds a readable stream on another; LIFO and priority queues",
    run: (place) =>
      withClients(place, 2, async ([a, b]) => {
        const writer = a!.queue<number>("stream", { maxsize: 3 }).toWritableStream().getWriter();
        const reading = (async () => {
          const got: number[] = [];
          for await (const item of b!.queue<number>("stream", { maxsize: 3 }).toReadableStream()) {
            got.push(item);
          }
          return got;
        })();
        for (let i = 0; i < 10; i++) await writer.write(i);
        await writer.close();
        assertEquals(await reading, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        const lifo = a!.lifoQueue<number>("lifo");
        await lifo.put(1);
        await lifo.put(2);
        assertEquals([await lifo.get(), await lifo.get()], [2, 1]);
        const urgent = a!.priorityQueue<number>("urgent");
        for (const item of [5, 1, 3]) await urgent.put(item);
        assertEquals([await urgent.get(), await urgent.get(), await urgent.get()], [1, 3, 5]);
      }),
  },
];
