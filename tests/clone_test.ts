/**
 * `snapshot` (src/worker/clone.ts), the synchronous verdict behind W-3 for
 * batched sends: its copy of plain data must be exactly what structured
 * clone makes (shape, key order, holes, extra array properties, shared
 * references, cycles), it must never hand back a part of the original, and
 * anything it cannot vouch for must go to the platform.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import fc from "fast-check";
import { NEEDS_PLATFORM, snapshot } from "../src/worker/clone.ts";

/** More random cases under `deno task test:deep` (`BATON_DEEP=1`). */
const NUM_RUNS = Deno.env.get("BATON_DEEP") === "1" ? 5_000 : 300;

/**
 * Whether `a` and `b` have exactly the same structure: primitives equal by
 * `Object.is`; objects of the same kind (plain object / array), prototype,
 * own enumerable string keys in the same order, same array length and holes,
 * and one-to-one identity (a shared reference or cycle in one is the same
 * in the other). Returns a path to the first difference, or `undefined`.
 */
function difference(a: unknown, b: unknown): string | undefined {
  const left = new Map<object, object>();
  const right = new Map<object, object>();
  const walk = (x: unknown, y: unknown, path: string): string | undefined => {
    if (typeof x !== "object" || x === null || typeof y !== "object" || y === null) {
      return Object.is(x, y) ? undefined : `${path}: ${Deno.inspect(x)} vs ${Deno.inspect(y)}`;
    }
    const known = left.get(x);
    if (known !== undefined || right.has(y)) {
      return known === y && right.get(y) === x ? undefined : `${path}: identity differs`;
    }
    left.set(x, y);
    right.set(y, x);
    if (Array.isArray(x) !== Array.isArray(y)) return `${path}: array vs object`;
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return `${path}: prototype`;
    if (Array.isArray(x) && x.length !== (y as unknown[]).length) return `${path}: length`;
    const keys = Object.keys(x);
    const otherKeys = Object.keys(y);
    if (keys.join("\u0000") !== otherKeys.join("\u0000")) {
      return `${path}: keys ${Deno.inspect(keys)} vs ${Deno.inspect(otherKeys)}`;
    }
    for (const key of keys) {
      const found = walk(
        (x as Record<string, unknown>)[key],
        (y as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(a, b, "$");
}

/** Every object reachable from `value` through own enumerable string keys. */
function objectsIn(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value !== "object" || value === null || into.has(value)) return into;
  into.add(value);
  for (const key of Object.keys(value)) objectsIn((value as Record<string, unknown>)[key], into);
  return into;
}

/** Checks that `snapshot(value)` is structured clone's copy and shares nothing with `value`. */
function assertClonesLikePlatform(value: unknown): void {
  const copy = snapshot(value);
  assert(copy !== NEEDS_PLATFORM, `plain data went to the platform: ${Deno.inspect(value)}`);
  const expected = structuredClone(value);
  const found = difference(copy, expected);
  assertEquals(found, undefined, `snapshot differs from structuredClone at ${found}`);
  if (typeof value === "object" && value !== null) {
    const originals = objectsIn(value);
    for (const object of objectsIn(copy)) {
      assert(!originals.has(object), "the copy holds an object of the original");
    }
  }
}

/** Checks that `snapshot` throws `DataCloneError`, as structured clone does. */
function assertDataCloneError(value: unknown): void {
  const error = assertThrows(() => snapshot(value));
  assertInstanceOf(error, DOMException);
  assertEquals(error.name, "DataCloneError");
  const platform = assertThrows(() => structuredClone(value));
  assertEquals((platform as DOMException).name, "DataCloneError", "the platform agrees");
}

// ---- primitives and plain data ----

Deno.test("W-3: snapshot returns primitives as they are", () => {
  for (
    const value of [0, -0, 1.5, NaN, Infinity, "", "x", "\ud800", true, false, null, undefined, 10n]
  ) {
    assert(Object.is(snapshot(value), value), String(value));
  }
});

Deno.test("W-3: snapshot copies plain data exactly as structured clone does", () => {
  const proto = JSON.parse('{"__proto__": {"a": 1}, "b": [1]}');
  const nullProto = Object.assign(Object.create(null), { a: 1, nested: Object.create(null) });
  const holes = [1, , 3, , ,];
  const extra = Object.assign([1, 2], { name: "x", nested: { deep: [0] } });
  const holesAndExtra = Object.assign([, "b"], { k: 1 });
  const order = { b: 1, 2: "two", a: 3, 1: "one", [Symbol("hidden")]: 4 };
  const hidden = Object.defineProperty({ shown: 1 }, "hidden", { value: 2, enumerable: false });
  for (
    const value of [
      {},
      [],
      { id: 1, v: "x" },
      { u: undefined, n: null, z: -0, nan: NaN, big: 2n ** 70n, s: "\u00e9\ud83d\ude00" },
      [[[[[1]]]]],
      { a: { b: { c: { d: [{ e: "deep" }] } } } },
      proto,
      nullProto,
      holes,
      new Array(5),
      extra,
      holesAndExtra,
      order,
      hidden,
      Object.assign([], { "-1": "negative", "4294967295": "not an index" }),
      JSON.parse('{"__proto__": 1, "a": 2}'),
      Object.assign([1, , 3], { extra: [4] }, { 5: "after a hole" }),
    ]
  ) {
    assertClonesLikePlatform(value);
  }
});

Deno.test("W-3: snapshot of a sparse array walks its keys, not its length", () => {
  const sparse: unknown[] = [];
  sparse[2 ** 32 - 2] = "last index";
  sparse[7] = { seven: 7 };
  Object.assign(sparse, { name: "sparse" });
  assertClonesLikePlatform(sparse);
  assertEquals((snapshot(sparse) as unknown[]).length, 2 ** 32 - 1);
});

Deno.test("W-3: a value nested deeper than the walk goes to the platform; shallower ones are copied", () => {
  const nest = (depth: number, wrap: (inner: unknown) => unknown) => {
    let value: unknown = { end: true };
    for (let i = 0; i < depth; i++) value = wrap(value);
    return value;
  };
  assertClonesLikePlatform(nest(400, (inner) => ({ next: inner })));
  assertClonesLikePlatform(nest(400, (inner) => [inner]));
  for (const depth of [600, 100_000]) {
    assertStrictEquals(snapshot(nest(depth, (inner) => ({ next: inner }))), NEEDS_PLATFORM);
    assertStrictEquals(snapshot(nest(depth, (inner) => [1, inner])), NEEDS_PLATFORM);
  }
});

Deno.test("W-3: snapshot keeps shared references and cycles as structured clone does", () => {
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { list: [] };
  (cyclic.list as unknown[]).push(cyclic, shared, shared);
  cyclic.self = cyclic;
  cyclic.shared = shared;
  const array: unknown[] = [1];
  array.push(array);
  Object.assign(array, { me: array, other: shared });
  for (const value of [{ a: shared, b: [shared, shared] }, cyclic, array, [shared, { shared }]]) {
    assertClonesLikePlatform(value);
  }
  const copy = snapshot(cyclic) as typeof cyclic;
  assertStrictEquals(copy.self, copy);
  assertStrictEquals((copy.list as unknown[])[0], copy);
});

Deno.test("W-3: snapshot of random plain data (shared references, cycles, holes) equals structuredClone", () => {
  const plain = fc.anything({
    withNullPrototype: true,
    withSparseArray: true,
    withBigInt: true,
    maxDepth: 4,
  });
  // Links between the objects of a value: [from, to, key], turned into
  // shared references and cycles.
  const links = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.string({ maxLength: 3 })), {
    maxLength: 6,
  });
  fc.assert(
    fc.property(plain, links, (value, linkList) => {
      const objects = [...objectsIn(value)];
      if (objects.length > 0) {
        for (const [from, to, key] of linkList) {
          const target = objects[from % objects.length]!;
          const linked = objects[to % objects.length]!;
          const name = Array.isArray(target) && key === "length" ? "len" : key;
          Object.defineProperty(target, name, {
            value: linked,
            writable: true,
            enumerable: true,
            configurable: true,
          });
        }
      }
      assertClonesLikePlatform(value);
    }),
    { numRuns: NUM_RUNS },
  );
});

// ---- what snapshot refuses or leaves to the platform ----

Deno.test("W-3: a function or a symbol anywhere in plain data throws DataCloneError", () => {
  const fn = () => 1;
  const symbol = Symbol("s");
  for (
    const value of [
      fn,
      symbol,
      { run: fn },
      { nested: { deep: [1, { symbol }] } },
      [1, 2, fn],
      Object.assign([1], { extra: symbol }),
      { ok: 1, method() {} },
    ]
  ) {
    assertDataCloneError(value);
  }
  // Symbol keys are not cloned, so their values are never judged.
  assertClonesLikePlatform({ [symbol]: fn, kept: 1 });
});

Deno.test("W-3: a getter is read once; the copy holds what it returned, not a second read", () => {
  let reads = 0;
  const changing = {
    get value() {
      reads++;
      return reads === 1 ? "first" : { later: () => "not cloneable" };
    },
  };
  const copy = snapshot({ item: changing }) as { item: { value: unknown } };
  assertEquals(reads, 1);
  assertEquals(copy.item, { value: "first" });
  // The copy clones as it is: no getter runs again.
  assertEquals(structuredClone(copy), { item: { value: "first" } });
  assertEquals(reads, 1);
});

Deno.test("W-3: an error thrown by a getter propagates as it is", () => {
  const boom = new RangeError("getter failed");
  const value = {
    ok: 1,
    get bad(): never {
      throw boom;
    },
  };
  assertStrictEquals(assertThrows(() => snapshot({ wrapper: [value] })), boom);
  assertStrictEquals(assertThrows(() => structuredClone(value)), boom, "the platform agrees");
});

Deno.test("W-3: a property deleted by an earlier getter is left out, as structured clone does", () => {
  const make = () => {
    const value: Record<string, unknown> = {
      get first() {
        delete value.second;
        return 1;
      },
      second: 2,
      third: 3,
    };
    return value;
  };
  assertEquals(snapshot(make()), { first: 1, third: 3 });
  assertEquals(structuredClone(make()), { first: 1, third: 3 });
});

Deno.test("W-3: an array whose element's getter deletes a later element or an extra property: a trailing hole, the property left out, as structured clone does", () => {
  const make = (extra: boolean) => {
    const array: unknown[] & { extra?: string } = [];
    array.push(
      {
        get value() {
          delete array[2]; // the last index: a trailing hole, the length stays 3
          delete array.extra;
          return "first";
        },
      },
      2,
      3,
    );
    if (extra) array.extra = "deleted before it is read";
    return array;
  };
  for (const extra of [false, true]) {
    const copies = [snapshot(make(extra)), structuredClone(make(extra))] as unknown[][];
    for (const [copy, by] of [[copies[0]!, "snapshot"], [copies[1]!, "the platform"]] as const) {
      assertEquals(copy.length, 3, by);
      assertEquals(Object.keys(copy), ["0", "1"], `${by}: index 2 a hole, no extra key`);
      assertEquals(copy[0], { value: "first" }, by);
    }
  }
});

Deno.test("W-3: a Proxy of plain data becomes a plain copy of what it shows", () => {
  const proxy = new Proxy({ a: 1, b: { c: [2] } }, {
    get: (target, key, receiver) => key === "a" ? 10 : Reflect.get(target, key, receiver),
  });
  const copy = snapshot({ proxy });
  assertEquals(copy, { proxy: { a: 10, b: { c: [2] } } });
  assertEquals(structuredClone(copy), copy, "the copy clones");
  // The platform itself refuses the proxy: baton sends what it shows instead.
  assertThrows(() => structuredClone({ proxy }), DOMException);
  assertEquals(snapshot(new Proxy([1, 2], {})), [1, 2]);
});

Deno.test("W-3: anything but plain data, at any depth, goes to the platform", () => {
  class Point {
    x = 1;
  }
  const { port1, port2 } = new MessageChannel();
  const stream = new ReadableStream();
  try {
    const others: unknown[] = [
      new Point(),
      new Date(0),
      new Map([[1, 2]]),
      new Set([1]),
      /x/g,
      new Uint8Array(2),
      new ArrayBuffer(2),
      new Error("e"),
      new Blob(["b"]),
      new URL("https://example.com/"),
      port1,
      stream,
      Object(1),
      Object.setPrototypeOf([1], null),
    ];
    for (const other of others) {
      assertStrictEquals(snapshot(other), NEEDS_PLATFORM, Deno.inspect(other));
      assertStrictEquals(snapshot({ deep: [{ other }] }), NEEDS_PLATFORM);
      assertStrictEquals(snapshot([1, [2, other]]), NEEDS_PLATFORM);
      assertStrictEquals(snapshot(Object.assign([1], { other })), NEEDS_PLATFORM);
    }
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("W-3: random values holding platform objects go to the platform, plain ones are copied", () => {
  const isPlain = (value: unknown, seen = new Set<object>()): boolean => {
    if (typeof value !== "object" || value === null || seen.has(value)) return true;
    seen.add(value);
    const proto = Object.getPrototypeOf(value);
    const plain = Array.isArray(value)
      ? proto === Array.prototype
      : proto === Object.prototype || proto === null;
    return plain &&
      Object.keys(value).every((key) => isPlain((value as Record<string, unknown>)[key], seen));
  };
  const any = fc.anything({
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
    withNullPrototype: true,
    withBigInt: true,
    maxDepth: 3,
  });
  fc.assert(
    fc.property(any, (value) => {
      if (isPlain(value)) assertClonesLikePlatform(value);
      else assertStrictEquals(snapshot(value), NEEDS_PLATFORM);
    }),
    { numRuns: NUM_RUNS },
  );
});

Deno.test("W-3: snapshot of plain data is unchanged by an enumerable property on Object.prototype", () => {
  const proto = Object.prototype as Record<string, unknown>;
  Object.defineProperty(proto, "polluted", {
    value: { nested: true },
    enumerable: true,
    configurable: true,
    writable: true,
  });
  try {
    const nested = { deep: 1 };
    const copy = snapshot({ a: 1, b: nested, c: "x" }) as Record<string, unknown>;
    assertEquals(Object.keys(copy), ["a", "b", "c"]);
    assert(copy.b !== nested, "the nested object is copied, not shared");
    assertEquals(copy.b, { deep: 1 });
  } finally {
    delete proto.polluted;
  }
});
