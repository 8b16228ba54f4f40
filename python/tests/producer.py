"""Calls TypeScript tasks from a signing Celery app; prints one JSON line per check.

Usage: producer.py BROKER_URL BACKEND_URL QUEUE. The worker accepts keys k1 and k2.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from celery import Celery, chain
from celery.signals import before_task_publish

import celeriac_signing

K1 = ("k1", "first signing secret of 32 bytes")
K2 = ("k2", "second signing secret, 32 bytes.")
K3 = ("k3", "a key this worker does not know.")

broker, backend, queue = sys.argv[1:4]
app = Celery("signing_producer", broker=broker, backend=backend)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])


def report(name: str, fn: Callable[[], Any]) -> None:
    try:
        print(json.dumps({"check": name, "ok": True, "value": fn()}, default=str), flush=True)
    except Exception as error:  # noqa: BLE001 - the test reads the type
        print(json.dumps({"check": name, "ok": False, "type": type(error).__name__, "error": str(error)}), flush=True)


def call(task: str, *args: Any, **options: Any) -> Any:
    return app.send_task(f"pysign.{task}", args=args, queue=queue, **options).get(timeout=30)


def same(value: Any) -> Any:
    echoed = call("echo", value)
    if echoed != value:
        raise AssertionError(f"sent {value!r}, got back {echoed!r}")
    return echoed


def echo_sig(task_id: str) -> Any:
    return app.signature("pysign.echo", queue=queue).set(task_id=task_id)


aware = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=5, minutes=30)))
nested = {"z": {"b": 1, "a": [{"y": 2.5, "x": None}]}, "a": [], "é": True, "\U0001f600": "ok", "\uffff": 1}

stop = celeriac_signing.install(app, keys=[K1, K2], sign="k2")
report("ints", lambda: same([0, 1, -2, 2**31, 2**53, -(2**53)]))
report("floats", lambda: same([1.0, 0.1, 1e21, 1e-7, -0.0, 1e16, 2.5e-8, 1.7976931348623157e308, 5e-324]))
report("unicode", lambda: same(["héllo", "✓ \U0001f600", "\u0000\u001f\u2028\u2029", "\ud800 lone", '"\\/']))
report("nested", lambda: same(nested))
report(
    "types",
    lambda: call(
        "echo",
        {
            "naive": datetime(2024, 1, 2, 3, 4, 5, 678901),
            "aware": aware,
            "day": date(2024, 1, 2),
            "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "decimal": Decimal("1.10"),
            "text": b"raw bytes",
            "binary": b"\xff\x00",
        },
    ),
)
report("kwargs", lambda: app.send_task("pysign.add", kwargs={"y": 2, "x": 40}, queue=queue).get(timeout=30))
report("countdown", lambda: call("add", 1, 1, countdown=1))
report("eta", lambda: call("add", 2, 2, eta=datetime.now(timezone.utc) + timedelta(seconds=1)))
report("expires", lambda: call("add", 3, 3, expires=120))
report("retries-header", lambda: call("add", 4, 4, retries=2))
report("time-limits", lambda: call("add", 5, 5, time_limit=30, soft_time_limit=20.5))
report(
    "worker-retry",
    lambda: call(
        "flaky",
        "x",
        headers={"x-celeriac-retry": {"max": 2, "initialDelayMs": 0}, "x-celeriac-result-ttl": 60000},
    ),
)
report(
    "chain",
    lambda: (
        chain(
            app.signature("pysign.add", args=(1, 2), queue=queue),
            app.signature("pysign.add", args=(10,), queue=queue),
            app.signature("pysign.add", kwargs={"y": 100}, queue=queue),
        )
        .apply_async()
        .get(timeout=30)
    ),
)
link_id, errback_id = str(uuid.uuid4()), str(uuid.uuid4())
report("link", lambda: [call("add", 2, 3, link=echo_sig(link_id)), app.AsyncResult(link_id).get(timeout=30)])
failed = app.send_task("pysign.fail", args=("boom",), queue=queue, link_error=echo_sig(errback_id))
report("link-error", lambda: [failed.id, app.AsyncResult(errback_id).get(timeout=30)])
stop()

stop = celeriac_signing.install(app, keys=[K1, K2], sign="k1")
report("old-key", lambda: call("add", 6, 6))
stop()

refused = {"unsigned": app.send_task("pysign.add", args=(1, 1), queue=queue).id}
stop = celeriac_signing.install(app, keys=[K3])
refused["unknown-key"] = app.send_task("pysign.add", args=(1, 1), queue=queue).id
stop()


def tamper(body: Any = None, **_: Any) -> None:
    body[1]["x"] = 1000


stop = celeriac_signing.install(app, keys=[K2])
before_task_publish.connect(tamper, weak=False)
refused["tampered"] = app.send_task("pysign.add", kwargs={"x": 1, "y": 1}, queue=queue).id
before_task_publish.disconnect(tamper)
stop()
print(json.dumps({"check": "refused", "ok": True, "value": refused}), flush=True)

pickled = Celery("pickled", broker=broker)
pickled.conf.task_serializer = "pickle"
report("refuses-pickle", lambda: celeriac_signing.install(pickled, keys=[K1]))
report("refuses-short-secret", lambda: celeriac_signing.install(app, keys=[("k1", "short")]))
report("refuses-unknown-signer", lambda: celeriac_signing.install(app, keys=[K1], sign="k9"))
