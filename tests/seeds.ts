/**
 * How the property tests run their models, and the regression seeds they
 * replay.
 *
 * Run counts: `propertyRuns(ciRuns)` is `ciRuns` in a normal run, and at
 * least {@linkcode DEEP_RUNS} (2,000 unless `BATON_DEEP_RUNS` says more)
 * random sequences per model when the environment has `BATON_DEEP=1`
 * (`deno task test:deep`).
 *
 * Regression seeds: every failing case a property test ever found stays in
 * {@linkcode REGRESSION_SEEDS} and is replayed by every run, before the
 * random sequences. When `checkModel` finds a failure it prints, under the
 * fast-check report, an entry ready to paste into the list:
 * `{ model, seed, path, counterexample, found }`. The replay feeds `seed`
 * and `path` to fast-check, which regenerates that exact case (and then the
 * smaller cases next to it). Seeds depend on the model's arbitraries: the
 * replay compares the case it got with the recorded `counterexample` and
 * fails as stale when an arbitrary changed; then find the case again with
 * the old commit's seed, or write it as a fixed test.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";

/**
 * Random sequences per model in a deep run (`BATON_DEEP=1`): 2,000, or
 * `BATON_DEEP_RUNS` for a longer hunt.
 */
export const DEEP_RUNS = deepRuns(Deno.env.get("BATON_DEEP_RUNS"));

function deepRuns(setting: string | undefined): number {
  if (setting === undefined) return 2_000;
  const runs = Number(setting);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new RangeError(`BATON_DEEP_RUNS must be a positive integer, received "${setting}"`);
  }
  return runs;
}

/** Whether this is a deep run: `BATON_DEEP=1` in the environment. */
export const DEEP = Deno.env.get("BATON_DEEP") === "1";

/** The number of random sequences per model: `ciRuns`, or at least `DEEP_RUNS` in a deep run. */
export function propertyRuns(ciRuns: number): number {
  return DEEP ? Math.max(ciRuns, DEEP_RUNS) : ciRuns;
}

/** A failing case once found by a property test, replayed in every run. */
export interface RegressionSeed {
  /** The `model` name given to `checkModel`. */
  readonly model: string;
  /** fast-check's seed of the failing run. */
  readonly seed: number;
  /** fast-check's counterexample path in that run. */
  readonly path: string;
  /** `fc.stringify` of the case the seed and path give, to notice a stale seed. */
  readonly counterexample: string;
  /** What it found and where it was fixed. */
  readonly found: string;
}

/**
 * Every failing case found so far, oldest first. Never remove one; when a
 * model's arbitraries change, re-find the case (see the module doc).
 */
