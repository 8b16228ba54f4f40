"""The Celery app of the benchmark: one no-op task whose result is stored, as in the TS scenarios."""
import os

import redis
from celery import Celery, signals

REDIS_URL = os.environ.get("CELERIAC_REDIS_URL", "redis://127.0.0.1:6379")

app = Celery("bench_app", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop(i):
    return i


@signals.worker_ready.connect
def announce_ready(**_kwargs):
    """Tells the bench this worker is consuming, so every process starts the measured drain together."""
    channel = os.environ.get("BENCH_READY_CHANNEL")
    if channel:
        redis.Redis.from_url(REDIS_URL).publish(channel, str(os.getpid()))
