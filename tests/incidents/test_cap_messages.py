"""CAP 1.2 as mailwarden writes it (every site message kind validates against the OASIS schema)
and as it reads it (safely: no DTD, no entities, no network, a size limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mailwarden.incidents import cap

DATA = Path(__file__).parent / "data" / "cap"
SENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NS = {"c": cap.NS}


def site_message(kind: str, **kw: object) -> bytes:
    args: dict[str, object] = {
        "site_name": "Head office",
        "kind": kind,
        "headline": "Leave the building now",
        "text": "Use the stairs and go to the car park.",
        "identifier": f"mw-{kind}-1",
        "sent": SENT,
        "exercise": False,
        "site_code": "hq",
        "site_address": "1 High Street\nLondon",
    }
    args.update(kw)
    return cap.cap_for_site_message(**args)  # type: ignore[arg-type]


def field(xml: bytes, path: str) -> list[str]:
    return [e.text or "" for e in etree.fromstring(xml).findall(path, NS)]


@pytest.mark.parametrize("kind", ["evacuate", "shelter", "avoid", "all_clear"])
@pytest.mark.parametrize("exercise", [False, True], ids=["actual", "exercise"])
def test_every_site_message_kind_validates_against_the_oasis_schema(kind, exercise):
    xml = site_message(kind, exercise=exercise)
    assert cap.validate(xml) == []
    assert field(xml, "c:status") == ["Exercise" if exercise else "Actual"]
    assert field(xml, "c:msgType") == ["Alert"]
    assert field(xml, "c:scope") == ["Public"]
    assert field(xml, "c:info/c:category") == ["Security"]
    assert field(xml, "c:info/c:responseType") == [cap.KIND_PROFILES[kind].response]
    assert field(xml, "c:info/c:area/c:areaDesc") == ["Head office, 1 High Street London"]
    assert field(xml, "c:info/c:area/c:geocode/c:value") == ["hq"]
    headline = field(xml, "c:info/c:headline")[0]
    assert headline.startswith("EXERCISE: ") == exercise


def test_profiles_follow_the_kind():
    evacuate = site_message("evacuate")
    assert field(evacuate, "c:info/c:urgency") == ["Immediate"]
    assert field(evacuate, "c:info/c:severity") == ["Severe"]
    clear = site_message("all_clear")
    assert field(clear, "c:info/c:urgency") == ["Past"]
    assert field(clear, "c:info/c:certainty") == ["Observed"]


def test_sent_carries_its_offset_never_z():
    xml = site_message("evacuate", sent=datetime(2026, 6, 1, 10, 30, 15, 999, tzinfo=UTC))
    assert field(xml, "c:sent") == ["2026-06-01T10:30:15+00:00"]
    london = timezone(timedelta(hours=1))
    xml = site_message("evacuate", sent=datetime(2026, 6, 1, 11, 30, tzinfo=london))
    assert field(xml, "c:sent") == ["2026-06-01T11:30:00+01:00"]
    assert cap.validate(xml) == []
    with pytest.raises(ValueError, match="offset"):
        site_message("evacuate", sent=datetime(2026, 6, 1, 11, 30))


def test_an_all_clear_after_an_evacuation_updates_it():
    xml = site_message("all_clear", references=[("mailwarden@localhost", "mw-evacuate-1", SENT)])
    assert cap.validate(xml) == []
    assert field(xml, "c:msgType") == ["Update"]
    assert field(xml, "c:references") == [
        "mailwarden@localhost,mw-evacuate-1,2026-03-02T09:00:00+00:00"
    ]


@pytest.mark.parametrize("identifier", ["two words", "a,b", "x<y", ""])
def test_identifiers_are_one_word(identifier):
    with pytest.raises(ValueError, match="identifier"):
        site_message("evacuate", identifier=identifier)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="evacuate, shelter, avoid, all_clear"):
        site_message("panic")


def test_text_is_escaped_not_markup():
    xml = site_message("avoid", text="Keep <out> & away", headline="A & B")
    assert cap.validate(xml) == []
    assert field(xml, "c:info/c:description") == ["Keep <out> & away"]


def test_a_broken_alert_fails_the_schema_naming_the_element():
    xml = site_message("evacuate").replace(b"<scope>Public</scope>", b"")
    errors = cap.validate(xml)
    assert errors and "scope" in errors[0]


# ----------------------------------------------------------------------------- reading


def test_the_valid_12_example_is_read():
    received = cap.read((DATA / "43b080713727.cap").read_bytes())
    assert received.identifier == "43b080713727"
    assert received.sender == "hsas@dhs.gov"
    assert received.sent == datetime(2003, 4, 2, 14, 39, 1, tzinfo=timezone(timedelta(hours=-5)))
    assert received.severity == "Severe"
    assert received.areas[0].description == "U.S. nationwide and interests worldwide"


def test_invalid_cap_is_refused_naming_the_missing_element():
    with pytest.raises(cap.CapError) as refused:
        cap.read((DATA / "invalid.cap").read_bytes())
    assert "not valid CAP 1.2" in refused.value.reason
    assert "scope" in refused.value.reason


@pytest.mark.parametrize(
    "name", ["KAR0-0306112239-SW.cap", "earthquake.cap", "weather.cap", "no_optional_fields.cap"]
)
def test_cap_11_messages_are_refused_as_not_12(name):
    with pytest.raises(cap.CapError, match=r"CAP 1\.1"):
        cap.read((DATA / name).read_bytes())


def test_the_xxe_example_is_refused_before_anything_resolves():
    with pytest.raises(cap.CapError, match="DOCTYPE"):
        cap.read((DATA / "xee.cap").read_bytes())


def test_a_local_file_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENTS")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        + site_message("evacuate", headline="x")
        .decode()
        .split("?>", 1)[1]
        .replace("<headline>x</headline>", "<headline>&xxe;</headline>")
    ).encode()
    with pytest.raises(cap.CapError) as refused:
        cap.read(xml)
    assert "TOP-SECRET" not in refused.value.reason
    # Even parsed on its own (as the parser is set up), the entity stays unexpanded.
    root = etree.fromstring(xml, cap._parser())
    assert "TOP-SECRET" not in etree.tostring(root, encoding="unicode")


def test_an_entity_expansion_bomb_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&c;</identifier></alert>'
    )
    with pytest.raises(cap.CapError, match="DOCTYPE"):
        cap.read(bomb)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"<alert", "not well-formed"),
        (b"<alert xmlns='urn:x'/>", "CAP 1.2 namespace"),
        (b"x" * (cap.MAX_BYTES + 1), "limit"),
    ],
)
def test_other_bad_bodies_are_refused_with_a_reason(body, reason):
    with pytest.raises(cap.CapError, match=reason):
        cap.read(body)


def test_our_own_site_message_reads_back():
    received = cap.read(site_message("shelter", exercise=True))
    assert received.status == "Exercise"
    assert received.areas[0].geocodes == ((cap.SITE_GEOCODE, "hq"),)


# Any text a person can type (the services refuse control characters before it gets here).
_typed = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=200,
)


@settings(max_examples=60, deadline=None)
@given(headline=_typed, text=_typed, site=_typed, kind=st.sampled_from(list(cap.KIND_PROFILES)))
def test_any_typed_text_gives_a_valid_alert(headline, text, site, kind):
    xml = cap.cap_for_site_message(site, kind, headline, text, "mw-1", SENT, True)
    assert cap.validate(xml) == []
    assert cap.read(xml).description == text.strip()