export const REGRESSION_SEEDS: readonly RegressionSeed[] = [
  {
    model: "Barrier",
    seed: 1148383662,
    path: "14:1:2:0:0:2:6:5:5:6:9:9:5:5",
    counterexample:
      '[1,undefined,[{"op":"setAction","kind":"async"},{"op":"wait","mode":{"kind":"timeout","ms":0}},{"op":"wait","mode":{"kind":"timeout","ms":0}},{"op":"finishAction","pick":0}]]',
    found: "a trip whose async action ran was forgotten when the next trip tripped " +
      "during it (its parties never settled); fixed by keeping every trip in flight",
  },
  {
    model: "Condition",
    seed: 1525763637,
    path: "24:5:1:6:9:10:2:4:11:10:10:12:13:13:15:7:7:7:7:8:7:7:7:7:7:13:14",
    counterexample:
      '[{"op":"acquire","mode":{"kind":"both","ms":1}},{"op":"waitFor","k":1,"async":false,"mode":{"kind":"timeout","ms":1}},{"op":"acquire","mode":{"kind":"both","ms":1}},{"op":"notify","n":2},{"op":"set","value":0}]',
    found: "a bug of the first Condition model (a notified waitFor kept its timer in the " +
      "model); the primitive was right",
  },
  {
    model: "Barrier same-turn abort",
    seed: 1048787357,
    path: "75:3:2:2:2:3:15:16:16:16:20:21:21:25:25:25:12",
    counterexample:
      '[2,[{"op":"wait","mode":{"kind":"abort"}},{"op":"setAction","kind":"async"},{"op":"waitThenAbort","mode":{"kind":"abort"},"pick":0},{"op":"wait","mode":{"kind":"abort"}},{"op":"finishThenAbort","pick":0},{"op":"wait","mode":{"kind":"abort"}}]]',
    found: "a model bug: an action fulfilled and a break in the same turn; the barrier " +
      "sees the fulfilment in a promise job, so the break ends the trip (as the code does)",
  },
  {
    model: "Condition same-turn abort",
    seed: -174433778,
    path: "2:1:1:0:0:0:1:6:7:9:8:8:8:8:8:4",
    counterexample:
      '[{"op":"acquire","mode":{"kind":"block"}},{"op":"wait","mode":{"kind":"abort"}},{"op":"abortThenNotify","n":1,"pick":0},{"op":"notifyThenAbort","n":1,"pick":0}]',
    found: "a model bug: an aborted waiter takes the lock back in a promise job, so a " +
      "notify in the same turn finds the lock free (Error), as the code does",
  },
  {
    model: "served Queue",
    seed: -366276132,
    path: "42:0:2:2",
    counterexample:
      '{"maxsize":0,"prefetch":undefined,"consumers":"remote","steps":[{"cmd":{"t":"rget"},"wait":0}],"shutdownBy":"local","immediate":true}',
    found: "a pull that reached the owner after it had ended the stream (drained) added " +
      "demand the remote side no longer counted; fixed by ignoring pulls after end",
  },
  {
    model: "served Queue",
    seed: -680037506,
    path: "1456:0:9:12:12:17:18:18:20:20:16:16",
    counterexample:
      '{"maxsize":0,"prefetch":1,"consumers":"remote","steps":[{"cmd":{"t":"lput"},"wait":1},{"cmd":{"t":"rgetNowait"},"wait":1},{"cmd":{"t":"rgetNowait"},"wait":0},{"cmd":{"t":"lputNowait"},"wait":0},{"cmd":{"t":"rgetTimeout","ms":1},"wait":0},{"cmd":{"t":"lput"},"wait":1},{"cmd":{"t":"rtaskDone"},"wait":1}],"shutdownBy":"local","immediate":false}',
    found: "a remote getNowait on its way when an item sent ahead arrived: a get called " +
      "after it took that item, and the getNowait the later answer (W-2); fixed by " +
      "keeping items received for the direct gets out, which were called first",
  },
  {
    model: "served Queue",
    seed: 1863122817,
    path: "2:32:6:0",
    counterexample:
      '{"maxsize":0,"prefetch":4,"consumers":"remote","steps":[{"cmd":{"t":"lput"},"wait":0},{__proto__:null,"cmd":{"t":"lget"},"wait":3},{__proto__:null,"cmd":{"t":"lput"},"wait":0},{"cmd":{"t":"lput"},"wait":3},{"cmd":{"t":"rput"},"wait":0},{"cmd":{"t":"riter"},"wait":0},{__proto__:null,"cmd":{"t":"lget"},"wait":1},{"cmd":{"t":"rget"},"wait":0},{"cmd":{"t":"ltaskDone"},"wait":2},{"cmd":{"t":"rget"},"wait":2},{"cmd":{"t":"rput"},"wait":1},{__proto__:null,"cmd":{"t":"rget"},"wait":3}],"shutdownBy":"remote","immediate":true}',
    found: "under load, the owner's end (taking back a give-back after shutdown(true) drained " +
      "the queue) went out before its returned, whose dropped pulls the end had cleared: the " +
      "remote side reported too few pulls; fixed by answering a return before taking its items back",
  },
];

/**
 * Replays the regression seeds of `model`, then runs `propertyRuns(ciRuns)`
 * random cases of `input` through `run`, which throws when the real
 * primitive and the model disagree.
 */
export async function checkModel<T>(
  model: string,
  input: fc.Arbitrary<T>,
  run: (value: T) => Promise<void>,
  ciRuns: number,
  seeds: readonly RegressionSeed[] = REGRESSION_SEEDS,
): Promise<void> {
  for (const entry of seeds) {
    if (entry.model !== model) continue;
    let replayed: string | undefined;
    const stale = `stale regression seed ${entry.seed} of ${model}: its arbitraries changed`;
    let details: fc.RunDetails<[T]>;
    try {
      details = await fc.check(
        fc.asyncProperty(input, async (value) => {
          replayed ??= fc.stringify(value);
          await run(value);
        }),
        { seed: entry.seed, path: entry.path, endOnFailure: true },
      );
    } catch (error) {
      // fast-check throws when the path does not fit the arbitraries any more.
      throw new Error(`${stale} (${(error as Error).message})`, { cause: error });
    }
    assertEquals(
      replayed,
      entry.counterexample,
      stale,
    );
    if (details.failed) {
      throw new Error(
        `regression seed ${entry.seed} of ${model} (${entry.found}) fails again:\n` +
          fc.defaultReportMessage(details),
        { cause: details.errorInstance },
      );
    }
  }
  const details = await fc.check(fc.asyncProperty(input, run), { numRuns: propertyRuns(ciRuns) });
  if (details.failed) {
    const entry = {
      model,
      seed: details.seed,
      path: details.counterexamplePath ?? "",
      counterexample: details.counterexample === null
        ? ""
        : fc.stringify(details.counterexample[0]),
      found: "TODO: what it found, and the fix",
    };
    throw new Error(
      `${
        fc.defaultReportMessage(details)
      }\n\nKeep it: add to REGRESSION_SEEDS in tests/seeds.ts\n` +
        `${JSON.stringify(entry, null, 2)},`,
      { cause: details.errorInstance },
    );
  }
}
