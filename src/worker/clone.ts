/**
 * Whether a value will cross `postMessage`, decided before it joins a batch.
 *
 * @module
 */

/** Returned by {@linkcode snapshot} when only the platform can decide: post the value now. */
export const PLATFORM: unique symbol = Symbol("baton.platform");

/**
 * A copy of plain data (primitives, plain objects and arrays) that is
 * certain to clone, made by reading each property once; {@linkcode PLATFORM}
 * for anything else. Throws `DataCloneError` for a function or symbol inside
 * plain data, and what a getter throws.
 */
export function snapshot(value: unknown, seen?: Map<object, unknown>): unknown {
  const type = typeof value;
  if (type !== "object") {
    if (type === "function" || type === "symbol") {
      throw new DOMException(
        `${String(value).slice(0, 60)} could not be cloned.`,
        "DataCloneError",
      );
    }
    return value;
  }
  if (value === null) return value;
  const object = value as Record<string, unknown>;
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null && prototype !== Array.prototype) {
    return PLATFORM;
  }
  const known = seen?.get(object);
  if (known !== undefined) return known;
  if (prototype === Array.prototype) {
    const array = object as unknown as unknown[];
    const copy: unknown[] = new Array(array.length);
    (seen ??= new Map()).set(object, copy);
    let keys = 0;
    for (const key in array) {
      keys++;
      const entry = snapshot(array[key as unknown as number], seen);
      if (entry === PLATFORM) return PLATFORM;
      (copy as unknown as Record<string, unknown>)[key] = entry;
    }
    if (keys !== array.length && Object.keys(array).length !== keys) return PLATFORM;
    return copy;
  }
  const copy: Record<string, unknown> = prototype === null ? Object.create(null) : {};
  for (const key in object) {
    const entry = object[key];
    if (typeof entry === "object" && entry !== null) {
      seen ??= new Map();
      seen.set(object, copy);
      const nested = snapshot(entry, seen);
      if (nested === PLATFORM) return PLATFORM;
      copy[key] = nested;
    } else {
      const plain = snapshot(entry);
      copy[key] = plain;
    }
  }
  return copy;
}
