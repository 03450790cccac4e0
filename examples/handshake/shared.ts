/** examples/handshake: what the main thread serves to both workers. */
import type { Event, Queue } from "@baton/baton";

/** How many items the producer sends. */
export const ITEMS = 3;

/** An item, with the name of the served Event that the consumer sets once it has processed it. */
export interface Job {
  n: number;
  data: string;
  processed: `processed-${number}`;
}

/** The served names: the queue, and one Event per item (`processed-1` ...). */
export type Shared = { jobs: Queue<Job> } & { [name: `processed-${number}`]: Event };
