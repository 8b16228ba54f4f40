"""Calls TypeScript tasks from Python Celery and prints one JSON line per check."""
import json
import os
import sys

from celery import Celery, chain

redis_url = os.environ.get("CELERIAC_REDIS_URL", "redis://127.0.0.1:6379")
ts_queue, py_queue = sys.argv[1], sys.argv[2]
app = Celery("py_client", broker=redis_url, backend=redis_url)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])


def report(name, fn):
    try:
        print(json.dumps({"check": name, "ok": True, "value": fn()}, default=str), flush=True)
    except Exception as error:  # noqa: BLE001 - the test reads the type
        print(json.dumps({"check": name, "ok": False, "type": type(error).__name__, "error": str(error)}), flush=True)


report("kwargs", lambda: app.send_task("demo.add", kwargs={"x": 2, "y": 3}, queue=ts_queue).get(timeout=20))
report("positional", lambda: app.send_task("demo.add", args=(40, 2), queue=ts_queue).get(timeout=20))
report("countdown", lambda: app.send_task("demo.add", args=(1, 1), countdown=1, queue=ts_queue).get(timeout=20))
report("priority", lambda: app.send_task("demo.add", args=(5, 5), priority=9, queue=ts_queue).get(timeout=20))
report("failure", lambda: app.send_task("demo.fail", kwargs={"message": "from python"}, queue=ts_queue).get(timeout=20))
report("invalid", lambda: app.send_task("demo.add", kwargs={"x": "no", "y": 1}, queue=ts_queue).get(timeout=20))
report("unknown", lambda: app.send_task("demo.nope", queue=ts_queue).get(timeout=20))
report(
    "chain",
    lambda: chain(
        app.signature("demo.add", args=(1, 2), queue=ts_queue),
        app.signature("py.add", args=(10,), queue=py_queue),
        app.signature("demo.add", kwargs={"y": 100}, queue=ts_queue),
    )
    .apply_async()
    .get(timeout=30),
)
