"""The signed form of a task message, character for character what a Celeriac worker computes.

A Celeriac worker reads the message kombu wrote, turns kombu's type tags into values and writes them
back as tags, then prints the result as JavaScript's ``JSON.stringify`` would, object keys sorted.
So the values here first go through kombu's own JSON encoder, and everything after that follows
JavaScript's rules: number formatting, string escaping, UTF-16 key order, date precision.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from kombu.utils.json import dumps as kombu_dumps

VERSION = "celeriac-signature-v1"
RETRY_POLICY_HEADER = "x-celeriac-retry"
RESULT_TTL_HEADER = "x-celeriac-result-ttl"

_MAX_SAFE = 2**53
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_HAS_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})\Z", re.IGNORECASE | re.ASCII)
# The ISO form JavaScript parses the same way everywhere; other text is refused, not guessed at.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2}):?(\d{2}))",
    re.ASCII,
)
_UNKNOWN = object()


class _JsDate:
    """A revived kombu ``datetime``: milliseconds since the epoch, as a JavaScript Date holds it."""

    def __init__(self, text: str) -> None:
        self.ms = _parse_js_date(text if _HAS_ZONE.search(text) else text + "Z")


class _JsBytes:
    def __init__(self, data: bytes) -> None:
        self.data = data


class _JsTagged:
    """A revived kombu ``decimal``, kept as text so it is written back tagged."""

    def __init__(self, value: str) -> None:
        self.value = value


def _parse_js_date(text: str) -> int:
    m = _ISO.fullmatch(text)
    if not m:
        raise ValueError(f"datetime text {text!r} is not in the ISO form a Celeriac worker reads")
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    millis = int((m.group(7) or "0")[:3].ljust(3, "0"))  # JavaScript keeps milliseconds, truncated
    offset = 0
    if m.group(8) != "Z":
        if int(m.group(10)) > 23 or int(m.group(11)) > 59:
            raise ValueError(f"datetime text {text!r} has an offset a Celeriac worker does not read")
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * (-1 if m.group(9) == "-" else 1)
    local = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    return (local - _EPOCH) // timedelta(milliseconds=1) + millis - offset * 60_000


def _iso_of_ms(ms: int) -> str:
    try:
        at = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        raise ValueError("datetime is out of the range a Celeriac worker can sign") from None
    return f"{at.year:04d}-{at:%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}+00:00"


def _js_number(value: float) -> str:
    """``Number.prototype.toString``: shortest round-trip digits, exponent below 1e-6 or from 1e21."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(float(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent = int(exponent) + len(digit_tuple) - len(digits)
    k, n = len(digits), int(exponent) + len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + text


def _as_js_int(text: str) -> int | float:
    """A JSON integer as JavaScript reads it: exact up to 2^53, else the nearest double."""
    n = int(text)
    if -_MAX_SAFE <= n <= _MAX_SAFE:
        return n
    try:
        return float(n)
    except OverflowError:
        return float("inf") if n > 0 else float("-inf")


def _js_string_of(value: Any) -> str:
    """``String(value)`` for the values a kombu ``decimal`` tag may hold."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return _js_number(value)
    raise ValueError(f"a decimal tag holding {type(value).__name__} cannot be signed")


def _untag(kind: Any, value: Any) -> Any:
    if kind == "datetime":
        return _JsDate(value) if isinstance(value, str) else value
    if kind in ("date", "time"):
        return value
    if kind == "decimal":
        return _JsTagged(_js_string_of(value))
    if kind == "uuid":
        hex_ = value.get("hex") if isinstance(value, dict) else value
        if not isinstance(hex_, str):
            return value
        h = hex_.replace("-", "")
        if not h.isascii():
            raise ValueError("a uuid tag with non-ASCII text cannot be signed")
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if kind == "bytes":
        if not isinstance(value, str):
            return value
        # Each lone surrogate becomes U+FFFD, as Node's UTF-8 encoder does.
        text = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return _JsBytes(text.encode("utf-8"))
    if kind == "base64":
        return _JsBytes(base64.b64decode(value, validate=True)) if isinstance(value, str) else value
    return _UNKNOWN


def _revive(value: Any) -> Any:
    """kombu's type tags turned into values, innermost first, as the worker's JSON reviver does."""
    if isinstance(value, list):
        return [_revive(v) for v in value]
    if isinstance(value, dict):
        d = {k: _revive(v) for k, v in value.items()}
        if len(d) == 2 and "__type__" in d and "__value__" in d:
            out = _untag(d["__type__"], d["__value__"])
            return d if out is _UNKNOWN else out
        return d
    return value


def _retag(value: Any) -> Any:
    """Values written back as kombu tags, as the worker's JSON encoder does."""
    if isinstance(value, _JsDate):
        return {"__type__": "datetime", "__value__": _iso_of_ms(value.ms)}
    if isinstance(value, _JsBytes):
        try:
            return {"__type__": "bytes", "__value__": value.data.decode("utf-8")}
        except UnicodeDecodeError:
            return {"__type__": "base64", "__value__": base64.b64encode(value.data).decode("ascii")}
    if isinstance(value, _JsTagged):
        return {"__type__": "decimal", "__value__": value.value}
    if isinstance(value, dict) and "__celeriacTag" in value:
        # The worker's encoder takes any object with this key for one of its own tagged strings.
        inner = value.get("value")
        if value["__celeriacTag"] == "uuid" and isinstance(inner, str):
            return {"__type__": "uuid", "__value__": {"hex": inner.replace("-", "")}}
        if value["__celeriacTag"] != "uuid" and (inner is None or isinstance(inner, str)):
            return {"__type__": "decimal", **({"__value__": inner} if "value" in value else {})}
        raise ValueError("an object with a __celeriacTag key cannot be signed")
    if isinstance(value, list):
        return [_retag(v) for v in value]
    if isinstance(value, dict):
        return {k: _retag(v) for k, v in value.items()}
    return value


