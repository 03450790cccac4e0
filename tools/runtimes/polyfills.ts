/**
 * What the test code (not baton) uses that Node 20 lacks: `Array.fromAsync`
 * and `ReadableStream.from` (the queue stream tests), and the ES2025 Set
 * methods that `@std/assert` compares Sets with. Installed only where
 * missing. `run.ts` checks that `src/` names none of them, so a polyfill can
 * never hide a runtime that baton itself does not support.
 *
 * @module
 */

/** What is polyfilled here, as a call reads; `src/` must make none of these calls. */
export const POLYFILLED = [
  "Array.fromAsync(",
  "ReadableStream.from(",
  ".symmetricDifference(",
  ".intersection(",
  ".union(",
] as const;

const arrays = Array as unknown as { fromAsync?: unknown };
if (typeof arrays.fromAsync !== "function") {
  arrays.fromAsync = async function <T>(source: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
    const items: T[] = [];
    for await (const item of source) items.push(item);
    return items;
  };
}

const streams = ReadableStream as unknown as { from?: unknown };
if (typeof streams.from !== "function") {
  streams.from = <T>(source: AsyncIterable<T> | Iterable<T>): ReadableStream<T> => {
    const iterator = (Symbol.asyncIterator in source
      ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (source as Iterable<T>)[Symbol.iterator]()) as AsyncIterator<T> | Iterator<T>;
    return new ReadableStream<T>({
      async pull(controller) {
        const next = await iterator.next();
        if (next.done) {
          controller.close();
        } else controller.enqueue(next.value);
      },
      async cancel(reason) {
        await iterator.return?.(reason);
      },
    });
  };
}

type SetMethod = (this: Set<unknown>, other: Set<unknown>) => Set<unknown>;
const sets = Set.prototype as unknown as Record<string, SetMethod | undefined>;
const methods: Record<string, SetMethod> = {
  union(other) {
    return new Set([...this, ...other]);
  },
  intersection(other) {
    return new Set([...this].filter((item) => other.has(item)));
  },
  symmetricDifference(other) {
    const result = new Set(this);
    for (const item of other) {
      if (this.has(item)) result.delete(item);
      else result.add(item);
    }
    return result;
  },
};
for (const [name, method] of Object.entries(methods)) {
  if (typeof sets[name] !== "function") {
    Object.defineProperty(Set.prototype, name, {
      value: method,
      writable: true,
      configurable: true,
    });
  }
}
