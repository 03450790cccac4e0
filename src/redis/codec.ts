/**
 * How items become the strings Redis stores.
 *
 * @module
 */

/**
 * Turns items into strings and back. `encode` throws (or returns something
 * that is not a string) for an item it cannot carry; that item's `put`
 * rejects and nothing is queued.
 *
 * @typeParam T The type of the items.
 *
 * @example A codec for bigints
 * ```ts
 * import type { Codec } from "@baton/baton/redis";
 *
 * const bigints: Codec<bigint> = {
 *   encode: (item) => item.toString(),
 *   decode: (text) => BigInt(text),
 * };
 * console.log(bigints.decode(bigints.encode(2n ** 70n))); // 1180591620717411303424n
 * ```
 */
export interface Codec<T> {
  /** The string stored for `item`. */
  encode(item: T): string;
  /** The item a stored string stands for. */
  decode(text: string): T;
}

/**
 * The default codec: `JSON.stringify` and `JSON.parse`. JSON carries
 * strings, finite numbers, booleans, `null`, and arrays and plain objects of
 * those. It cannot carry `undefined`, functions, symbols or bigints at the
 * top level (their `put` rejects `TypeError`), nor `NaN`/`Infinity` (rejected
 * too). Inside objects it changes what it cannot carry without an error, as
 * `JSON.stringify` does: a `Date` arrives as its ISO string, a `Map` or `Set`
 * as `{}`, `undefined` properties vanish and `NaN` becomes `null`. Use your
 * own {@linkcode Codec} for such items.
 *
 * @example
 * ```ts
 * import { jsonCodec } from "@baton/baton/redis";
 *
 * console.log(jsonCodec.encode({ id: 1 })); // {"id":1}
 * try {
 *   jsonCodec.encode(undefined);
 * } catch (error) {
 *   console.log((error as Error).name); // TypeError
 * }
 * ```
 */
export const jsonCodec: Codec<unknown> = {
  encode(item: unknown): string {
    if (typeof item === "number" && !Number.isFinite(item)) {
      throw new TypeError(`JSON cannot carry the number ${item}`);
    }
    const text = JSON.stringify(item);
    if (typeof text !== "string") {
      throw new TypeError(`JSON cannot carry a value of type ${typeof item}`);
    }
    return text;
  },
  decode(text: string): unknown {
    return JSON.parse(text);
  },
};
