"""Pickup proofs: a code and a QR token derived from the item and the server's secret.

Deriving them (instead of storing them) lets reminders repeat the same code and QR, and leaves
nothing in the database that would let someone with read access collect an item.
"""

from __future__ import annotations

import hmac

from django.core import signing
from django.utils.crypto import salted_hmac

QR_SALT = "mailwarden.pickup.qr"
CODE_DIGITS = 6
MAX_CODE_FAILURES = 5


def pickup_code(uid: str) -> str:
    digest = salted_hmac("mailwarden.pickup.code", uid, algorithm="sha256").hexdigest()
    return str(int(digest[:15], 16) % 10**CODE_DIGITS).zfill(CODE_DIGITS)


def is_code_shaped(code: str) -> bool:
    """Whether ``code`` could be a pickup code at all: exactly six ASCII digits, once trimmed.

    Anything else (letters, other scripts' digits, the wrong length) is refused without using up
    one of the item's tries.
    """
    text = code.strip()
    return len(text) == CODE_DIGITS and text.isascii() and text.isdigit()


def code_matches(uid: str, code: str) -> bool:
    # compare_digest accepts str only when it is ASCII; comparing bytes never raises.
    return hmac.compare_digest(pickup_code(uid).encode(), code.strip().encode())


def qr_token(uid: str) -> str:
    return signing.dumps({"uid": uid}, salt=QR_SALT, compress=True)


def qr_uid(token: str) -> str | None:
    try:
        data = signing.loads(token.strip(), salt=QR_SALT)
    except signing.BadSignature:
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    return uid if isinstance(uid, str) else None
