/**
 * "Will this clone?", answered for almost nothing on plain data.
 *
 * Batching posts many values in one `postMessage` at the end of a turn, but a
 * value that cannot be cloned must fail the call that carried it, at once,
 * never the batch later. {@linkcode snapshot} settles that synchronously:
 *
 * - primitives come back as they are;
 * - plain data (objects whose prototype is `Object.prototype` or `null`,
 *   arrays whose prototype is `Array.prototype`, nested up to 500 levels) comes
 *   back as a **copy** that structured clone accepts by construction, so
 *   the copy, not the original, is what gets posted;
 * - a function or a symbol anywhere in plain data throws `DataCloneError`,
 *   and an error thrown by a getter propagates as it is;
 * - anything else anywhere in the value (class instances, `Date`, `Map`,
 *   typed arrays, `Error`, `Blob`, `MessagePort`, `URL`, ...) gives
 *   {@linkcode NEEDS_PLATFORM}: only the platform knows (and runtimes differ),
 *   so the caller posts the original value now and takes `postMessage`'s
 *   own verdict.
 *
 * What the copy means, where it differs from cloning the original:
 *
 * - Each own enumerable string-keyed property is read exactly once, in the
 *   order structured clone reads it; the copy holds what was read. A getter
 *   is run once (structured clone runs it once too; posting the copy runs no
 *   getter again). A property deleted by an earlier getter is left out, as
 *   V8's serializer does. Enumerable symbol-keyed properties of an object
 *   are read too (their getters run once) and ride along on the copy, where
 *   structured clone skips them as it skips them on the original.
 * - A `Proxy` whose target is a plain object or array is copied through its
 *   traps as the plain data it shows. The platform refuses to clone a
 *   `Proxy` (`DataCloneError`); baton sends what the proxy shows instead.
 * - An object whose prototype was set to `Object.prototype` but that is a
 *   platform object underneath (a `Map` re-prototyped, say) is copied as the
 *   plain data it shows; structured clone would see the `Map`.
 * - When the walk meets a value for the platform, the getters it already
 *   ran run again when the platform clones the original.
 *
 * A value nested more than 500 levels deep also goes to the platform, whose
 * serializer has limits of its own.
 *
 * Shared references and cycles are kept as structured clone keeps them; the
 * map that tracks them is made only when an object holds another object.
 * Array holes, `length` and extra non-index properties are kept exactly.
 *
 * Internal: not exported from an entry point.
 *
 * @module
 */

import { checkedCopy } from "./travel.ts";

/**
 * What {@linkcode snapshot} returns when only the platform can tell whether
 * a value clones: post the original value now, synchronously, and let
 * `postMessage` throw or accept it.
 *
 * @example
 * ```ts
 * import { NEEDS_PLATFORM, snapshot } from "./clone.ts";
 *
 * console.log(snapshot(new Date(0)) === NEEDS_PLATFORM); // true
 * ```
 */
export const NEEDS_PLATFORM: unique symbol = Symbol("baton.needsPlatform");

/** Nesting levels the walk copies; a value nested deeper goes to the platform. */
const MAX_DEPTH = 500;

/** Shared references met so far: original object to its copy. */
type Seen = Map<object, object>;

const objectPrototype = Object.prototype;
const arrayPrototype = Array.prototype;
const getPrototypeOf = Object.getPrototypeOf;
const isArray = Array.isArray;
const keysOf = Object.keys;
const hasOwn = Object.hasOwn;
const defineProperty = Object.defineProperty;

/**
 * A copy of `value` that structured clone is sure to accept, `value` itself
 * for a primitive, or {@linkcode NEEDS_PLATFORM} when the value holds
 * something only the platform can judge (see the module documentation).
 *
 * @param value The value to check and copy.
 * @returns The copy to post, or {@linkcode NEEDS_PLATFORM}.
 * @throws {DOMException} `DataCloneError` for a function or a symbol in
 *   plain data.
 * @throws {unknown} whatever a getter in the value throws.
 *
 * @example
 * ```ts
 * import { NEEDS_PLATFORM, snapshot } from "./clone.ts";
 *
 * const item = { id: 1, v: "x" };
 * const copy = snapshot(item);
 * console.log(copy !== item, copy); // true { id: 1, v: "x" }
 * console.log(snapshot(42)); // 42
 * console.log(snapshot(new Map()) === NEEDS_PLATFORM); // true
 * try {
 *   snapshot({ run() {} });
 * } catch (error) {
 *   console.log((error as DOMException).name); // "DataCloneError"
 * }
 * ```
 */
export function snapshot<T>(value: T): T | typeof NEEDS_PLATFORM {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function" || typeof value === "symbol") throw uncloneable(value);
    return value;
  }
  return copyAny(value, undefined, 0) as T | typeof NEEDS_PLATFORM;
}

/** Copies a plain object or array, or gives {@linkcode NEEDS_PLATFORM}. */
function copyAny(value: object, seen: Seen | undefined, depth: number): unknown {
  // Deeper than this, the walk could outgrow the stack where the platform
  // would not (or fail differently): the platform judges.
  if (depth > MAX_DEPTH) return NEEDS_PLATFORM;
  if (isArray(value)) {
    return getPrototypeOf(value) === arrayPrototype
      ? copyArray(value as unknown[], seen, depth)
      : NEEDS_PLATFORM;
  }
  const prototype = getPrototypeOf(value);
  if (prototype !== objectPrototype && prototype !== null) return NEEDS_PLATFORM;
  return copyObject(value as Record<string, unknown>, seen, depth);
}

/** Starts tracking shared references at the first nested object. */
function track(source: object, copy: object): Seen {
  const seen: Seen = new Map();
  seen.set(source, copy);
  return seen;
}

