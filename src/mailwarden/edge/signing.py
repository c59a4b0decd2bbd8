"""Signed rule documents: the envelope a snapshot or delta travels in, and its check.

An envelope is a JSON object::

    {"kind": "rule-snapshot" | "rule-delta", "alg": "HMAC-SHA256", "key_id": "...",
     "payload": {...}, "signature": "<base64>"}

The signature is HMAC-SHA256, keyed with the device secret named by ``key_id``, over the
canonical JSON of the envelope without ``signature``: keys sorted, no whitespace, UTF-8,
no NaN or infinities. ``kind`` and ``alg`` are inside the signed bytes, so a signed delta cannot
be replayed as a snapshot and the algorithm cannot be swapped.

The secret is per edge controller (at least 32 random bytes, enrolled with the device), so a
stolen controller can forge rules only for itself. Ed25519 would let the edge hold a public key
instead; it needs ``cryptography``, which this deployment does not install, and ``alg`` leaves
room for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

HMAC_SHA256 = "HMAC-SHA256"
MIN_SECRET_BYTES = 32


class DocumentKind(StrEnum):
    SNAPSHOT = "rule-snapshot"
    DELTA = "rule-delta"


class SignatureError(ValueError):
    """A document that is not well-formed, not signed by a known key, or altered."""


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _mac(secret: bytes, unsigned: Mapping[str, Any]) -> bytes:
    return hmac.new(secret, canonical_json(unsigned), hashlib.sha256).digest()


def _check_secret(key_id: str, secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"key {key_id!r}: a device secret needs {MIN_SECRET_BYTES}+ bytes")


def sign_document(
    kind: DocumentKind, payload: BaseModel | Mapping[str, Any], secret: bytes, key_id: str
) -> bytes:
    """Build a signed envelope (the server side; also used by tests and the demo)."""
    _check_secret(key_id, secret)
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload)
    unsigned = {"kind": str(kind), "alg": HMAC_SHA256, "key_id": key_id, "payload": body}
    signature = base64.b64encode(_mac(secret, unsigned)).decode("ascii")
    return canonical_json({**unsigned, "signature": signature})


def open_document(
    document: bytes | str, keys: Mapping[str, bytes], kind: DocumentKind
) -> dict[str, Any]:
    """Check a signed envelope and return its payload, or raise SignatureError saying why."""
    try:
        envelope = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError(f"document is not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise SignatureError("document is not a JSON object")
    expected = {"kind", "alg", "key_id", "payload", "signature"}
    if set(envelope) != expected:
        raise SignatureError(f"document fields must be exactly {sorted(expected)}")
    if envelope["alg"] != HMAC_SHA256:
        raise SignatureError(f"unsupported signature algorithm {envelope['alg']!r}")
    key_id = envelope["key_id"]
    if not isinstance(key_id, str) or key_id not in keys:
        raise SignatureError(f"document is signed with unknown key {key_id!r}")
    secret = keys[key_id]
    _check_secret(key_id, secret)
    try:
        signature = base64.b64decode(envelope["signature"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise SignatureError("signature is not base64") from None
    unsigned = {k: envelope[k] for k in ("kind", "alg", "key_id", "payload")}
    try:
        expected_mac = _mac(secret, unsigned)
    except ValueError as exc:  # NaN or infinity smuggled into the payload
        raise SignatureError(f"document is not canonical JSON: {exc}") from None
    if not hmac.compare_digest(signature, expected_mac):
        raise SignatureError("signature does not match: the document was altered or mis-keyed")
    if envelope["kind"] != kind:
        raise SignatureError(f"expected a {kind.value} document, got {envelope['kind']!r}")
    payload = envelope["payload"]
    if not isinstance(payload, dict):
        raise SignatureError("payload is not a JSON object")
    return payload