def as_decoded(value: Any, rounds: int = 1) -> Any:
    """``value`` as kombu sends it and a Celeriac worker reads it back: plain JSON, tags as objects."""
    text = kombu_dumps(value)
    plain = json.loads(text, parse_int=_as_js_int, parse_constant=lambda _: None)
    for _ in range(rounds):
        plain = _retag(_revive(plain))
    return plain


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        c = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\b\f\n\r\t":
            out.append(json.dumps(ch)[1:-1])
        elif c < 0x20 or 0xD800 <= c <= 0xDFFF:
            out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def js_json(value: Any) -> str:
    """``JSON.stringify`` with object keys sorted (by UTF-16 code units) at every level."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -_MAX_SAFE <= value <= _MAX_SAFE else js_json(_as_js_int(str(value)))
    if isinstance(value, float):
        return _js_number(value) if value - value == 0 else "null"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=_utf16_key)
        return "{" + ",".join(f"{_quote(k)}:{js_json(value[k])}" for k in keys) + "}"
    raise TypeError(f"{type(value).__name__} is not plain JSON")


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _num(v: Any) -> int | float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v if v - v == 0 else None


def _filled_embed(embed: Any) -> Any:
    if not isinstance(embed, dict):
        return None
    lists = {k: embed.get(k) if isinstance(embed.get(k), list) else None for k in ("callbacks", "errbacks", "chain")}
    chord = embed.get("chord")
    return {**embed, **lists, "chord": chord if isinstance(chord, dict) else None}


def _signed_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    # Headers travel as plain JSON (or AMQP fields): read them as the worker does, tags not revived.
    h = as_decoded(dict(headers), rounds=0)
    tl = h.get("timelimit")
    tl = tl if isinstance(tl, list) else []
    retries = _num(h.get("retries"))
    root_id = _str(h.get("root_id"))
    return {
        "task": _str(h.get("task")),
        "id": _str(h.get("id")),
        "eta": _str(h.get("eta")),
        "expires": _str(h.get("expires")),
        "group": _str(h.get("group")),
        "group_index": _num(h.get("group_index")),
        "retries": 0 if retries is None else retries,
        "timelimit": [_num(tl[0] if tl else None), _num(tl[1] if len(tl) > 1 else None)],
        "root_id": _str(h.get("id")) if root_id is None else root_id,
        "parent_id": _str(h.get("parent_id")),
        "ignore_result": h.get("ignore_result") is True,
        RETRY_POLICY_HEADER: _retag(_revive(h.get(RETRY_POLICY_HEADER))),
        RESULT_TTL_HEADER: _retag(_revive(h.get(RESULT_TTL_HEADER))),
    }


def signing_input(headers: Mapping[str, Any], body: Sequence[Any], key_id: str) -> str:
    """The text a message's signature is computed over, as Celeriac's ``signingInput`` builds it.

    ``body`` is the protocol 2 body ``(args, kwargs, embed)``. Raises ``ValueError`` for a value the
    worker would read differently from what was sent (it could never verify).
    """
    args, kwargs, embed = (list(body) + [None, None, None])[:3]
    # The worker revives the body when it decodes it, then once more when it builds this text.
    decoded = [as_decoded(args, 2), as_decoded(kwargs, 2), _filled_embed(as_decoded(embed, 2))]
    return js_json([VERSION, key_id, _signed_headers(headers), decoded])
