"""HMAC-SHA256 signatures over the signed form, with the key id travelling beside them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, Literal, NamedTuple, Union

from .canonical import signing_input

SIGNATURE_HEADER = "x-celeriac-signature"
SIGNATURE_KEY_HEADER = "x-celeriac-signature-key"
MIN_SECRET_BYTES = 16

Failure = Literal["unsigned", "unknown-key", "bad-signature"]


class SigningKey(NamedTuple):
    """One key: an id sent with each signature (not secret) and the secret shared with the workers."""

    id: str
    secret: str | bytes


KeyLike = Union[SigningKey, "tuple[str, str | bytes]", Mapping[str, Any]]


class Keys:
    """Checked keys: all of them verify, the one named by ``sign`` (default the first) signs."""

    def __init__(self, keys: Sequence[KeyLike], sign: str | None = None) -> None:
        self.secrets: dict[str, bytes] = {}
        for key in keys:
            key_id, secret = (key["id"], key["secret"]) if isinstance(key, Mapping) else key
            if not isinstance(key_id, str) or not key_id:
                raise ValueError("a signing key needs a non-empty id")
            if key_id in self.secrets:
                raise ValueError(f"signing key {key_id} is listed twice")
            raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
            if len(raw) < MIN_SECRET_BYTES:
                raise ValueError(f"signing key {key_id} is shorter than {MIN_SECRET_BYTES} bytes")
            self.secrets[key_id] = raw
        if not self.secrets:
            raise ValueError("keys must list at least one key")
        self.signer = sign if sign is not None else next(iter(self.secrets))
        if self.signer not in self.secrets:
            raise ValueError(f"sign names key {self.signer}, which is not in keys")


def _digest(secret: bytes, text: str) -> bytes:
    # surrogatepass: the signed text escapes lone surrogates, so this never meets one in practice.
    return hmac.new(secret, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def sign_message(headers: MutableMapping[str, Any], body: Sequence[Any], keys: Keys) -> None:
    """Adds the key id and the signature to ``headers`` of a protocol 2 message ``(args, kwargs, embed)``."""
    secret = keys.secrets[keys.signer]
    signature = _digest(secret, signing_input(headers, body, keys.signer))
    headers[SIGNATURE_KEY_HEADER] = keys.signer
    headers[SIGNATURE_HEADER] = base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def verify_message(headers: Mapping[str, Any], body: Sequence[Any], keys: Keys) -> Failure | None:
    """Why a message fails verification (Celeriac's reason codes), or ``None`` when it checks out."""
    key_id, given = headers.get(SIGNATURE_KEY_HEADER), headers.get(SIGNATURE_HEADER)
    if not isinstance(key_id, str) or not isinstance(given, str):
        return "unsigned"
    secret = keys.secrets.get(key_id)
    if secret is None:
        return "unknown-key"
    try:
        expected = _digest(secret, signing_input(headers, body, key_id))
        actual = base64.urlsafe_b64decode(given + "=" * (-len(given) % 4))
    except (ValueError, TypeError):
        return "bad-signature"
    return None if hmac.compare_digest(actual, expected) else "bad-signature"
