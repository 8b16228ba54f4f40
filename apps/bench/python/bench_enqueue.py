"""Enqueues N bench.noop tasks one apply_async at a time and prints the measured rate as JSON.

usage: bench_enqueue.py <queue> <count> [--warmup N] [--id-prefix PREFIX]
"""
import argparse
import json
import time

from bench_app import noop

parser = argparse.ArgumentParser()
parser.add_argument("queue")
parser.add_argument("count", type=int)
parser.add_argument("--warmup", type=int, default=0)
parser.add_argument("--id-prefix", default="")
args = parser.parse_args()


def send(i):
    if args.id_prefix:
        noop.apply_async((i,), queue=args.queue, task_id=f"{args.id_prefix}-{i}")
    else:
        noop.apply_async((i,), queue=args.queue)


for i in range(args.warmup):
    send(-1 - i)
start = time.perf_counter()
for i in range(args.count):
    send(i)
elapsed = time.perf_counter() - start
print(json.dumps({"count": args.count, "seconds": elapsed, "rate": args.count / elapsed if elapsed > 0 else None}))
