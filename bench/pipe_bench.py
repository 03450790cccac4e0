"""Python's multiprocessing.Pipe, one way, between two processes: the baseline
of bench/pipe_bench.ts, which runs this file and reads its JSON output.

A producer Process sends ITEMS values on a Pipe(duplex=False); a consumer
Process receives them all and reports the monotonic time it finished. Both
processes start first and wait for an Event; the clock starts when the main
process sets it, so process start-up is not measured. Shapes: ints (`i`) and
small dicts (`{"id": i, "v": "x"}`), as the Deno side sends.

Usage: python3 bench/pipe_bench.py [ITEMS] [ROUNDS] [SHAPES]
(SHAPES: comma-separated, default "numbers,objects"). Prints one JSON
object: {"python": ..., "start_method": ..., "results": {"numbers":
[items/s per round], "objects": [...]}}.
"""

import json
import multiprocessing as mp
import sys
import time


def make(shape, i):
    return i if shape == "numbers" else {"id": i, "v": "x"}


def producer(conn, shape, items, ready, go):
    ready.put("producer")
    go.wait()
    for i in range(items):
        conn.send(make(shape, i))
    conn.close()


def consumer(conn, shape, items, ready, go, done):
    ready.put("consumer")
    go.wait()
    last = None
    for _ in range(items):
        last = conn.recv()
    done.put((time.monotonic(), last == make(shape, items - 1)))
    conn.close()


def round_once(shape, items):
    receiver, sender = mp.Pipe(duplex=False)
    ready, done, go = mp.Queue(), mp.Queue(), mp.Event()
    p = mp.Process(target=producer, args=(sender, shape, items, ready, go))
    c = mp.Process(target=consumer, args=(receiver, shape, items, ready, go, done))
    p.start()
    c.start()
    sender.close()  # only the producer holds the sending end now
    receiver.close()
    ready.get()
    ready.get()
    start = time.monotonic()
    go.set()
    finished, checked = done.get()
    p.join()
    c.join()
    if not checked:
        raise SystemExit("the consumer did not receive the last item intact")
    return items / (finished - start)


def main():
    items = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    shapes = sys.argv[3].split(",") if len(sys.argv) > 3 else ["numbers", "objects"]
    results = {shape: [round_once(shape, items) for _ in range(rounds)]
               for shape in shapes}
    print(json.dumps({
        "python": sys.version.split()[0],
        "start_method": mp.get_start_method(),
        "results": results,
    }))


if __name__ == "__main__":
    main()
