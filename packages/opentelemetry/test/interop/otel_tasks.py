"""A Python Celery app traced by opentelemetry-instrumentation-celery, for the interop tests."""
import os

from celery import Celery
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())
CeleryInstrumentor().instrument()

redis_url = os.environ.get("CELERIAC_REDIS_URL", "redis://127.0.0.1:6379")
app = Celery("otel_tasks", broker=redis_url, backend=redis_url)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])


@app.task(name="py.trace_context")
def trace_context(n):
    """Returns the trace this run belongs to and the span it continues, as the instrumentation set them."""
    span = trace.get_current_span()
    ctx = span.get_span_context()
    parent = getattr(span, "parent", None)
    return {
        "n": n,
        "name": getattr(span, "name", None),
        "trace_id": format(ctx.trace_id, "032x"),
        "parent_span_id": format(parent.span_id, "016x") if parent else None,
    }
