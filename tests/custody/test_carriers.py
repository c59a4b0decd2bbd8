"""Carrier detection, checked against the vendored tracking_number_data test vectors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.custody import carriers
from mailwarden.custody.carriers import (
    CarrierDataError,
    InvalidTrackingNumber,
    carrier_detect_lines,
    detect,
    detect_all,
    load_types,
    validate,
)

PACKAGE_DIR = Path(carriers.__file__).resolve().parent
COURIER_FILES = sorted((PACKAGE_DIR / "data" / "tracking_numbers" / "couriers").glob("*.json"))

# Types that the data set leaves without an id; the engine names them after their name.
IDS_FOR_UNNAMED_TYPES = {
    "UPS Waybill": "ups_waybill",
    "LaserShip 1LS7 (18)": "lasership_1ls7_18",
    "Old Dominion": "old_dominion",
    "Old Dominion Guaranteed Shipment": "old_dominion_guaranteed_shipment",
}

# Valid vectors that another type also accepts with equal or better evidence, so detect()
# cannot return the listed type. Both 12-digit numbers pass the Purolator Luhn check and the
# FedEx Express (12) check; the letters-and-digits one fits DHL's piece ID as well as
# Purolator's alpha format, and neither of those has a check digit.
AMBIGUOUS = {
    ("purolator_numeric", "287809468872"): ("fedex", "fedex_12"),
    ("purolator_numeric", "320610804900"): ("fedex", "fedex_12"),
    ("purolator_alpha", "JFV247545960"): ("dhl", "dhl_express_piece_id"),
}


def _compact(number: str) -> str:
    return "".join(number.split()).upper()


def _vectors(kind: str) -> list:
    params = []
    for path in COURIER_FILES:
        courier = json.loads(path.read_text(encoding="utf-8"))
        for spec in courier["tracking_numbers"]:
            type_id = spec.get("id") or IDS_FOR_UNNAMED_TYPES[spec["name"]]
            for index, number in enumerate(spec["test_numbers"].get(kind, [])):
                params.append(
                    pytest.param(
                        courier["courier_code"],
                        type_id,
                        number,
                        id=f"{type_id}-{kind}{index}-{_compact(number)}",
                    )
                )
    return params


VALID = _vectors("valid")
INVALID = _vectors("invalid")


def test_the_data_set_is_vendored_inside_the_package():
    assert COURIER_FILES, "no courier files vendored"
    assert carriers.DATA_DIR.is_relative_to(PACKAGE_DIR)
    assert (carriers.DATA_DIR.parent / "LICENSE").is_file()
    assert (carriers.DATA_DIR.parent / "SOURCE.md").is_file()


def test_vector_counts():
    # If the data set is updated, this number moves and the report of coverage must too.
    assert (len(VALID), len(INVALID)) == (192, 88)


def test_every_type_in_the_files_is_loaded():
    expected = [p.values[1] for p in VALID]
    loaded = {t.id for t in carriers.tracking_types()}
    assert set(expected) <= loaded
    assert len(loaded) == 39


@pytest.mark.parametrize(("carrier", "type_id", "number"), VALID)
def test_valid_vector_is_detected_as_its_type(carrier, type_id, number):
    found = detect_all(number)
    assert type_id in [d.type for d in found]
    best = detect(number)
    assert best is not None
    assert best == found[0]
    assert best.valid is True
    assert best.number == _compact(number)
    expected_carrier, expected_type = AMBIGUOUS.get((type_id, _compact(number)), (carrier, type_id))
    assert (best.carrier, best.type) == (expected_carrier, expected_type)


@pytest.mark.parametrize(("carrier", "type_id", "number"), INVALID)
def test_invalid_vector_is_not_recognised_as_its_type(carrier, type_id, number):
    assert type_id not in [d.type for d in detect_all(number)]


def test_ambiguous_vectors_are_still_ambiguous():
    # Guards the AMBIGUOUS table: an entry that no longer collides should be removed from it.
    for (type_id, number), (_, winner) in AMBIGUOUS.items():
        assert [d.type for d in detect_all(number)][:2] == [winner, type_id]


def _check_digit_variants(tracking_type, number: str) -> list[str]:
    compact = _compact(number)
    match = tracking_type.pattern.fullmatch(compact)
    assert match is not None
    start, end = match.span("CheckDigit")
    current = compact[start:end]
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if current.isalpha() else "0123456789"
    return [compact[:start] + c + compact[end:] for c in alphabet if c != current]


@pytest.mark.parametrize(
    "tracking_type",
    [t for t in carriers.tracking_types() if t.checksum is not None],
    ids=lambda t: t.id,
)
def test_every_other_check_digit_is_refused(tracking_type):
    number = tracking_type.valid_examples[0]
    variants = _check_digit_variants(tracking_type, number)
    assert variants
    for variant in variants:
        assert tracking_type.id not in [d.type for d in detect_all(variant)], variant


def test_input_is_normalised():
    found = detect(" 1z5r 8939 0357 5671 27\n")
    assert found is not None
    assert found.number == "1Z5R89390357567127"
    assert found.carrier == "ups"
    assert found.carrier_name == "UPS"
    assert found.type_name == "UPS"
    assert found.tracking_url is not None
    assert found.tracking_url.endswith("trackNums=1Z5R89390357567127")


def test_service_type_lookup():
    found = detect("1ZXX3150YW44070023")
    assert found is not None
    assert found.service == "UPS SurePost - Delivered by the USPS"
    assert ("Service Type", found.service) in found.details


def test_service_is_none_when_the_lookup_has_no_entry():
    # UPS waybill service letters J, K and V are listed; A is a valid prefix without an entry.
    waybill = detect("A0000000000")
    assert waybill is not None
    assert waybill.type == "ups_waybill"
    assert waybill.service is None
    assert waybill.details == ()


def test_s10_needs_a_known_country_and_reports_the_postal_operator():
    found = detect("RB123456785GB")
    assert found is not None
    assert (found.carrier, found.type) == ("s10", "s10")
    assert found.service == "Letter Post Registered"
    assert dict(found.details)["Courier"] == "Royal Mail Group plc"
    assert found.tracking_url is None
    with pytest.raises(InvalidTrackingNumber, match="its country code 'XX' names no known courier"):
        validate("RB123456785XX")


def test_dpd_reports_the_destination_country():
    found = detect("0081 827 0998 0000 0200 45 327 276 N")
    assert found is not None
    assert found.type == "dpd"
    assert dict(found.details)["Country Code"] == "Deutschland"


def test_prepend_rule_is_applied_before_the_check_digit():
    # USPS Legacy 20-digit numbers are checked as if they started with 91.
    found = [d.type for d in detect_all("7196 9010 7560 0307 7385")]
    assert "usps_legacy" in found
    assert "usps_legacy" not in [d.type for d in detect_all("7196 9010 7560 0307 7386")]


def test_validate_returns_the_detection():
    assert validate("1Z5R89390357567127") == detect("1Z5R89390357567127")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "the tracking number is empty"),
        ("   ", "the tracking number is empty"),
        ("hello", "it matches no carrier's format; check that it was scanned or typed in full"),
        (
            "1Z5R89390357567128",
            "its check digit does not match for UPS: UPS numbers have 18 characters and start "
            "with 1Z, and the last character is computed from the others; look for a mistyped "
            "or misread character",
        ),
        (
            "1Z5R8939035756712",
            "it matches no carrier's format: UPS numbers have 18 characters and start with 1Z, "
            "and this one has 17 characters",
        ),
        ("9" * 70, "it has 70 characters, more than any carrier's format"),
    ],
)
def test_validate_says_why(number, reason):
    with pytest.raises(InvalidTrackingNumber) as caught:
        validate(number)
    assert str(caught.value) == reason
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == "tracking_number"


def test_carrier_detect_lines():
    lines = ["1Z5R89390357567127\n", "\n", "  ", "  not a number  ", "k 150 623 562 0"]
    assert list(carrier_detect_lines(lines)) == [
        {"number": "1Z5R89390357567127", "valid": True, "carrier": "ups", "type": "ups"},
        {
            "number": "not a number",
            "valid": False,
            "carrier": None,
            "type": None,
            "reason": "it matches no carrier's format; check that it was scanned or typed in full",
        },
        {"number": "K1506235620", "valid": True, "carrier": "ups", "type": "ups_waybill"},
    ]


@given(st.text(max_size=80))
def test_detect_never_raises_and_agrees_with_validate(text):
    found = detect_all(text)
    assert all(d.valid and d.number == carriers.normalise(text) for d in found)
    if found:
        assert validate(text) == found[0]
    else:
        with pytest.raises(InvalidTrackingNumber):
            validate(text)


@pytest.mark.parametrize(
    ("pattern", "fixed"),
    [
        (r"\s*1\s*Z\s*(?P<S>[0-9]{3})", 2),
        (r"(?:GM|LX|RX)\s*[0-9]+", 2),
        (r"(7\s*7\s*[78]|0\s*7\s*2)", 2),
        (r"(?:420[0-9]{5})?94[0-9]{20}", 2),
        (r"J(J)?D(?=[0-9])\d{16}", 2),
        (r"A{3}B+C*-\.", 6),
    ],
)
def test_specificity_counts_characters_every_match_spells(pattern, fixed):
    assert carriers._specificity(pattern) == fixed


def _write_courier(directory: Path, spec: dict) -> None:
    courier = {"name": "Test", "courier_code": "test", "tracking_numbers": [spec]}
    (directory / "test.json").write_text(json.dumps(courier), encoding="utf-8")


def test_loader_joins_list_regexes_and_rewrites_named_groups(tmp_path):
    _write_courier(
        tmp_path,
        {
            "name": "Test Type",
            "regex": ["X(?<SerialNumber>[0-9]{3})", "(?<CheckDigit>[0-9])"],
            "validation": {"checksum": {"name": "mod7", "modulo": 7}},
        },
    )
    (tracking_type,) = load_types(tmp_path)
    assert tracking_type.id == "test_type"
    assert tracking_type.pattern.fullmatch("X0146") is not None
    assert tracking_type.checksum is not None
    assert tracking_type.checksum.verify("014", "0")
    assert not tracking_type.checksum.verify("014", "1")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {
                "name": "T",
                "regex": "(?<SerialNumber>1)(?<CheckDigit>2)",
                "validation": {"checksum": {"name": "mod97"}},
            },
            "checksum scheme 'mod97' is not implemented",
        ),
        (
            {"name": "T", "regex": "[0-9]+", "validation": {"checksum": {"name": "luhn"}}},
            "a checksum needs the groups ['CheckDigit', 'SerialNumber']",
        ),
        ({"name": "T", "regex": "(", "validation": {}}, "regex does not compile"),
        ({"name": "T", "regex": 5, "validation": {}}, "regex must be a string or a list"),
        (
            {
                "name": "T",
                "regex": "(?<A>[0-9])",
                "validation": {"additional": {"exists": ["Courier"]}},
            },
            "required lookups ['Courier'] are not defined",
        ),
    ],
)
def test_loader_refuses_data_it_cannot_interpret(tmp_path, spec, message):
    _write_courier(tmp_path, spec)
    with pytest.raises(CarrierDataError, match=re.escape(message)):
        load_types(tmp_path)


def test_loader_refuses_an_empty_directory(tmp_path):
    with pytest.raises(CarrierDataError, match="no courier files"):
        load_types(tmp_path)
