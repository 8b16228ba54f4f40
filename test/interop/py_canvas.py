"""Sends Celery canvases built in Python (nested, mixed-language, map and chunks) and prints one
JSON line per check with the result."""
import json
import os
import sys

from celery import Celery, chain, chord, group
from celery.canvas import chunks, xmap, xstarmap

redis_url = os.environ.get("CELERIAC_REDIS_URL", "redis://127.0.0.1:6379")
ts_queue, py_queue = sys.argv[1], sys.argv[2]
app = Celery("py_canvas", broker=redis_url, backend=redis_url)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])


def ts(name, *args, **kwargs):
    return app.signature(name, args=args, kwargs=kwargs, queue=ts_queue)


def py(name, *args, **kwargs):
    return app.signature(name, args=args, kwargs=kwargs, queue=py_queue)


def report(name, fn):
    try:
        print(json.dumps({"check": name, "ok": True, "value": fn()}, default=str), flush=True)
    except Exception as error:  # noqa: BLE001 - the test reads the type
        print(json.dumps({"check": name, "ok": False, "type": type(error).__name__, "error": str(error)}), flush=True)


# Depth 3, all TypeScript tasks: chain -> chord -> chain.
# add(1,1)=2 -> chord[chain(add(2,1)=3, add(3,2)=5), add(2,10)=12] -> sum=17 -> add(17,100)=117
report(
    "nested",
    lambda: chain(
        ts("ts.add", 1, 1),
        chord([chain(ts("ts.add", 1), ts("ts.add", 2)), ts("ts.add", 10)], ts("ts.sum")),
        ts("ts.add", 100),
    )
    .apply_async()
    .get(timeout=60),
)

# A group of chains, each ending in a chord (depth 3), TypeScript tasks with a Python one inside.
report(
    "group_of_chains",
    lambda: group(
        chain(ts("ts.add", 1, 2), chord([ts("ts.add", 1), py("py.add", 2)], ts("ts.sum"))),
        chain(py("py.add", 5, 5), chord([ts("ts.add", 1), ts("ts.add", 2)], py("py.tsum"))),
    )
    .apply_async()
    .get(timeout=60),
)

# A chord whose header mixes Python and TypeScript tasks; the body (TypeScript) runs once.
report(
    "mixed_chord_ts_body",
    lambda: chord(
        [py("py.add", 1, 2), ts("ts.add", 3, 4), py("py.add", 5, 5), ts("ts.add", 1, 1)], ts("ts.sum")
    )
    .apply_async()
    .get(timeout=60),
)

# The same header, with a Python body.
report(
    "mixed_chord_py_body",
    lambda: chord([py("py.add", 1, 2), ts("ts.add", 3, 4), ts("ts.add", 1, 1)], py("py.tsum")).apply_async().get(timeout=60),
)

# Celery's map, starmap and chunks of TypeScript tasks.
# (`task.map(...)` needs the task registered here; the canvas classes take a signature by name.)
report("map", lambda: xmap(ts("ts.square"), [1, 2, 3], app=app).apply_async(queue=ts_queue).get(timeout=30))
report("starmap", lambda: xstarmap(ts("ts.add"), [(1, 2), (3, 4)], app=app).apply_async(queue=ts_queue).get(timeout=30))
report(
    "chunks",
    lambda: chunks(ts("ts.add"), [(1, 2), (3, 4), (5, 6)], 2, app=app).apply_async(queue=ts_queue).get(timeout=30),
)
