/**
 * async-pipeline: the producer/consumer shape inside one thread, with async
 * tasks instead of workers. A producer puts jobs into a bounded `Queue`,
 * three consumers take them, and everything they want to say goes through a
 * print queue read by one printer task. `shutdown()` stops each stage once
 * the stage before it is done: no sentinels.
 *
 * Python: an `asyncio.Queue` pipeline with `asyncio.gather` over one
 * producer and several consumer tasks (and `Queue.shutdown()` from 3.13).
 *
 * Run: deno task example:async-pipeline
 */
import { Queue } from "@baton/baton";

const JOBS = 9;
const CONSUMERS = 3;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const jobs = new Queue<number>(3);
const print = new Queue<string>();

async function producer(): Promise<number> {
  for (let n = 1; n <= JOBS; n++) await jobs.put(n); // waits while 3 jobs are queued
  jobs.shutdown(); // the consumers finish what is queued, then their loops end
  return JOBS;
}

async function consumer(name: string): Promise<number[]> {
  const done: number[] = [];
  for await (const n of jobs) {
    await sleep(5 * (n % 3 + 1)); // some jobs take longer
    await print.put(`${name}: ${n} squared is ${n * n}`);
    done.push(n);
    jobs.taskDone();
  }
  return done;
}

async function printer(): Promise<number> {
  let lines = 0;
  for await (const line of print) {
    console.log(line);
    lines++;
  }
  return lines;
}

const printed = printer();
const [produced, ...perConsumer] = await Promise.all([
  producer(),
  ...Array.from({ length: CONSUMERS }, (_, i) => consumer(`consumer-${i + 1}`)),
]);
print.shutdown(); // every consumer is done: the printer prints the rest and stops
const lines = await printed;
const consumed = perConsumer.flat().sort((a, b) => a - b);
console.log(
  `summary: produced=${produced} consumed=${consumed.length} printed=${lines} all=${
    consumed.join() === Array.from({ length: JOBS }, (_, i) => i + 1).join()
  }`,
);
