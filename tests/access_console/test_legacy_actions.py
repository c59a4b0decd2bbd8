"""An access history written before actions were named ``<app>.<noun>.<verb>`` still reads.

Ledger entries are hash-chained and never rewritten, so what an older release recorded keeps its
names (``access.forced_open``, ``access.tamper``, ``access.alarm``, ``access.lockdown``...); what
happens after the upgrade is recorded under the current names. The access log, the quarantine
report, the board and the operators' actions go on over such a history, and a filter on an action
finds the entries of both names (``ledger.LEGACY_ACTIONS``, ``ledger.stored_as``).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.db import transaction

from mailwarden.access import snapshots
from mailwarden.access.models import AccessAlarm, AccessEvent, AlarmKind, Credential, SiteRules
from mailwarden.contracts import access as contract
from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role

from .conftest import Mailroom, badge, event, ingest

OLD_EDGE = Actor.device("edge-1", Role.SECURITY_OPERATOR)
OLD_OPERATOR = Actor("user", "otto", frozenset({Role.SECURITY_OPERATOR}))


@dataclass
class OldHistory:
    entered: AccessEvent
    forced: AccessEvent
    alarm: AccessAlarm
    card: Credential


def _old_event(m: Mailroom, at: datetime, kind: str, reason: str, **fields: object) -> AccessEvent:
    """An edge event as the older release stored it (its table has not changed)."""
    return AccessEvent.objects.create(
        key=uuid.uuid4(),
        controller=m.edge1,
        site=m.site,
        type=kind,
        occurred_at=at,
        received_at=at,
        reason=reason,
        payload={"occurred_at": at.isoformat()},
        **fields,
    )


@pytest.fixture
def old_history(mailroom, frozen_clock) -> OldHistory:
    """Alice entering the quarantine room, the dock door forced open (its alarm still open), a
    reader tampered with, a card issued to Bob and the site locked down, the day before, as an
    older release recorded them: its rows, and its ledger entries under the old action names."""
    m = mailroom
    at = frozen_clock() - timedelta(days=1)
    entered = _old_event(
        m,
        at,
        contract.ACCESS_DECISION,
        "granted",
        granted=True,
        reader=m.q_in,
        reader_ref="q-in",
        door=m.quarantine,
        door_ref="quarantine",
        cardholder=m.alice,
        holder_ref=snapshots.holder_id(m.alice.pk),
        credential=m.alice_card,
        credential_ref=snapshots.credential_id(m.alice_card.pk),
    )
    forced = _old_event(m, at, contract.DOOR_EVENT, "forced_open", door=m.dock, door_ref="dock")
    tampered = _old_event(
        m, at, contract.READER_TAMPER, "tamper", reader=m.q_out, reader_ref="q-out"
    )
    card = Credential.objects.create(
        holder=m.bob,
        kind="card",
        format="H10301",
        facility=10,
        card=2002,
        bit_length=26,
        issued_at=at,
    )
    card.levels.set([m.staff])
    alarm = AccessAlarm.objects.create(
        site=m.site,
        kind=AlarmKind.FORCED_OPEN,
        controller=m.edge1,
        door=m.dock,
        event=forced,
        occurred_at=forced.occurred_at,
        raised_at=forced.received_at,
        detail="door dock forced open",
    )
    SiteRules.objects.filter(site=m.site).update(
        lockdown=True, lockdown_at=forced.received_at, lockdown_by=OLD_OPERATOR.label
    )

    def seen(row: AccessEvent) -> dict[str, object]:
        return {"event": str(row.key), "occurred_at": row.occurred_at.isoformat()}

    with transaction.atomic():
        ledger.append_many(
            OLD_EDGE,
            [
                ledger.Record("access.quarantine.granted", "door", "hq/quarantine", seen(entered)),
                ledger.Record("access.forced_open", "door", "hq/dock", seen(forced)),
                ledger.Record(
                    "access.alarm", "access_alarm", str(alarm.pk), {"kind": "forced_open"}
                ),
                ledger.Record("access.tamper", "door", "hq/quarantine", seen(tampered)),
            ],
            at=at,
        )
        ledger.append_many(
            OLD_OPERATOR,
            [
                ledger.Record(
                    "access.credential.issue",
                    "credential",
                    str(card.pk),
                    {"holder": m.bob.pk, "kind": "card", "card": "H10301 10/2002"},
                ),
                ledger.Record("access.lockdown", "site", "hq", {"reason": "suspect package"}),
            ],
            at=at,
        )
    return OldHistory(entered, forced, alarm, card)


def logged(body: str) -> list[str]:
    return re.findall(r'<tr data-event="([0-9a-f-]+)"', body)


def test_the_log_and_the_report_read_an_old_history_and_go_on(
    as_role, mailroom, old_history, frozen_clock
):
    m, old = mailroom, old_history
    # After the upgrade: another quarantine entry, and the dock forced open again.
    now = frozen_clock()
    new = [
        badge(m, now, m.alice, m.alice_card, reader="q-in", door="quarantine"),
        event("door.event", now + timedelta(minutes=1), door_id="dock", kind="forced_open"),
    ]
    ingest(m, *new)
    auditor = as_role(Role.AUDITOR)

    log = auditor.get("/access/log/").content.decode()
    assert logged(log)[:2] == [new[1]["key"], new[0]["key"]]
    assert {str(old.entered.key), str(old.forced.key)} <= set(logged(log))
    assert "Door forced open" in log

    day = f"{old.entered.occurred_at:%Y-%m-%d}"
    until = f"{now:%Y-%m-%d}"
    report = auditor.get(f"/access/report/?since={day}&until={until}").content.decode()
    assert re.findall(r'<tr data-entry="([^"]+)">', report) == [
        str(old.entered.key),
        new[0]["key"],
    ]
    table = list(
        csv.DictReader(
            io.StringIO(
                auditor.get(f"/access/report.csv?since={day}&until={until}").content.decode()
            )
        )
    )
    assert [r["person"] for r in table] == [m.alice.name, m.alice.name]

    # The old alarm is still the open one (a second forced opening raises none while it lasts).
    assert list(AccessAlarm.objects.values_list("pk", flat=True)) == [old.alarm.pk]
    assert ledger.verify().ok

    # Each kind of entry is found under its current name, old entries and new alike.
    def stored(action: str) -> list[str]:
        query = LedgerEntry.objects.filter(action__in=ledger.stored_as(action)).order_by("seq")
        return list(query.values_list("action", flat=True))

    assert stored("access.door.forced_open") == ["access.forced_open", "access.door.forced_open"]
    assert stored("access.reader.tampered") == ["access.tamper"]
    assert stored("access.alarm.raised") == ["access.alarm"]
    assert stored("access.quarantine.granted") == ["access.quarantine.granted"] * 2
    # The mailroom's three credentials were issued since the upgrade; Bob's old card before.
    assert sorted(stored("access.credential.issued")) == [
        "access.credential.issue",
        *["access.credential.issued"] * 3,
    ]


def test_operators_finish_what_the_old_release_started(as_role, old_history):
    old = old_history
    operator = as_role(Role.SECURITY_OPERATOR)
    board = operator.get("/access/").content.decode()
    assert 'data-alarm-count="1"' in board and "Door forced open" in board
    for url, form in [
        (f"/access/alarms/{old.alarm.pk}/acknowledge/", {"note": "seen"}),
        ("/access/lockdown/lift/", {"site": "hq", "reason": "clear"}),
        (f"/access/credentials/{old.card.pk}/revoke/", {"reason": "lost"}),
    ]:
        assert operator.post(url, form).status_code == 302, url

    alarm = ledger.entries_for("access_alarm", str(old.alarm.pk))
    assert [ledger.current_action(e.action) for e in alarm] == [
        "access.alarm.raised",
        "access.alarm.acknowledged",
    ]
    assert [e.action for e in alarm] == ["access.alarm", "access.alarm.acknowledged"]
    lockdown = [
        e.action
        for e in ledger.entries_for("site", "hq")
        if ledger.current_action(e.action).startswith("access.lockdown.")
    ]
    assert lockdown == ["access.lockdown", "access.lockdown.lifted"]
    card = ledger.entries_for("credential", str(old.card.pk))
    assert [e.action for e in card] == ["access.credential.issue", "access.credential.revoked"]
    assert [ledger.current_action(e.action) for e in card] == [
        "access.credential.issued",
        "access.credential.revoked",
    ]
    assert ledger.verify().ok
