"""Wiegand codecs, checked against frames assembled here bit by bit from HID's published layouts.

The helpers below build frames as strings of '0'/'1' in wire order (bit 1 first), with parity
coverage written out as HID describes it, so the codec is compared with an independent reading
of the standard rather than with itself.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.edge.wiegand import (
    Bits,
    WiegandError,
    WiegandErrorReason,
    WiegandFormat,
    corporate_1000_masks,
    decode,
    decode_osdp,
    encode,
)


def even(bits: str) -> str:
    """The bit that makes the count of ones even."""
    return "1" if bits.count("1") % 2 else "0"


def odd(bits: str) -> str:
    """The bit that makes the count of ones odd."""
    return "0" if bits.count("1") % 2 else "1"


def h10301(facility: int, card: int) -> str:
    data = f"{facility:08b}{card:016b}"  # frame bits 2-25
    return even(data[:12]) + data + odd(data[12:])


def h10304(facility: int, card: int) -> str:
    data = f"{facility:016b}{card:019b}"  # frame bits 2-36
    # Leading even parity over frame bits 2-19, trailing odd parity over frame bits 19-36.
    return even(data[:18]) + data + odd(data[17:])


# HID Corporate 1000 (35-bit), parity coverage as HID lists it (frame bit numbers).
C1000_EVEN_BIT2 = [
    3,
    4,
    6,
    7,
    9,
    10,
    12,
    13,
    15,
    16,
    18,
    19,
    21,
    22,
    24,
    25,
    27,
    28,
    30,
    31,
    33,
    34,
]
C1000_ODD_BIT35 = [2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24, 26, 27, 29, 30, 32, 33]


def corporate_1000(company: int, card: int) -> str:
    bit = {n: "0" for n in range(1, 36)}
    for i, b in enumerate(f"{company:012b}"):
        bit[3 + i] = b
    for i, b in enumerate(f"{card:020b}"):
        bit[15 + i] = b
    bit[2] = even("".join(bit[n] for n in C1000_EVEN_BIT2))
    bit[35] = odd("".join(bit[n] for n in C1000_ODD_BIT35))
    bit[1] = odd("".join(bit[n] for n in range(2, 36)))
    return "".join(bit[n] for n in range(1, 36))


BUILDERS = {
    WiegandFormat.H10301: (h10301, 255, 65535),
    WiegandFormat.H10304: (h10304, 65535, 524287),
    WiegandFormat.CORPORATE_1000_35: (corporate_1000, 4095, 1048575),
}


class TestH10301:
    @pytest.mark.parametrize(
        ("facility", "card", "frame"),
        [
            # Facility 1, card 1: one '1' in bits 2-13 gives even parity 1; one '1' in 14-25
            # gives odd parity 0.
            (1, 1, "1" + "00000001" + "0000000000000001" + "0"),
            (0, 0, "0" + "0" * 24 + "1"),
            (255, 65535, "0" + "1" * 24 + "1"),
        ],
    )
    def test_hand_derived_vectors(self, facility, card, frame):
        assert str(encode(WiegandFormat.H10301, facility, card)) == frame
        assert h10301(facility, card) == frame
        got = decode(int(frame, 2), 26)
        assert (got.format, got.facility, got.card) == (WiegandFormat.H10301, facility, card)

    @pytest.mark.parametrize(
        ("facility", "card"), [(1, 1), (18, 52179), (123, 4567), (200, 12345), (255, 1)]
    )
    def test_vectors_assembled_from_the_layout(self, facility, card):
        frame = h10301(facility, card)
        assert str(encode("H10301", facility, card)) == frame
        assert decode(int(frame, 2), 26).card == card


class TestH10304:
    @pytest.mark.parametrize(
        ("facility", "card"), [(0, 0), (1, 1), (65535, 524287), (1234, 56789), (40000, 300000)]
    )
    def test_vectors_assembled_from_the_layout(self, facility, card):
        frame = h10304(facility, card)
        assert str(encode(WiegandFormat.H10304, facility, card)) == frame
        got = decode(int(frame, 2), 37)
        assert (got.format, got.facility, got.card) == (WiegandFormat.H10304, facility, card)


class TestCorporate1000:
    def test_masks_match_hids_coverage_lists(self):
        def mask(positions):
            return sum(1 << (35 - p) for p in positions)

        masks = corporate_1000_masks()
        assert masks[2] == mask([2, *C1000_EVEN_BIT2]) == 0x3_B6DB_6DB6
        assert masks[35] == mask([35, *C1000_ODD_BIT35]) == 0x3_6DB6_DB6D
        assert masks[1] == mask(range(1, 36)) == 0x7_FFFF_FFFF

    @pytest.mark.parametrize(
        ("company", "card"), [(0, 0), (1, 1), (627, 3187), (4095, 1048575), (2048, 524288)]
    )
    def test_vectors_assembled_from_the_layout(self, company, card):
        frame = corporate_1000(company, card)
        assert frame.count("1") % 2 == 1  # bit 1 makes the whole frame odd
        assert str(encode(WiegandFormat.CORPORATE_1000_35, company, card)) == frame
        got = decode(int(frame, 2), 35)
        assert (got.format, got.facility, got.card) == (
            WiegandFormat.CORPORATE_1000_35,
            company,
            card,
        )


@pytest.mark.parametrize("fmt", list(BUILDERS))
@given(data=st.data())
def test_round_trip(fmt, data):
    builder, max_facility, max_card = BUILDERS[fmt]
    facility = data.draw(st.integers(0, max_facility))
    card = data.draw(st.integers(0, max_card))
    frame = encode(fmt, facility, card)
    assert str(frame) == builder(facility, card)
    got = decode(frame.value, frame.length)
    assert (got.format, got.facility, got.card, got.bits) == (fmt, facility, card, frame)
    via_osdp = decode_osdp(frame.length, frame.to_osdp())
    assert via_osdp == got


def expected_failures(fmt: WiegandFormat, position: int) -> set[int]:
    """Which parity bits a flip of ``position`` must upset, from the layouts written above."""
    if fmt is WiegandFormat.H10301:
        return {1} if position <= 13 else {26}
    if fmt is WiegandFormat.H10304:
        return ({1} if position <= 19 else set()) | ({37} if position >= 19 else set())
    failed = {1}  # covers every bit
    if position in (2, *C1000_EVEN_BIT2):
        failed.add(2)
    if position in (35, *C1000_ODD_BIT35):
        failed.add(35)
    return failed


@pytest.mark.parametrize("fmt", list(BUILDERS))
@given(data=st.data())
def test_every_single_bit_flip_is_caught_by_parity(fmt, data):
    builder, max_facility, max_card = BUILDERS[fmt]
    frame_text = builder(
        data.draw(st.integers(0, max_facility)), data.draw(st.integers(0, max_card))
    )
    frame = Bits(int(frame_text, 2), len(frame_text))
    for position in range(1, frame.length + 1):
        with pytest.raises(WiegandError) as caught:
            decode(frame.flipped(position).value, frame.length)
        assert caught.value.reason is WiegandErrorReason.PARITY
        assert set(caught.value.failed_parity_bits) == expected_failures(fmt, position)
        assert "parity at bit" in str(caught.value)


@given(length=st.integers(1, 64), data=st.data())
def test_raw_has_no_parity_so_a_flip_changes_exactly_that_bit_of_the_value(length, data):
    value = data.draw(st.integers(0, (1 << length) - 1))
    position = data.draw(st.integers(1, length))
    frame = encode(WiegandFormat.RAW, None, value, length=length)
    got = decode(frame.flipped(position).value, length, format=WiegandFormat.RAW)
    # Bit 1 is the most significant, so flipping bit p toggles 2**(length - p) in the value.
    assert got.card == value ^ (1 << (length - position))
    assert got.facility is None


class TestOsdpPayload:
    def test_h10301_is_left_justified_msb_first(self):
        frame = h10301(1, 1)
        padded = frame + "0" * 6  # 26 bits fill four bytes with six zero bits at the end
        data = int(padded, 2).to_bytes(4, "big")
        assert data == bytes([0x80, 0x80, 0x00, 0x80])
        assert encode("H10301", 1, 1).to_osdp() == data
        assert decode_osdp(26, data).card == 1

    def test_byte_count_must_match_the_bit_length(self):
        with pytest.raises(WiegandError) as caught:
            decode_osdp(26, bytes(3))
        assert caught.value.reason is WiegandErrorReason.BAD_PAYLOAD
        assert "needs 4 data bytes" in str(caught.value)

    def test_padding_bits_must_be_zero(self):
        with pytest.raises(WiegandError) as caught:
            Bits.from_osdp(26, bytes([0x80, 0x80, 0x00, 0x81]))
        assert caught.value.reason is WiegandErrorReason.BAD_PAYLOAD


class TestErrors:
    def test_unknown_length(self):
        with pytest.raises(WiegandError) as caught:
            decode(0, 30)
        assert caught.value.reason is WiegandErrorReason.UNKNOWN_LENGTH
        assert "30-bit" in str(caught.value)

    def test_unknown_format(self):
        with pytest.raises(WiegandError) as caught:
            encode("H99999", 1, 1)
        assert caught.value.reason is WiegandErrorReason.UNKNOWN_FORMAT

    @pytest.mark.parametrize(
        ("fmt", "facility", "card", "field"),
        [
            ("H10301", 256, 1, "facility code 256"),
            ("H10301", 1, 65536, "card number 65536"),
            ("H10301", -1, 1, "facility code -1"),
            ("H10304", 65536, 1, "facility code 65536"),
            ("H10304", 1, 524288, "card number 524288"),
            ("C1000-35", 4096, 1, "facility code 4096"),
            ("C1000-35", 1, 1 << 20, "card number 1048576"),
        ],
    )
    def test_out_of_range(self, fmt, facility, card, field):
        with pytest.raises(WiegandError) as caught:
            encode(fmt, facility, card)
        assert caught.value.reason is WiegandErrorReason.OUT_OF_RANGE
        assert field in str(caught.value)

    def test_explicit_format_with_the_wrong_length(self):
        with pytest.raises(WiegandError) as caught:
            decode(0, 26, format=WiegandFormat.H10304)
        assert caught.value.reason is WiegandErrorReason.UNKNOWN_LENGTH

    def test_raw_needs_a_length(self):
        with pytest.raises(WiegandError):
            encode(WiegandFormat.RAW, None, 5)

    def test_value_wider_than_the_frame(self):
        with pytest.raises(WiegandError) as caught:
            decode(1 << 26, 26)
        assert caught.value.reason is WiegandErrorReason.OUT_OF_RANGE