/**
 * Copies a plain object. The spread reads each own enumerable property once
 * (in structured clone's order, skipping one a getter deleted) into data
 * properties; a scan of the copy's values then finds what needs more work,
 * so a flat object costs one spread and one `Object.values`.
 */
function copyObject(
  source: Record<string, unknown>,
  seen: Seen | undefined,
  depth: number,
): unknown {
  const copy: Record<string, unknown> = { ...source };
  seen?.set(source, copy);
  // The copy's own data properties, in Object.keys order. Inherited enumerable ones (a
  // polluted Object.prototype) come after every own one: at worst they send it to
  // finishObject with an index past the own keys, which then changes nothing.
  let index = 0;
  for (const key in copy) {
    const value = copy[key];
    if (typeof value === "object" ? value !== null : isUncloneable(value)) {
      return finishObject(source, copy, seen, index, depth);
    }
    index++;
  }
  return copy;
}

/**
 * Replaces the nested objects of `copy` by their copies, from the `from`-th
 * property on (the copy holds data properties only: reading it again runs
 * no getter).
 */
function finishObject(
  source: object,
  copy: Record<string, unknown>,
  seen: Seen | undefined,
  from: number,
  depth: number,
): unknown {
  const keys = keysOf(copy);
  for (let i = from; i < keys.length; i++) {
    const key = keys[i]!;
    const value = copy[key];
    if (typeof value === "object" && value !== null) {
      seen ??= track(source, copy);
      const result = seen.get(value) ?? copyAny(value, seen, depth + 1);
      if (result === NEEDS_PLATFORM) return NEEDS_PLATFORM;
      if (key === "__proto__") define(copy, key, result);
      else copy[key] = result;
    } else if (isUncloneable(value)) {
      throw uncloneable(value);
    }
  }
  return copy;
}

/** Whether a non-object value is one structured clone refuses. */
function isUncloneable(value: unknown): boolean {
  return typeof value === "function" || typeof value === "symbol";
}

/**
 * Copies an array with its length, holes and extra non-index properties:
 * `Object.keys` lists the present indices in order, then the other keys, so
 * the keys past the present indices are the extra ones.
 */
function copyArray(source: unknown[], seen: Seen | undefined, depth: number): unknown {
  const length = source.length;
  const keys = keysOf(source);
  // Holes or extra keys: walk the keys, not the indices (a sparse array's
  // length may be in the billions).
  if (keys.length !== length) return copySparseArray(source, keys, seen, depth);
  const copy: unknown[] = [];
  seen?.set(source, copy);
  let present = 0;
  for (let index = 0; index < length; index++) {
    const value = source[index];
    if (value === undefined && !(index in source)) continue; // a hole stays a hole
    present++;
    let result: unknown = value;
    if (typeof value === "object" && value !== null) {
      seen ??= track(source, copy);
      result = seen.get(value) ?? copyAny(value, seen, depth + 1);
      if (result === NEEDS_PLATFORM) return NEEDS_PLATFORM;
    } else if (typeof value === "function" || typeof value === "symbol") {
      throw uncloneable(value);
    }
    copy[index] = result;
  }
  if (copy.length !== length) copy.length = length; // trailing holes
  return copyKeys(source, copy, keys, present, seen, depth);
}

/** Copies an array with holes or extra properties, key by key. */
function copySparseArray(
  source: unknown[],
  keys: string[],
  seen: Seen | undefined,
  depth: number,
): unknown {
  const copy: unknown[] = [];
  seen?.set(source, copy);
  copy.length = source.length;
  return copyKeys(source, copy, keys, 0, seen, depth);
}

/**
 * Copies `keys[from..]` of `source` onto `copy` as own data properties
 * (a key a getter deleted on the way is skipped, as structured clone does).
 */
function copyKeys(
  source: object,
  copy: object,
  keys: string[],
  from: number,
  seen: Seen | undefined,
  depth: number,
): unknown {
  const record = source as Record<string, unknown>;
  for (let i = from; i < keys.length; i++) {
    const key = keys[i]!;
    const value = record[key];
    if (value === undefined && !hasOwn(source, key)) continue;
    let result: unknown = value;
    if (typeof value === "object" && value !== null) {
      seen ??= track(source, copy);
      result = seen.get(value) ?? copyAny(value, seen, depth + 1);
      if (result === NEEDS_PLATFORM) return NEEDS_PLATFORM;
    } else if (isUncloneable(value)) {
      throw uncloneable(value);
    }
    define(copy, key, result);
  }
  return copy;
}

/** Defines an own data property (an own `__proto__` stays a property). */
function define(target: object, key: string, value: unknown): void {
  defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The error structured clone throws for a function or a symbol. */
function uncloneable(value: unknown): DOMException {
  const text = typeof value === "symbol" ? value.toString() : String(value);
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return new DOMException(`${shown} could not be cloned.`, "DataCloneError");
}

/**
 * A value certain to cross `postMessage` as `value` would: the copy of
 * plain data from {@linkcode snapshot}, else the platform's own
 * `structuredClone` of `value` (slower, and the platform's verdict on the
 * value itself), or, when baton primitives or proxies sit in its arrays,
 * plain objects, `Map`s or `Set`s, a copy that keeps them as placeholders
 * (a `Travelling` copy, W-14) with every other part cloned by the platform.
 * Throws what cloning `value` throws: `DataCloneError`, or the error a
 * getter threw.
 *
 * @example
 * ```ts ignore
 * postable({ id: 1 }); // a plain copy
 * postable(new Map()); // structuredClone's copy
 * postable(() => 1); // throws DataCloneError
 * ```
 */
export function postable<T>(value: T): T {
  const copy = snapshot(value);
  return copy === NEEDS_PLATFORM ? checkedCopy(value) as T : copy;
}
