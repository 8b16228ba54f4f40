"""Listens to Celery events the way Flower does (celery.events.State) and prints what it saw as JSON."""
import json
import os
import socket
import sys
import threading

from celery import Celery

redis_url = os.environ.get("CELERIAC_REDIS_URL", "redis://127.0.0.1:6379")
seconds = float(sys.argv[1])
app = Celery("py_events", broker=redis_url)
state = app.events.State()
count = {"events": 0}
types = []


def on_event(event):
    count["events"] += 1
    types.append(event.get("type"))
    state.event(event)


with app.connection() as connection:
    receiver = app.events.Receiver(connection, handlers={"*": on_event})
    threading.Timer(seconds, lambda: setattr(receiver, "should_stop", True)).start()
    # The first step of itercapture returns once the subscription is in place: only then say we listen.
    capture = receiver.itercapture(limit=None, timeout=None, wakeup=False)
    try:
        next(capture)
        print(json.dumps({"listening": True}), flush=True)
        for _ in capture:
            if receiver.should_stop:
                break
    except (socket.timeout, TimeoutError, StopIteration):
        pass

print(
    json.dumps(
        {
            "events": count["events"],
            "types": types,
            "workers": {h: {"alive": w.alive, "sw_ident": w.sw_ident, "freq": w.freq} for h, w in state.workers.items()},
            "tasks": {t.uuid: {"name": t.name, "state": t.state, "result": t.result} for t in state.tasks.values()},
        }
    ),
    flush=True,
)
