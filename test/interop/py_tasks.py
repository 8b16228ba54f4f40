"""Python Celery tasks used by the interop tests (a real Celery worker runs them)."""
import datetime
import os

from celery import Celery

redis_url = os.environ.get("CELERIAC_REDIS_URL", "redis://127.0.0.1:6379")
app = Celery("py_tasks", broker=redis_url, backend=redis_url)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])


@app.task(name="py.add")
def add(x, y):
    return x + y


@app.task(name="py.echo")
def echo(value):
    return value


@app.task(name="py.when")
def when():
    return {"at": datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)}


@app.task(name="py.fail")
def fail(message):
    raise ValueError(message)


@app.task(name="py.tsum")
def tsum(values):
    return sum(values)
