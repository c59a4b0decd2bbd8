"""Certificate verification codes: 12 base32 characters (60 random bits), printed as three
groups of four so they can be read aloud and typed back."""

from __future__ import annotations

import secrets
from base64 import b32encode

CODE_CHARS = 12


def new_code() -> str:
    raw = b32encode(secrets.token_bytes(10)).decode()[:CODE_CHARS]
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalise_code(text: str) -> str:
    """A code as typed or read aloud: any case, spaces or dashes, and the digits people type for
    the letters base32 has instead (0 for O, 1 for I, 8 for B). "" when it cannot be a code."""
    raw = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
    raw = raw.translate(str.maketrans("018", "OIB"))
    if len(raw) != CODE_CHARS or any(ch in "09" for ch in raw):
        return ""
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))
