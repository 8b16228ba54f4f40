"""Random task messages for the signing property test.

``cases.py sign N SEED`` prints N messages signed with k2, one JSON line each: the headers and the
body as kombu writes them, and the signed text. ``cases.py verify`` reads such lines (signed
elsewhere) on stdin and prints, per line, the reason verification fails or null.
"""

from __future__ import annotations

import json
import random
import struct
import sys
import uuid
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

from kombu.utils.json import dumps, loads

from celeriac_signing import Keys, sign_message, signing_input, verify_message

KEYS = Keys([("k1", "first signing secret of 32 bytes"), ("k2", "second signing secret, 32 bytes.")], "k2")
FLOATS = [1.0, 0.1, 1e21, 1e20, 1e-7, 1e-6, -0.0, 1e16, 5e-324, 1.7976931348623157e308, 0.5, 123e-20, 2.0**53 + 2]


def text(rng: random.Random) -> str:
    pools = [(0x20, 0x7E), (0, 0x1F), (0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, 0x10FFFF), (0xD800, 0xDFFF)]
    out = []
    for _ in range(rng.randint(0, 8)):
        lo, hi = rng.choice(pools)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def number(rng: random.Random, finite: bool = False) -> Any:
    pick = rng.randint(0, 5)
    if pick == 0:
        return rng.choice(FLOATS) * rng.choice([1, -1])
    if pick == 1:
        return rng.randint(-(2**70), 2**70) >> rng.randint(0, 69)
    if pick == 2:
        value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        return 0.5 if finite and value - value != 0 else value
    if pick == 3:
        return rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)
    return rng.randint(-1000, 1000)


def moment(rng: random.Random) -> datetime:
    at = datetime(1900, 1, 1) + timedelta(microseconds=rng.randint(0, 200 * 365 * 86400 * 10**6))
    if rng.random() < 0.5:
        return at
    return at.replace(tzinfo=timezone(timedelta(minutes=rng.randint(-23 * 60, 23 * 60))))


def value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["none", "bool", "num", "str", "date", "day", "time", "dec", "uuid", "bytes"]
    kind = rng.choice(kinds + (["list", "dict"] * 2 if depth < 3 else []))
    if kind == "list":
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "dict":
        return {text(rng): value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    makers: dict[str, Callable[[], Any]] = {
        "none": lambda: None,
        "bool": lambda: rng.random() < 0.5,
        "num": lambda: number(rng),
        "str": lambda: text(rng),
        "date": lambda: moment(rng),
        "day": lambda: moment(rng).date(),
        "time": lambda: time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999999)),
        "dec": lambda: Decimal(rng.randint(-(10**12), 10**12)).scaleb(rng.randint(-8, 4)),
        "uuid": lambda: uuid.UUID(int=rng.getrandbits(128)),
        "bytes": lambda: rng.choice([text(rng).encode("utf-8", "ignore"), rng.randbytes(rng.randint(0, 6))]),
    }
    return makers[kind]()


def maybe(rng: random.Random, make: Any) -> Any:
    return make() if rng.random() < 0.5 else None


def headers(rng: random.Random) -> dict[str, Any]:
    task_id = str(uuid.UUID(int=rng.getrandbits(128)))
    h: dict[str, Any] = {
        "lang": "py",
        "task": "pysign.echo",
        "id": task_id,
        "root_id": maybe(rng, lambda: rng.choice([task_id, "", text(rng)])),
        "parent_id": maybe(rng, lambda: text(rng)),
        "group": maybe(rng, lambda: text(rng)),
        "group_index": maybe(rng, lambda: number(rng, True)),
        "retries": rng.choice([0, 3, number(rng, True), None, "2"]),
        "timelimit": rng.choice([[None, None], [number(rng, True), number(rng, True)], [], [1], None]),
        "eta": maybe(rng, lambda: moment(rng).isoformat()),
        "expires": maybe(rng, lambda: moment(rng).isoformat()),
        "ignore_result": rng.choice([True, False, 1, None]),
        "argsrepr": text(rng),
    }
    if rng.random() < 0.5:
        h["x-celeriac-retry"] = {"max": rng.randint(0, 5), "initialDelayMs": number(rng, True), text(rng): text(rng)}
    if rng.random() < 0.5:
        h["x-celeriac-result-ttl"] = number(rng, True)
    return h


def embed(rng: random.Random) -> Any:
    def sig() -> dict[str, Any]:
        return {"task": "pysign.echo", "args": [value(rng, 2)], "kwargs": {}, "options": {"task_id": text(rng)}}

    if rng.random() < 0.1:
        return rng.choice([None, [], "x"])
    e = {
        "callbacks": rng.choice([None, [sig()], "nope"]),
        "errbacks": rng.choice([None, [sig()]]),
        "chain": rng.choice([None, [sig(), sig()]]),
        "chord": rng.choice([None, sig(), [1]]),
    }
    for key in rng.sample(list(e), rng.randint(0, 2)):
        del e[key]
    return e


def sign(count: int, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        h = headers(rng)
        body = ([value(rng) for _ in range(rng.randint(0, 3))], {text(rng): value(rng) for _ in range(3)}, embed(rng))
        sign_message(h, body, KEYS)
        line = {"headers": dumps(h), "body": dumps(body), "signed": signing_input(h, body, "k2")}
        print(json.dumps(line), flush=True)


def verify() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        print(json.dumps(verify_message(message["headers"], loads(message["body"]), KEYS)), flush=True)


if __name__ == "__main__":
    sign(int(sys.argv[2]), int(sys.argv[3])) if sys.argv[1] == "sign" else verify()
