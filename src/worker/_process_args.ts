/**
 * A `Process`'s arguments on their way to the child: the baton primitives
 * and pipe ends anywhere in them (inside arrays, plain objects, `Map`s and
 * `Set`s) become named tokens served on the process's control port, and the
 * child puts the proxies back in their place. Everything else is left for
 * the platform's structured clone.
 *
 * A token's key holds a random part made for each start (`argKey`), so the
 * arguments' own data, which may hold any key at any depth (also inside
 * class instances, which the clone turns into plain objects), is never
 * taken for a token (P-1).
 *
 * Internal: not exported from an entry point.
 *
 * @module
 */

import { adapterOf } from "./adapters.ts";
import { newPeerId } from "./wire.ts";
import type { Servable } from "./serve.ts";

/** The start of the key of a token that stands for a served name. */
const ARG_TOKEN = "@baton:arg";

/** A new token key, for one start: no data of the arguments holds it. */
export function argKey(): string {
  return `${ARG_TOKEN}:${newPeerId()}`;
}

/**
 * Copies the containers of `args` with every baton primitive or pipe end
 * replaced by a token (`{ [key]: name }`); `served` receives them by name.
 *
 * @example
 * ```ts ignore
 * const served: Record<string, Servable> = {};
 * const key = argKey();
 * const sent = encodeArgs([new Queue(), { n: 1 }], served, key); // [{ [key]: "a0" }, { n: 1 }]
 * ```
 */
export function encodeArgs(
  args: readonly unknown[],
  served: Record<string, Servable>,
  key: string,
): unknown[] {
  const names = new Map<object, string>();
  const seen = new Map<object, unknown>();
  const visit = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value;
    const named = names.get(value);
    if (named !== undefined) return { [key]: named };
    if (seen.has(value)) return seen.get(value);
    if (isServable(value)) {
      const name = `a${names.size}`;
      names.set(value, name);
      served[name] = value as Servable;
      return { [key]: name };
    }
    const prototype = Object.getPrototypeOf(value);
    if (Array.isArray(value) && prototype === Array.prototype) {
      const copy: unknown[] = [];
      seen.set(value, copy);
      for (let i = 0; i < value.length; i++) copy[i] = visit(value[i]);
      return copy;
    }
    if (value instanceof Map && prototype === Map.prototype) {
      const copy = new Map();
      seen.set(value, copy);
      for (const [key, entry] of value) copy.set(visit(key), visit(entry));
      return copy;
    }
    if (value instanceof Set && prototype === Set.prototype) {
      const copy = new Set();
      seen.set(value, copy);
      for (const entry of value) copy.add(visit(entry));
      return copy;
    }
    if (prototype === Object.prototype || prototype === null) {
      const copy: Record<string, unknown> = prototype === null ? Object.create(null) : {};
      seen.set(value, copy);
      for (const key of Object.keys(value)) {
        Object.defineProperty(copy, key, {
          value: visit((value as Record<string, unknown>)[key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return copy;
    }
    return value; // the platform's structured clone decides
  };
  return args.map(visit);
}

/**
 * Puts the proxies back where `encodeArgs` left tokens with `key` (in
 * place: the value is the child's own clone).
 *
 * @example
 * ```ts ignore
 * const args = decodeArgs(workerData.args, remote, workerData.argKey); // [RemoteQueue, { n: 1 }]
 * ```
 */
export function decodeArgs(
  args: unknown[],
  proxies: Record<string, unknown>,
  key: string,
): unknown[] {
  const seen = new Set<object>();
  const visit = (value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value;
    const token = tokenName(value, key);
    if (token !== undefined) {
      if (!Object.hasOwn(proxies, token)) throw new Error(`argument "${token}" did not arrive`);
      return proxies[token];
    }
    if (seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = visit(value[i]);
    } else if (value instanceof Map) {
      const entries = [...value];
      value.clear();
      for (const [key, entry] of entries) value.set(visit(key), visit(entry));
    } else if (value instanceof Set) {
      const entries = [...value];
      value.clear();
      for (const entry of entries) value.add(visit(entry));
    } else {
      const prototype = Object.getPrototypeOf(value);
      if (prototype === Object.prototype || prototype === null) {
        const record = value as Record<string, unknown>;
        for (const key of Object.keys(record)) record[key] = visit(record[key]);
      }
    }
    return value;
  };
  return args.map(visit);
}

function tokenName(value: object, key: string): string | undefined {
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== key) return undefined;
  const name = (value as Record<string, unknown>)[key];
  return typeof name === "string" ? name : undefined;
}

function isServable(value: object): boolean {
  if (isPipeEnd(value)) return true;
  try {
    adapterOf(value);
    return true;
  } catch {
    return false;
  }
}

function isPipeEnd(value: object): boolean {
  return typeof (value as { transfer?: unknown }).transfer === "function" &&
    "readable" in value && "writable" in value;
}
