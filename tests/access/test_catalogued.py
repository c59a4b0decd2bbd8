"""The access app taken through every change it offers and every edge event it reacts to: each
event left in the outbox is in the catalogue and parses as its model, every access topic of the
catalogue is among them, and each ledger action written follows the naming scheme."""

from __future__ import annotations

from datetime import date, timedelta

from mailwarden.access import services, snapshots
from mailwarden.access.models import AccessAlarm
from mailwarden.contracts import events
from mailwarden.core import ledger
from mailwarden.core.models import LedgerEntry, OutboxEvent
from tests.access.conftest import MANAGER, OPERATOR, WEEKDAYS, decision, device, event
from tests.factories import ADMIN


def test_every_event_and_action_of_the_access_paths_is_catalogued(mailroom, frozen_clock):
    m = mailroom
    # Rule changes beyond those that built the mailroom.
    services.levels.update_schedule(
        MANAGER, "hq", m.office.pk, windows=[{"days": WEEKDAYS, "start": "07:00", "end": "19:00"}]
    )
    services.levels.add_holiday(MANAGER, site="hq", day=date(2026, 12, 25), name="Christmas")
    services.levels.remove_holiday(MANAGER, site="hq", day=date(2026, 12, 25))
    services.levels.set_level(
        MANAGER, "hq", m.staff.pk, schedule_id=m.always.pk, doors=["dock", "lobby"]
    )
    services.doors.set_door_mode(
        MANAGER, "hq", "lobby", "scheduled_unlock", unlock_schedule_id=m.office.pk
    )
    services.doors.set_door_rules(MANAGER, "hq", "quarantine", two_person_window_s=30)
    services.doors.rekey_controller(ADMIN, m.edge2.name, reason="box left unattended")
    services.credentials.update_cardholder(MANAGER, m.bob.pk, name="Robert Baker", kind="staff")
    services.credentials.set_credential_levels(MANAGER, m.bob_card.pk, [m.staff.pk, m.screeners.pk])
    services.credentials.revoke_credential(OPERATOR, m.erin_pin.pk, reason="left the company")
    services.alarms.set_alarm_thresholds(MANAGER, "hq", invalid_attempts=2, window_s=60)
    services.lockdown.lockdown_site(OPERATOR, "hq", True, reason="drill")
    services.lockdown.lift_lockdown(OPERATOR, "hq", reason="drill over")
    services.sync.sync_rules(device(m.edge1), m.edge1.name, None)

    # What the edge reports, and the alarms it raises and clears.
    now = frozen_clock()
    alice = {
        "holder": snapshots.holder_id(m.alice.pk),
        "credential": snapshots.credential_id(m.alice_card.pk),
    }
    batch = [
        decision(now, "q-in", granted=True, reason="granted", door="quarantine", **alice),
        decision(now, "q-in", granted=False, reason="outside_schedule", door="quarantine"),
        *[
            decision(now, "dock-in", granted=False, reason="unknown_credential", door="dock")
            for _ in range(2)
        ],
        event("door.event", now, door_id="quarantine", kind="forced_open"),
        event("door.event", now, door_id="quarantine", kind="closed"),
        event("door.event", now, door_id="dock", kind="held_open"),
        event("reader.tamper", now, reader_id="q-out", tampered=True, source="local"),
        event("reader.status", now, reader_id="dock-in", online=False, secure=False),
        event(
            "edge.rules_rejected",
            now,
            reason="bad_signature",
            message="signature does not verify",
            offered_version=1,
            held_version=None,
        ),
        event("edge.clock_skew", now, offset_s=95.0, threshold_s=30.0, exceeded=True),
    ]
    result = services.ingest.ingest_events(device(m.edge1), m.edge1.name, batch)
    assert result.rejected == []
    frozen_clock.advance(minutes=5)
    assert services.alarms.check_controllers(frozen_clock()) == 2
    forced = AccessAlarm.objects.get(kind="forced_open")
    services.alarms.acknowledge_alarm(OPERATOR, forced.pk, note="checked on camera")

    stored = list(OutboxEvent.objects.order_by("id"))
    # Each parses as its topic's model (a payload of another shape would raise here).
    parsed = [events.parse(row.topic, row.payload) for row in stored]
    access_topics = {t for t in events.CATALOGUE if t.startswith("access.")}
    assert access_topics <= {row.topic for row in stored}

    # An alarm's topic names its kind.
    for raised in parsed:
        if isinstance(raised, events.AccessAlarmRaised):
            assert AccessAlarm.objects.get(pk=raised.alarm).kind == raised.KIND
    # A rule change's event and its ledger entry tell the same change.
    for changed in parsed:
        if isinstance(changed, events.AccessRulesChanged):
            subject_type, subject_id = changed.subject.split(":", 1)
            entries = LedgerEntry.objects.filter(
                action=changed.TOPIC, subject_type=subject_type, subject_id=subject_id
            )
            versions = [ledger.entry_data(e)["rules_version"] for e in entries]
            assert changed.rules_version in versions, changed

    actions = set(LedgerEntry.objects.values_list("action", flat=True))
    assert {
        "access.alarm.acknowledged",
        "access.alarm.raised",
        "access.alarm_thresholds.changed",
        "access.controller.rules_rejected",
        "access.credential.issued",
        "access.credential.levels_changed",
        "access.credential.revoked",
        "access.door.forced_open",
        "access.pin_policy.created",
        "access.quarantine.denied",
        "access.quarantine.granted",
        "access.reader.tampered",
        "access.rules.published",
    } <= actions
    for action in actions:
        assert events.naming_problem(action) is None, action
        assert action not in ledger.LEGACY_ACTIONS, action
    assert ledger.verify().ok


def test_an_alarm_event_carries_the_alarm(mailroom, frozen_clock):
    now = frozen_clock() - timedelta(seconds=3)
    services.ingest.ingest_events(
        device(mailroom.edge1),
        mailroom.edge1.name,
        [event("reader.tamper", now, reader_id="q-in", tampered=True, source="local")],
    )
    alarm = AccessAlarm.objects.get(kind="tamper")
    [row] = OutboxEvent.objects.filter(topic="access.reader.tampered")
    assert events.parse(row.topic, row.payload) == events.ReaderTampered(
        alarm=alarm.pk,
        site="hq",
        controller="edge-1",
        door="quarantine",
        reader="q-in",
        occurred_at=now,
        detail="reader q-in tampered (local)",
    )
    [entry] = LedgerEntry.objects.filter(action="access.alarm.raised")
    assert ledger.entry_data(entry)["kind"] == "tamper"
