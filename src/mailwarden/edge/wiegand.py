"""Wiegand card formats: encode and decode frames with their parity checks.

Bits are numbered as HID's format descriptions number them: bit 1 is the first bit on the wire,
which is the most significant bit of the frame's integer value. A parity bit's "cover" includes
the parity bit itself, so a valid frame has an even (or odd) number of ones over the whole cover.

H10301, 26 bits (open format)
    bit 1        even parity, covers bits 1-13
    bits 2-9     facility code, 8 bits
    bits 10-25   card number, 16 bits
    bit 26       odd parity, covers bits 14-26

H10304, 37 bits
    bit 1        even parity, covers bits 1-19
    bits 2-17    facility code, 16 bits
    bits 18-36   card number, 19 bits
    bit 37       odd parity, covers bits 19-37 (bit 19 is checked by both parity bits)

HID Corporate 1000, 35 bits (derived from HID's published layout)
    bit 1        odd parity over the whole frame: covers bits 1-35
    bit 2        even parity, covers bit 2 and bits 3,4, 6,7, 9,10, ... 33,34
                 (every n in 3..34 with n % 3 != 2)
    bits 3-14    company ID, 12 bits (returned as ``facility``)
    bits 15-34   card number, 20 bits
    bit 35       odd parity, covers bit 35 and bits 2,3, 5,6, 8,9, ... 32,33
                 (every n in 2..33 with n % 3 != 1)

    As masks over the 35-bit frame value (bit n is ``1 << (35 - n)``), parity bit included:
        bit 2   0x3_B6DB_6DB6  (23 bits set)
        bit 35  0x3_6DB6_DB6D  (23 bits set)
        bit 1   0x7_FFFF_FFFF  (35 bits set)
    ``corporate_1000_masks()`` computes them from the layout, and the tests check these numbers.

    Bit 1 covers the other two parity bits, so it is computed last when encoding. Every single-bit
    error flips bit 1's parity, so all of them are detected.

Raw
    any length, no fields and no parity; ``card`` holds the whole frame value.

OSDP card reads carry the bit count and the bits packed MSB-first, left-justified in whole bytes:
``Bits.from_osdp`` and ``Bits.to_osdp`` convert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

MAX_RAW_LENGTH = 1024


class WiegandFormat(StrEnum):
    H10301 = "H10301"
    H10304 = "H10304"
    CORPORATE_1000_35 = "C1000-35"
    RAW = "raw"


class WiegandErrorReason(StrEnum):
    PARITY = "parity"
    UNKNOWN_LENGTH = "unknown_length"
    UNKNOWN_FORMAT = "unknown_format"
    OUT_OF_RANGE = "out_of_range"
    BAD_PAYLOAD = "bad_payload"


class WiegandError(ValueError):
    """A frame or field that cannot be encoded or decoded; ``reason`` says why."""

    def __init__(
        self,
        reason: WiegandErrorReason,
        message: str,
        *,
        failed_parity_bits: tuple[int, ...] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.failed_parity_bits = failed_parity_bits


@dataclass(frozen=True, slots=True)
class Bits:
    """A Wiegand frame: ``value`` holds ``length`` bits, bit 1 being the most significant."""

    value: int
    length: int

    def __post_init__(self) -> None:
        if not 1 <= self.length <= MAX_RAW_LENGTH:
            raise WiegandError(
                WiegandErrorReason.UNKNOWN_LENGTH,
                f"a frame must have 1 to {MAX_RAW_LENGTH} bits, got {self.length}",
            )
        if not 0 <= self.value < (1 << self.length):
            raise WiegandError(
                WiegandErrorReason.OUT_OF_RANGE,
                f"value {self.value} does not fit in {self.length} bits",
            )

    def bit(self, position: int) -> int:
        if not 1 <= position <= self.length:
            raise IndexError(f"bit {position} is outside a {self.length}-bit frame")
        return (self.value >> (self.length - position)) & 1

    def flipped(self, position: int) -> Bits:
        self.bit(position)
        return Bits(self.value ^ (1 << (self.length - position)), self.length)

    def to_osdp(self) -> bytes:
        """The OSDP card-read payload: MSB-first, left-justified, padded with zeros."""
        nbytes = (self.length + 7) // 8
        return (self.value << (nbytes * 8 - self.length)).to_bytes(nbytes, "big")

    @classmethod
    def from_osdp(cls, length: int, data: bytes) -> Bits:
        if length < 1:
            raise WiegandError(WiegandErrorReason.BAD_PAYLOAD, f"card read has bit length {length}")
        nbytes = (length + 7) // 8
        if len(data) != nbytes:
            raise WiegandError(
                WiegandErrorReason.BAD_PAYLOAD,
                f"a {length}-bit card read needs {nbytes} data bytes, got {len(data)}",
            )
        padding = nbytes * 8 - length
        raw = int.from_bytes(data, "big")
        if raw & ((1 << padding) - 1):
            # Left-justified data must end in zero padding; set bits there mean the reader and we
            # disagree about the length or the justification.
            raise WiegandError(
                WiegandErrorReason.BAD_PAYLOAD,
                f"the {padding} padding bits after a {length}-bit read are not zero",
            )
        return cls(raw >> padding, length)

    def __str__(self) -> str:
        return format(self.value, f"0{self.length}b")


@dataclass(frozen=True, slots=True)
class Credential:
    """A decoded card: ``facility`` is None for formats without one (raw)."""

    format: WiegandFormat
    facility: int | None
    card: int
    bits: Bits


@dataclass(frozen=True, slots=True)
class Field:
    first: int
    width: int

    @property
    def maximum(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True, slots=True)
class Parity:
    position: int
    odd: bool
    covers: frozenset[int]


@dataclass(frozen=True, slots=True)
class Layout:
    format: WiegandFormat
    length: int
    facility: Field
    card: Field
    parities: tuple[Parity, ...]  # in the order they must be computed when encoding

    def mask(self, positions: Iterable[int]) -> int:
        return sum(1 << (self.length - p) for p in set(positions))


def _span(first: int, last: int) -> frozenset[int]:
    return frozenset(range(first, last + 1))


LAYOUTS: dict[WiegandFormat, Layout] = {
    WiegandFormat.H10301: Layout(
        WiegandFormat.H10301,
        26,
        facility=Field(2, 8),
        card=Field(10, 16),
        parities=(Parity(1, odd=False, covers=_span(1, 13)), Parity(26, True, _span(14, 26))),
    ),
    WiegandFormat.H10304: Layout(
        WiegandFormat.H10304,
        37,
        facility=Field(2, 16),
        card=Field(18, 19),
        parities=(Parity(1, odd=False, covers=_span(1, 19)), Parity(37, True, _span(19, 37))),
    ),
    WiegandFormat.CORPORATE_1000_35: Layout(
        WiegandFormat.CORPORATE_1000_35,
        35,
        facility=Field(3, 12),
        card=Field(15, 20),
        parities=(
            Parity(2, odd=False, covers=frozenset({2} | {n for n in range(3, 35) if n % 3 != 2})),
            Parity(35, odd=True, covers=frozenset({35} | {n for n in range(2, 34) if n % 3 != 1})),
            Parity(1, odd=True, covers=_span(1, 35)),
        ),
    ),
}

FORMAT_BY_LENGTH: dict[int, WiegandFormat] = {layout.length: fmt for fmt, layout in LAYOUTS.items()}


def corporate_1000_masks() -> dict[int, int]:
    """Parity bit position -> mask of the bits it covers (itself included), for documentation."""
    layout = LAYOUTS[WiegandFormat.CORPORATE_1000_35]
    return {p.position: layout.mask(p.covers) for p in layout.parities}


def _parse_format(fmt: WiegandFormat | str) -> WiegandFormat:
    try:
        return WiegandFormat(fmt)
    except ValueError:
        known = ", ".join(f.value for f in WiegandFormat)
        raise WiegandError(
            WiegandErrorReason.UNKNOWN_FORMAT, f"unknown Wiegand format {fmt!r}; known: {known}"
        ) from None


def _check_field(name: str, value: int, field: Field, fmt: WiegandFormat) -> None:
    if not 0 <= value <= field.maximum:
        raise WiegandError(
            WiegandErrorReason.OUT_OF_RANGE,
            f"{name} {value} is out of range for {fmt.value} (0-{field.maximum})",
        )


def encode(
    format: WiegandFormat | str,
    facility: int | None,
    card: int,
    *,
    length: int | None = None,
) -> Bits:
    """Build a frame. For ``raw``, ``card`` is the whole frame and ``length`` is required."""
    fmt = _parse_format(format)
    if fmt is WiegandFormat.RAW:
        if length is None:
            raise WiegandError(WiegandErrorReason.UNKNOWN_LENGTH, "a raw frame needs its length")
        if facility is not None:
            raise WiegandError(WiegandErrorReason.OUT_OF_RANGE, "a raw frame has no facility code")
        return Bits(card, length)
    layout = LAYOUTS[fmt]
    if length is not None and length != layout.length:
        raise WiegandError(
            WiegandErrorReason.UNKNOWN_LENGTH,
            f"{fmt.value} frames have {layout.length} bits, not {length}",
        )
    if facility is None:
        raise WiegandError(WiegandErrorReason.OUT_OF_RANGE, f"{fmt.value} needs a facility code")
    _check_field("facility code", facility, layout.facility, fmt)
    _check_field("card number", card, layout.card, fmt)
    n = layout.length
    value = facility << (n - layout.facility.first - layout.facility.width + 1)
    value |= card << (n - layout.card.first - layout.card.width + 1)
    for parity in layout.parities:
        others = layout.mask(parity.covers - {parity.position})
        ones = (value & others).bit_count()
        if (ones % 2 == 0) == parity.odd:
            value |= 1 << (n - parity.position)
    return Bits(value, n)


def _field(value: int, length: int, field: Field) -> int:
    return (value >> (length - field.first - field.width + 1)) & field.maximum


def decode(
    bits: int,
    length: int,
    *,
    format: WiegandFormat | str | None = None,
) -> Credential:
    """Decode a frame, checking its parity. The format is chosen by length unless given."""
    frame = Bits(bits, length)
    if format is None:
        if length not in FORMAT_BY_LENGTH:
            known = ", ".join(str(n) for n in sorted(FORMAT_BY_LENGTH))
            raise WiegandError(
                WiegandErrorReason.UNKNOWN_LENGTH,
                f"no Wiegand format is configured for {length}-bit frames (known: {known})",
            )
        fmt = FORMAT_BY_LENGTH[length]
    else:
        fmt = _parse_format(format)
    if fmt is WiegandFormat.RAW:
        return Credential(fmt, None, frame.value, frame)
    layout = LAYOUTS[fmt]
    if length != layout.length:
        raise WiegandError(
            WiegandErrorReason.UNKNOWN_LENGTH,
            f"{fmt.value} frames have {layout.length} bits, got {length}",
        )
    failed = tuple(
        p.position
        for p in layout.parities
        if ((frame.value & layout.mask(p.covers)).bit_count() % 2 == 1) != p.odd
    )
    if failed:
        names = ", ".join(str(b) for b in sorted(failed))
        raise WiegandError(
            WiegandErrorReason.PARITY,
            f"{fmt.value} frame {frame} fails parity at bit {names}",
            failed_parity_bits=tuple(sorted(failed)),
        )
    return Credential(
        fmt,
        _field(frame.value, length, layout.facility),
        _field(frame.value, length, layout.card),
        frame,
    )


def decode_osdp(
    length: int, data: bytes, *, format: WiegandFormat | str | None = None
) -> Credential:
    """Decode an OSDP raw-Wiegand card read (``length`` in bits, data MSB-first, left-justified)."""
    frame = Bits.from_osdp(length, data)
    return decode(frame.value, frame.length, format=format)
