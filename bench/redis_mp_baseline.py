"""Python's multiprocessing.Queue(1000) between two processes: the baseline
of `deno task bench:redis`. Prints one JSON line: items, seconds, per_second."""

import json
import multiprocessing as mp
import sys
import time


def produce(queue, go, count):
    go.wait()
    for i in range(count):
        queue.put(i)


def consume(queue, go, count, done):
    go.wait()
    for _ in range(count):
        queue.get()
    done.set()


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    queue = mp.Queue(1000)
    go, done = mp.Event(), mp.Event()
    producer = mp.Process(target=produce, args=(queue, go, count))
    consumer = mp.Process(target=consume, args=(queue, go, count, done))
    producer.start()
    consumer.start()
    time.sleep(0.5)  # both processes are up
    start = time.perf_counter()
    go.set()
    done.wait()
    seconds = time.perf_counter() - start
    producer.join()
    consumer.join()
    print(json.dumps({"items": count, "seconds": seconds, "per_second": count / seconds}))


if __name__ == "__main__":
    main()
