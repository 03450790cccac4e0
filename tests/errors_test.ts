/**
 * The error classes (src/errors.ts): Q-10 and the Barrier/Pipe/Link errors.
 */

import { assert, assertEquals, assertInstanceOf, assertStrictEquals } from "@std/assert";
import * as mod from "../mod.ts";
import * as errors from "../src/errors.ts";
import * as barrierModule from "../src/barrier.ts";
import * as workerModule from "../src/worker/mod.ts";
import { deserializeError, serializeError } from "../src/worker/wire.ts";

/** Each error class, and the entry point that exports it: the worker layer's errors are not in mod.ts. */
const CLASSES = [
  ["QueueEmpty", errors.QueueEmpty, mod],
  ["QueueFull", errors.QueueFull, mod],
  ["QueueShutDown", errors.QueueShutDown, mod],
  ["BrokenBarrierError", errors.BrokenBarrierError, mod],
  ["PipeClosed", errors.PipeClosed, workerModule],
  ["LinkClosed", errors.LinkClosed, workerModule],
  // also exported by @baton/baton/redis (checked in redis_restart_test.ts: this file runs in browsers)
  ["StateLost", errors.StateLost, errors],
] as const;

for (const [name, ErrorClass, entry] of CLASSES) {
  Deno.test(`Q-10: ${name} extends Error, with name equal to the class name`, () => {
    const error = new ErrorClass();
    assertInstanceOf(error, Error);
    assertInstanceOf(error, ErrorClass);
    assertEquals(error.name, name);
    assertEquals(ErrorClass.name, name);
    assert(error.message.length > 0, "a default message");
    assert(String(error).startsWith(`${name}: `));
    assert(typeof error.stack === "string");
  });

  Deno.test(`Q-10: ${name} takes a message and a cause`, () => {
    const cause = new Error("root");
    const error = new ErrorClass("custom message", { cause });
    assertEquals(error.message, "custom message");
    assertStrictEquals(error.cause, cause);
    assertEquals(error.name, name);
  });

  const entryName = entry === mod
    ? "mod.ts"
    : entry === errors
    ? "src/errors.ts"
    : "src/worker/mod.ts";
  Deno.test(`Q-10: ${name} is exported from ${entryName} as the same class`, () => {
    assertStrictEquals((entry as Record<string, unknown>)[name], ErrorClass);
  });
}

Deno.test("Q-10: the error classes are distinct: catching one does not catch another", () => {
  for (const [, A] of CLASSES) {
    for (const [, B] of CLASSES) {
      assertEquals(new A() instanceof B, A === B);
    }
  }
});

Deno.test("B-1: BrokenBarrierError is exported by the barrier subpath as the same class", () => {
  assertStrictEquals(barrierModule.BrokenBarrierError, errors.BrokenBarrierError);
});

Deno.test("W-7: a StateLost crosses the wire as itself (a Redis primitive's loss reported in a worker)", () => {
  const error = deserializeError(serializeError(new errors.StateLost("lost jobs")));
  assertInstanceOf(error, errors.StateLost);
  assertEquals(error.message, "lost jobs");
});
