/**
 * What every example's main thread uses to wait for its workers: each worker
 * posts a plain `{ finished: report }` message when it is done (baton ignores
 * messages that are not its own).
 *
 * @module
 */

/** Resolves with the report `worker` posts when it is done. */
export function finished<T>(worker: Worker): Promise<T> {
  return new Promise((resolve) => {
    worker.addEventListener("message", function onMessage(event: MessageEvent) {
      if (event.data?.finished === undefined) return;
      worker.removeEventListener("message", onMessage);
      resolve(event.data.finished);
    });
  });
}
