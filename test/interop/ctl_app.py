"""A Celery app for remote-control tests: the broker and control namespace come from the environment.

A namespace of the test's own (Celery's ``control_exchange``) keeps its broadcasts away from
other tests' workers on the same broker.
"""
import json
import os
import sys
import time

from celery import Celery

app = Celery('ctl', broker=os.environ['CTL_BROKER'])
app.conf.control_exchange = os.environ.get('CTL_NS', 'celery')


def inspect_all(node, task_id=None):
    """Every inspect command Flower and ``celery inspect`` use, for one node, as JSON."""
    i = app.control.inspect(destination=[node], timeout=5)
    out = {
        'ping': app.control.ping(destination=[node], timeout=5),
        'active': i.active(),
        'active_safe': i.active(safe=True),
        'reserved': i.reserved(),
        'scheduled': i.scheduled(),
        'registered': i.registered(),
        'registered_items': i.registered('time_limit', 'soft_time_limit'),
        'stats': i.stats(),
        'active_queues': i.active_queues(),
        'revoked': i.revoked(),
        'conf': i.conf(),
        'clock': i.clock(),
    }
    if task_id:
        out['query_task'] = i.query_task(task_id)
    return out


if __name__ == '__main__':
    command = sys.argv[1]
    if command == 'inspect':
        print(json.dumps(inspect_all(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)))
    elif command == 'control':
        # control <node> <method> <json kwargs>: prints {sent, replies}
        node, method, kwargs = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        with app.connection_for_write() as conn:
            conn.ensure_connection()
            sent = time.time()
            replies = app.control.broadcast(method, arguments=kwargs, destination=[node],
                                            reply=True, timeout=5, connection=conn)
        # The send time, so a test can tell how long the worker took (without Python's start-up).
        print(json.dumps({'sent': sent, 'replies': replies}))
    elif command == 'call':
        # call <node> <app.control method> <json kwargs>: prints the replies that method returns
        node, method, kwargs = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        call = getattr(app.control, method)
        print(json.dumps(call(destination=[node], reply=True, timeout=5, **kwargs)))
