"""Sends a task from a traced Python producer; prints the ids of the trace and of the publish span."""
import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_tasks import app

exporter = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
tracer = trace.get_tracer("py-producer")

task, queue = sys.argv[1], sys.argv[2]
with tracer.start_as_current_span("python request"):
    result = app.send_task(task, kwargs={"n": 4}, queue=queue)
publish = next(s for s in exporter.get_finished_spans() if s.name == f"apply_async/{task}")
print(json.dumps({
    "task_id": result.id,
    "trace_id": format(publish.context.trace_id, "032x"),
    "publish_span_id": format(publish.context.span_id, "016x"),
}))
