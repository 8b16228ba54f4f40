"""Signs Celery task messages so that Celeriac workers configured with ``signing`` accept them.

>>> import celeriac_signing
>>> celeriac_signing.install(app, keys=[("k1", K1), ("k2", K2)], sign="k2")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

from celery import Celery
from celery.signals import before_task_publish

from .canonical import signing_input
from .signing import (
    SIGNATURE_HEADER,
    SIGNATURE_KEY_HEADER,
    KeyLike,
    Keys,
    SigningKey,
    sign_message,
    verify_message,
)

__all__ = [
    "SIGNATURE_HEADER",
    "SIGNATURE_KEY_HEADER",
    "Keys",
    "SigningKey",
    "install",
    "sign_message",
    "signing_input",
    "verify_message",
]


def install(app: Celery, keys: Sequence[KeyLike], sign: str | None = None) -> Callable[[], None]:
    """Signs every task message this process publishes, from Celery's ``before_task_publish``.

    ``keys`` are ``(id, secret)`` pairs (or ``{"id", "secret"}`` mappings); ``sign`` names the one
    that signs, by default the first. The app must use the JSON serializer and task protocol 2, as
    Celeriac reads nothing else. Returns a function that stops signing.
    """
    if app.conf.task_serializer != "json" or int(app.conf.task_protocol) != 2:
        raise ValueError("Celeriac signing needs task_serializer='json' and task_protocol=2")
    checked = Keys(keys, sign)

    def on_publish(body: Any = None, headers: Any = None, **_: Any) -> None:
        if not isinstance(headers, dict) or not isinstance(body, (tuple, list)):
            raise ValueError("Celeriac signing needs protocol 2 task messages")
        sign_message(headers, body, checked)

    before_task_publish.connect(on_publish, weak=False)
    return lambda: before_task_publish.disconnect(on_publish)
