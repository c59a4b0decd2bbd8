"""What a reader panel reports: card reads, keypad input, tamper and power, online state.

These are in-process values handed from the OSDP panel to the controller; what goes on the wire
to the server is in ``edge_events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .wiegand import Credential, WiegandError


@dataclass(frozen=True, slots=True)
class CardRead:
    """A card presented at a reader. Exactly one of ``credential`` and ``error`` is set.

    ``stale`` marks a read that arrived while the reader was still settling after coming
    (back) online: it may have waited in the reader for any length of time, with nobody at the
    door any more, so it must never open one (see ``ReaderPanel``).
    """

    reader_id: str
    length: int
    data: bytes
    credential: Credential | None
    error: WiegandError | None
    stale: bool = False


@dataclass(frozen=True, slots=True)
class KeypadInput:
    """Keys pressed on a reader's keypad, as text: digits, ``*`` and ``#``.

    ``stale`` as for ``CardRead``: keys that may have waited in the reader while it was offline.
    """

    reader_id: str
    keys: str
    stale: bool = False


class TamperSource(StrEnum):
    LOCAL = "local"  # the reader's own case switch
    REMOTE = "remote"  # a downstream reader behind this PD


@dataclass(frozen=True, slots=True)
class TamperChanged:
    reader_id: str
    tampered: bool
    source: TamperSource


@dataclass(frozen=True, slots=True)
class PowerChanged:
    reader_id: str
    failed: bool


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """``secure`` is true only for a Secure Channel keyed with the reader's own key."""

    reader_id: str
    online: bool
    secure: bool


ReaderEvent = CardRead | KeypadInput | TamperChanged | PowerChanged | ReaderStatus
