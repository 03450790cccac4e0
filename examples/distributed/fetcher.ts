/**
 * examples/distributed: one fetcher process. Connects to the Redis server
 * named on the command line, crawls until the URL queue is shut down, and
 * reports its count on the print queue (it never prints itself).
 *
 * Run by main.ts: deno run ... fetcher.ts <redis target> <urls queue> <print queue> <name>
 */
import { connectRedis } from "@baton/baton/redis";
import { crawl } from "./crawl.ts";

const [target, urlsName, printName, name] = Deno.args as [string, string, string, string];
// "unix:/path/to/socket" or a redis:// URL
const redis = await connectRedis(target.startsWith("unix:") ? { path: target.slice(5) } : target);
// prefetch: 0, so a URL goes to a fetcher only when it asks: slow jobs spread over the processes
const urls = redis.queue<string>(urlsName, { prefetch: 0 });
const print = redis.queue<string>(printName);
await redis.semaphore(`${urlsName}:ready`, 0).release(); // tell main this fetcher is up
const fetched = await crawl(name, urls, print);
await print.put(`${name}: fetched=${fetched}`);
await redis.close(); // sends what is batched, gives back what this process still holds
