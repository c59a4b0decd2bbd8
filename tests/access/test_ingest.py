"""Event ingestion: exactly once, skew and malformed events refused alone, alarms, the ledger,
and the who-entered-quarantine report."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.access import queries, services, snapshots
from mailwarden.access.models import AccessAlarm, AccessEvent, AlarmKind
from mailwarden.contracts import events
from mailwarden.core import ledger
from mailwarden.core.errors import ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent
from tests.access.conftest import MANAGER, OPERATOR, decision, device, event, state


def ingest(mailroom, batch, controller=None):
    ctl = controller or mailroom.edge1
    return services.ingest.ingest_events(device(ctl), ctl.name, batch)


def refusals(mailroom, count, at, reader="dock-in", step_s=10):
    return [
        decision(
            at + timedelta(seconds=i * step_s),
            reader,
            granted=False,
            reason="unknown_credential",
            card={"format": "H10301", "facility": 99, "card": i, "bits": "0" * 26},
        )
        for i in range(count)
    ]


def alarms(kind: AlarmKind) -> list[AccessAlarm]:
    return list(AccessAlarm.objects.filter(kind=kind).order_by("id"))


class TestExactlyOnce:
    def test_the_same_batch_twice_applies_once(self, mailroom, frozen_clock):
        now = frozen_clock()
        h, c = snapshots.holder_id, snapshots.credential_id
        batch = [
            decision(
                now,
                "dock-in",
                granted=True,
                reason="granted",
                door="dock",
                holder=h(mailroom.bob.pk),
                credential=c(mailroom.bob_card.pk),
            ),
            event("reader.status", now, reader_id="q-in", online=True, secure=True),
            event("door.event", now, door_id="dock", kind="opened"),
        ]
        first = ingest(mailroom, batch)
        assert first.applied == [item["key"] for item in batch]
        assert (first.duplicates, first.rejected) == ([], [])
        outbox_before = OutboxEvent.objects.count()
        second = ingest(mailroom, batch)
        assert second.duplicates == [item["key"] for item in batch]
        assert (second.applied, second.rejected) == ([], [])
        assert AccessEvent.objects.count() == 3
        assert OutboxEvent.objects.count() == outbox_before
        row = AccessEvent.objects.get(key=batch[0]["key"])
        assert (row.door, row.reader, row.cardholder, row.credential, row.granted) == (
            mailroom.dock,
            mailroom.dock_in,
            mailroom.bob,
            mailroom.bob_card,
            True,
        )
        assert row.snapshot_version == 1

    def test_a_key_repeated_within_a_batch_counts_once(self, mailroom, frozen_clock):
        item = event("reader.power", frozen_clock(), reader_id="q-in", failed=False)
        result = ingest(mailroom, [item, dict(item)])
        assert (result.applied, result.duplicates) == ([item["key"]], [item["key"]])

    def test_another_controller_cannot_replay_a_key(self, mailroom, frozen_clock):
        item = event("reader.power", frozen_clock(), reader_id="q-in", failed=True)
        ingest(mailroom, [item])
        assert ingest(mailroom, [item], mailroom.edge2).duplicates == [item["key"]]
        assert AccessEvent.objects.get().controller == mailroom.edge1

    def test_at_most_500_per_batch(self, mailroom, frozen_clock):
        items = [event("reader.power", frozen_clock(), reader_id="x", failed=False)] * 501
        with pytest.raises(ServiceError) as refused:
            ingest(mailroom, items)
        assert refused.value.field == "events"

    def test_ingesting_marks_the_controller_seen(self, mailroom, frozen_clock):
        frozen_clock.advance(minutes=3)
        ingest(mailroom, [])
        mailroom.edge1.refresh_from_db()
        assert mailroom.edge1.last_seen_at == frozen_clock()


class TestRefused:
    def test_an_event_from_the_future_is_refused_for_skew(self, mailroom, frozen_clock):
        now = frozen_clock()
        ahead = event("reader.power", now + timedelta(minutes=6), reader_id="q-in", failed=True)
        near = event("reader.power", now + timedelta(minutes=4), reader_id="q-in", failed=True)
        result = ingest(mailroom, [ahead, near])
        assert result.applied == [near["key"]]
        [(key, reason)] = result.rejected
        assert key == ahead["key"]
        assert "clock skew" in reason and "360 s ahead" in reason and "300 s" in reason
        assert not AccessEvent.objects.filter(key=ahead["key"]).exists()

    def test_malformed_events_are_refused_one_by_one(self, mailroom, frozen_clock):
        now = frozen_clock()
        good = event("reader.power", now, reader_id="q-in", failed=False)
        no_key = event("reader.power", now, reader_id="q-in", failed=False)
        del no_key["key"]
        bad_key = {**event("reader.power", now, reader_id="q", failed=False), "key": "nope"}
        unknown_type = event("reader.melted", now, reader_id="q-in")
        missing = event("access.decision", now, reader_id="q-in")
        naive = event("reader.power", now.replace(tzinfo=None), reader_id="q-in", failed=False)
        nul = event("door.event", now, door_id="dock\x00", kind="opened")
        extra = event("door.event", now, door_id="dock", kind="opened", colour="red")
        long_id = event("door.event", now, door_id="d" * 101, kind="opened")
        huge = decision(now, "q-in", granted=False, reason="no_access", version=2**40)
        items = [
            "not an object",
            no_key,
            bad_key,
            unknown_type,
            missing,
            naive,
            nul,
            extra,
            long_id,
            huge,
            good,
        ]
        before = AccessEvent.objects.count()
        result = ingest(mailroom, items)
        assert result.applied == [good["key"]]
        assert len(result.rejected) == len(items) - 1
        expected = [
            (None, "JSON object"),
            (None, "key: Field required"),
            ("nope", "key:"),
            (unknown_type["key"], "unknown event type 'reader.melted'"),
            (missing["key"], "event.door_id: Field required"),
            (naive["key"], "occurred_at: must carry a UTC offset"),
            (nul["key"], "U+0000"),
            (extra["key"], "event.colour: Extra inputs are not permitted"),
            (long_id["key"], "event.door_id: longer than 100"),
            (huge["key"], "event.snapshot_version"),
        ]
        for (key, reason), (want_key, words) in zip(result.rejected, expected, strict=True):
            assert key == want_key and words in reason, (key, reason)
        assert AccessEvent.objects.count() == before + 1

    def test_unknown_readers_and_doors_are_still_logged(self, mailroom, frozen_clock):
        item = decision(frozen_clock(), "gone-reader", granted=False, reason="unknown_reader")
        assert ingest(mailroom, [item]).applied == [item["key"]]
        row = AccessEvent.objects.get(key=item["key"])
        assert (row.reader, row.reader_ref, row.door) == (None, "gone-reader", None)

    def test_a_revoked_card_is_named_when_it_is_tried(self, mailroom, frozen_clock):
        services.credentials.revoke_credential(OPERATOR, mailroom.bob_card.pk, reason="lost")
        item = decision(
            frozen_clock(),
            "dock-in",
            granted=False,
            reason="unknown_credential",
            card={"format": "H10301", "facility": 10, "card": 1002, "bits": "0" * 26},
        )
        ingest(mailroom, [item])
        row = AccessEvent.objects.get(key=item["key"])
        assert (row.credential, row.cardholder) == (mailroom.bob_card, mailroom.bob)


class TestAlarms:
    def test_repeated_refusals_at_a_reader_raise_one_alarm(self, mailroom, frozen_clock):
        now = frozen_clock()
        ingest(mailroom, refusals(mailroom, 4, now))
        assert not alarms(AlarmKind.INVALID_ATTEMPTS)
        ingest(mailroom, refusals(mailroom, 3, now + timedelta(seconds=40)))
        [alarm] = alarms(AlarmKind.INVALID_ATTEMPTS)
        assert alarm.reader == mailroom.dock_in and alarm.door == mailroom.dock
        assert "5 refused" in alarm.detail
        assert (
            OutboxEvent.objects.filter(topic="access.reader.invalid_attempts_exceeded").count() == 1
        )
        # A new burst after the window raises another.
        frozen_clock.advance(minutes=10)
        ingest(mailroom, refusals(mailroom, 5, frozen_clock()))
        assert len(alarms(AlarmKind.INVALID_ATTEMPTS)) == 2

    def test_spread_out_refusals_waits_and_stale_reads_do_not_count(self, mailroom, frozen_clock):
        now = frozen_clock()
        ingest(mailroom, refusals(mailroom, 6, now, step_s=60))
        waits = [
            decision(now + timedelta(seconds=i), "q-in", granted=False, reason="two_person_waiting")
            for i in range(8)
        ]
        ingest(mailroom, waits)
        held = [
            decision(now + timedelta(seconds=i), "dock-in", granted=False, reason="stale_read")
            for i in range(8)
        ]
        ingest(mailroom, held)
        assert not alarms(AlarmKind.INVALID_ATTEMPTS)

    def test_forced_open_alarms_once_and_clears_when_the_door_closes(self, mailroom, frozen_clock):
        now = frozen_clock()
        forced = event("door.event", now, door_id="quarantine", kind="forced_open")
        ingest(
            mailroom, [forced, event("door.event", now, door_id="quarantine", kind="forced_open")]
        )
        [alarm] = alarms(AlarmKind.FORCED_OPEN)
        assert alarm.door == mailroom.quarantine and alarm.cleared_at is None
        assert LedgerEntry.objects.filter(action="access.door.forced_open").count() == 2
        assert LedgerEntry.objects.filter(action="access.alarm.raised").count() == 1
        [raised] = OutboxEvent.objects.filter(topic="access.door.forced")
        assert events.parse(raised.topic, raised.payload) == events.DoorForced(
            alarm=alarm.pk,
            site="hq",
            controller=alarm.controller.name,
            door="quarantine",
            reader=None,
            occurred_at=now,
            detail="door quarantine forced open",
        )
        frozen_clock.advance(seconds=20)
        ingest(mailroom, [event("door.event", frozen_clock(), door_id="quarantine", kind="closed")])
        alarm.refresh_from_db()
        assert alarm.cleared_at == frozen_clock()
        assert queries.open_alarms().get() == alarm
        services.alarms.acknowledge_alarm(OPERATOR, alarm.pk, note="checked on camera")
        assert not queries.open_alarms().exists()

    def test_held_open(self, mailroom, frozen_clock):
        ingest(mailroom, [event("door.event", frozen_clock(), door_id="dock", kind="held_open")])
        [alarm] = alarms(AlarmKind.HELD_OPEN)
        assert alarm.door == mailroom.dock and "held open" in alarm.detail

    def test_tamper_is_an_alarm_and_on_the_ledger(self, mailroom, frozen_clock):
        now = frozen_clock()
        ingest(
            mailroom, [event("reader.tamper", now, reader_id="q-in", tampered=True, source="local")]
        )
        [alarm] = alarms(AlarmKind.TAMPER)
        assert alarm.reader == mailroom.q_in
        entry = LedgerEntry.objects.get(action="access.reader.tampered")
        assert entry.subject_id == "hq/quarantine"
        ingest(
            mailroom,
            [event("reader.tamper", now, reader_id="q-in", tampered=False, source="local")],
        )
        alarm.refresh_from_db()
        assert alarm.cleared_at is not None

    def test_reader_offline(self, mailroom, frozen_clock):
        now = frozen_clock()
        ingest(
            mailroom, [event("reader.status", now, reader_id="dock-in", online=False, secure=False)]
        )
        [alarm] = alarms(AlarmKind.READER_OFFLINE)
        assert alarm.reader == mailroom.dock_in
        ingest(
            mailroom, [event("reader.status", now, reader_id="dock-in", online=True, secure=True)]
        )
        alarm.refresh_from_db()
        assert alarm.cleared_at == now

    def test_controller_offline_by_the_clock(self, mailroom, frozen_clock):
        services.sync.sync_rules(device(mailroom.edge1), mailroom.edge1.name, None)
        services.sync.sync_rules(device(mailroom.edge2), mailroom.edge2.name, None)
        frozen_clock.advance(seconds=60)
        assert services.alarms.check_controllers(frozen_clock()) == 0
        services.sync.sync_rules(device(mailroom.edge2), mailroom.edge2.name, 1)
        frozen_clock.advance(seconds=1)
        assert services.alarms.check_controllers(frozen_clock()) == 1
        assert services.alarms.check_controllers(frozen_clock()) == 0
        [alarm] = alarms(AlarmKind.CONTROLLER_OFFLINE)
        assert alarm.controller == mailroom.edge1 and "1 minute 1 second" in alarm.detail
        assert OutboxEvent.objects.filter(topic="access.controller.went_offline").count() == 1
        services.sync.sync_rules(device(mailroom.edge1), mailroom.edge1.name, 1)
        alarm.refresh_from_db()
        assert alarm.cleared_at == frozen_clock()

    def test_refused_rules_alarm_until_the_controller_holds_the_latest(
        self, mailroom, frozen_clock
    ):
        ctl = mailroom.edge1
        latest = services.sync.sync_rules(device(ctl), ctl.name, None).version
        refused = event(
            "edge.rules_rejected",
            frozen_clock(),
            reason="bad_signature",
            message="signature does not verify",
            offered_version=latest,
            held_version=None,
        )
        assert ingest(mailroom, [refused]).applied == [refused["key"]]
        row = AccessEvent.objects.get(key=refused["key"])
        assert (row.type, row.reason, row.controller) == (
            "edge.rules_rejected",
            "rules_rejected:bad_signature",
            ctl,
        )
        [alarm] = alarms(AlarmKind.RULES_REJECTED)
        assert alarm.controller == ctl and alarm.cleared_at is None
        assert alarm.detail == (
            f"controller {ctl.name} refused rules version {latest} (bad_signature):"
            " signature does not verify"
        )
        entry = LedgerEntry.objects.get(action="access.controller.rules_rejected")
        assert (entry.subject_type, entry.subject_id) == ("access_controller", ctl.name)
        # Polling while still holding nothing leaves it open; holding the latest ends it.
        services.sync.sync_rules(device(ctl), ctl.name, None)
        alarm.refresh_from_db()
        assert alarm.cleared_at is None
        frozen_clock.advance(seconds=5)
        services.sync.sync_rules(device(ctl), ctl.name, latest)
        alarm.refresh_from_db()
        assert alarm.cleared_at == frozen_clock()

    def test_a_wrong_controller_clock_alarms_until_it_is_back_in_line(self, mailroom, frozen_clock):
        def skew(exceeded: bool, offset_s: float):
            return event(
                "edge.clock_skew",
                frozen_clock(),
                offset_s=offset_s,
                threshold_s=30.0,
                exceeded=exceeded,
            )

        ingest(mailroom, [skew(True, -95.0), skew(True, -96.0)])
        [alarm] = alarms(AlarmKind.CLOCK_SKEW)
        assert alarm.controller == mailroom.edge1
        assert alarm.detail == (
            f"controller {mailroom.edge1.name}'s clock is 1 minute 35 seconds ahead of the"
            " server's (threshold 30 seconds)"
        )
        frozen_clock.advance(minutes=2)
        ingest(mailroom, [skew(False, 1.0)])
        alarm.refresh_from_db()
        assert alarm.cleared_at == frozen_clock()
        assert list(AccessEvent.objects.order_by("id").values_list("reason", flat=True)) == [
            "clock_skew",
            "clock_skew",
            "clock_in_line",
        ]

    def test_the_check_runs_on_the_periodic_tick(self, mailroom, frozen_clock):
        from mailwarden.core import tasks

        frozen_clock.advance(minutes=5)
        result = tasks.tick(frozen_clock())
        assert result.jobs["access.check_controllers"] == 2


class TestQuarantine:
    def test_who_entered_the_quarantine_room_and_when(self, mailroom, frozen_clock):
        h, c = snapshots.holder_id, snapshots.credential_id
        t0 = frozen_clock() - timedelta(hours=3)
        services.doors.set_door_rules(MANAGER, "hq", "quarantine", two_person_window_s=30)
        batch = [
            decision(
                t0,
                "q-in",
                granted=True,
                reason="granted",
                door="quarantine",
                holder=h(mailroom.alice.pk),
                credential=c(mailroom.alice_card.pk),
                card={"format": "H10301", "facility": 10, "card": 1001, "bits": "0" * 26},
            ),
            decision(
                t0 + timedelta(minutes=1),
                "q-in",
                granted=False,
                reason="no_access",
                door="quarantine",
                holder=h(mailroom.bob.pk),
            ),
            decision(
                t0 + timedelta(minutes=5),
                "q-out",
                granted=True,
                reason="granted",
                door="quarantine",
                holder=h(mailroom.alice.pk),
            ),
            decision(
                t0 + timedelta(minutes=6),
                "dock-in",
                granted=True,
                reason="granted",
                door="dock",
                holder=h(mailroom.bob.pk),
            ),
            decision(
                t0 + timedelta(hours=2),
                "q-in",
                granted=True,
                reason="granted_two_person",
                door="quarantine",
                holder=h(mailroom.bob.pk),
                companion=h(mailroom.erin.pk),
            ),
        ]
        ingest(mailroom, batch)
        rows = queries.who_entered("quarantine", t0, t0 + timedelta(days=1))
        assert [(r.at, r.cardholder, r.with_holder) for r in rows] == [
            (t0, mailroom.alice.name, None),
            (t0 + timedelta(hours=2), "Bob Baker", "Erin Eve"),
            (t0 + timedelta(hours=2), "Erin Eve", "Bob Baker"),
        ]
        assert rows[0].via == "card" and rows[0].door == "quarantine"
        assert queries.who_entered("quarantine", t0 + timedelta(minutes=1)) == rows[1:]
        assert queries.who_entered("dock", t0)[0].cardholder == "Bob Baker"
        actions = list(
            LedgerEntry.objects.filter(action__startswith="access.quarantine")
            .order_by("seq")
            .values_list("action", flat=True)
        )
        assert actions == [
            "access.quarantine.granted",
            "access.quarantine.denied",
            "access.quarantine.granted",
            "access.quarantine.granted",
        ]
        assert ledger.verify().ok

    def test_a_refused_batch_item_changes_nothing(self, mailroom, frozen_clock):
        before = state()
        result = ingest(mailroom, [{"key": "x", "type": "door.event", "event": {}}])
        assert result.rejected and not result.applied
        after = state()
        # Only the controller's last-seen time moved.
        assert after == before


def test_a_silent_controller_alarm_says_how_long_in_words(mailroom, frozen_clock):
    from mailwarden.access.services.alarms import check_controllers

    frozen_clock.advance(seconds=25137)
    assert check_controllers(frozen_clock()) >= 1
    detail = (
        AccessAlarm.objects.filter(kind=AlarmKind.CONTROLLER_OFFLINE, controller=mailroom.edge1)
        .get()
        .detail
    )
    assert detail.startswith(f"no sync from {mailroom.edge1.name} for 6 hours 58 minutes")
    assert " s " not in detail and not detail.endswith(" s)")


def test_silence_while_the_server_was_down_is_not_the_controllers(mailroom, frozen_clock):
    from mailwarden.access.services.alarms import check_controllers, restart_watch

    services.sync.sync_rules(device(mailroom.edge1), mailroom.edge1.name, None)
    services.sync.sync_rules(device(mailroom.edge2), mailroom.edge2.name, None)
    # The server was down overnight and starts again: its watch begins now.
    frozen_clock.advance(seconds=25137)
    restart_watch()
    assert check_controllers(frozen_clock()) == 0
    # edge-2 syncs within its limit of the start; edge-1 does not.
    frozen_clock.advance(seconds=5)
    services.sync.sync_rules(device(mailroom.edge2), mailroom.edge2.name, 1)
    frozen_clock.advance(seconds=50)
    assert check_controllers(frozen_clock()) == 0
    frozen_clock.advance(seconds=10)
    assert check_controllers(frozen_clock()) == 1
    [alarm] = AccessAlarm.objects.filter(kind=AlarmKind.CONTROLLER_OFFLINE)
    assert alarm.controller == mailroom.edge1
    # The alarm tells the whole silence, in words.
    assert alarm.detail == (f"no sync from {mailroom.edge1.name} for 7 hours (limit 1 minute)")
