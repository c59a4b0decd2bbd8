"""Rule snapshots per controller, versions, deltas and signatures, checked on the edge's engine."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from mailwarden.access import services, snapshots
from mailwarden.access.models import PinPolicy, RulePublication, SiteRules
from mailwarden.edge.decisions import DecisionEngine, Pin, Reason, RejectReason, SnapshotRejected
from mailwarden.edge.rules import DoorMode, RuleSnapshot, pin_hash
from mailwarden.edge.signing import DocumentKind, SignatureError, open_document
from mailwarden.edge.wiegand import decode, encode
from tests.access.conftest import MANAGER, OPERATOR, card, device


def swipe(number: int, facility: int = 10):
    frame = encode("H10301", facility, number)
    return decode(frame.value, frame.length)


def normalised(snapshot: RuleSnapshot) -> dict[str, Any]:
    """Snapshot JSON with each collection in id order (a merge keeps its own order)."""
    body = snapshot.model_dump(mode="json")
    for name in ("schedules", "levels", "doors", "readers", "areas", "credentials"):
        body[name] = sorted(body[name], key=lambda e: e["id"])
    return body


def published(controller) -> RuleSnapshot:
    latest = controller.publications.order_by("-version").first()
    return RuleSnapshot.model_validate(latest.snapshot)


def built(controller) -> RuleSnapshot:
    return snapshots.build_snapshot(controller, services.credentials.ensure_pin_policy(MANAGER))


def ids(entries) -> set[str]:
    return {e.id for e in entries}


class TestContent:
    def test_each_controller_gets_only_its_doors_readers_and_credentials(self, mailroom):
        one = built(mailroom.edge1)
        two = built(mailroom.edge2)
        assert ids(one.doors) == {"dock", "quarantine"}
        assert ids(one.readers) == {"dock-in", "q-in", "q-out"}
        assert ids(two.doors) == {"lobby"}
        assert ids(two.readers) == {"lobby-in"}
        screeners, staff = (
            snapshots.level_id(lv.pk) for lv in (mailroom.screeners, mailroom.staff)
        )
        assert {lv.id: lv.doors for lv in one.levels} == {
            screeners: ("quarantine",),
            staff: ("dock",),
        }
        assert {lv.id: lv.doors for lv in two.levels} == {staff: ("lobby",)}
        alice = snapshots.credential_id(mailroom.alice_card.pk)
        assert {c.id: c.levels for c in two.credentials}[alice] == (staff,)
        assert one.timezone == "Europe/London" and one.site_id == "hq"
        assert {a.id: a.mode.value for a in one.areas} == {"quarantine-room": "hard"}
        assert not two.areas

    def test_readers_carry_the_door_areas_by_direction(self, mailroom):
        readers = {r.id: r for r in built(mailroom.edge1).readers}
        assert (readers["q-in"].area_from, readers["q-in"].area_to) == (None, "quarantine-room")
        assert (readers["q-out"].area_from, readers["q-out"].area_to) == ("quarantine-room", None)

    def test_a_credential_only_for_other_doors_stays_off(self, mailroom):
        quarantine_only = card(mailroom.erin, 1500, mailroom.screeners)
        cid = snapshots.credential_id(quarantine_only.pk)
        assert cid in ids(built(mailroom.edge1).credentials)
        assert cid not in ids(built(mailroom.edge2).credentials)

    def test_revoked_cards_leave(self, mailroom):
        services.credentials.revoke_credential(
            OPERATOR, mailroom.bob_card.pk, reason="left the company"
        )
        entries = {c.id: c for c in built(mailroom.edge1).credentials}
        assert snapshots.credential_id(mailroom.bob_card.pk) not in entries
        assert snapshots.credential_id(mailroom.alice_card.pk) in entries

    def test_card_and_pin_is_sent_enabled_with_its_pin_hash(self, mailroom):
        both = card_and_pin(mailroom, 1777, "2468")
        entries = {c.id: c for c in built(mailroom.edge1).credentials}
        entry = entries[snapshots.credential_id(both.pk)]
        policy = PinPolicy.objects.get()
        assert entry.enabled is True and entry.needs_pin
        assert (entry.format, entry.facility, entry.card) == ("H10301", 10, 1777)
        assert entry.pin_hash == pin_hash("2468", policy.salt, policy.iterations)
        assert entry.pin_hash == both.pin_hash

    def test_holidays_and_schedules_in_site_time(self, mailroom):
        services.levels.add_holiday(MANAGER, site="hq", day=date(2026, 4, 3), name="Good Friday")
        snap = built(mailroom.edge1)
        assert snap.holidays == (date(2026, 4, 3),)
        office = {s.id: s for s in snap.schedules}[snapshots.schedule_id(mailroom.office.pk)]
        assert (office.windows[0].start, office.windows[0].end) == (8 * 60, 18 * 60)


def card_and_pin(mailroom, number: int, pin: str):
    return services.credentials.issue_credential(
        MANAGER,
        services.credentials.CredentialData(
            holder_id=mailroom.bob.pk,
            kind="card_pin",
            format="H10301",
            facility=10,
            card=number,
            pin=pin,
            level_ids=[mailroom.staff.pk],
        ),
    )


class TestSync:
    def test_card_and_pin_round_trips_to_the_edge_engine(self, mailroom, frozen_clock):
        # The same digits as Erin's PIN credential: a card's PIN need not be unique.
        both = card_and_pin(mailroom, 1777, "4321")
        document = services.sync.sync_rules(
            device(mailroom.edge1), mailroom.edge1.name, None
        ).document
        engine = mailroom.engine()
        engine.load_snapshot(document)
        now = frozen_clock()
        asked = engine.decide("dock-in", swipe(1777), now)
        assert (asked.granted, asked.reason) == (False, Reason.PIN_REQUIRED)
        assert asked.credential_id == snapshots.credential_id(both.pk)
        assert engine.decide("dock-in", swipe(1777), now, pin="9999").reason is Reason.WRONG_PIN
        granted = engine.decide("dock-in", swipe(1777), now, pin="4321")
        assert (granted.granted, granted.reason) == (True, Reason.GRANTED)
        assert granted.holder_id == snapshots.holder_id(mailroom.bob.pk)
        # The digits alone are Erin's PIN, not Bob's card.
        alone = engine.decide("dock-in", Pin("4321"), now)
        assert alone.holder_id == snapshots.holder_id(mailroom.erin.pk)

    def test_first_poll_gets_a_signed_snapshot_then_nothing(self, mailroom):
        edge = device(mailroom.edge1)
        first = services.sync.sync_rules(edge, mailroom.edge1.name, None)
        assert (first.kind, first.version) == (DocumentKind.SNAPSHOT, 1)
        engine = mailroom.engine()
        assert engine.load_snapshot(first.document) == 1
        again = services.sync.sync_rules(edge, mailroom.edge1.name, 1)
        assert again.up_to_date and again.version == 1
        assert services.sync.sync_rules(edge, mailroom.edge1.name, 0).kind is DocumentKind.SNAPSHOT

    def test_the_signature_verifies_with_this_controllers_secret_only(self, mailroom):
        document = services.sync.sync_rules(
            device(mailroom.edge1), mailroom.edge1.name, None
        ).document
        payload = open_document(document, {"edge-1": mailroom.secret1}, DocumentKind.SNAPSHOT)
        assert payload["version"] == 1
        with pytest.raises(SignatureError, match="does not match"):
            open_document(document, {"edge-1": mailroom.secret2}, DocumentKind.SNAPSHOT)
        # An engine keyed for the other controller does not know this key at all.
        with pytest.raises(SnapshotRejected) as rejected:
            mailroom.engine(2).load_snapshot(document)
        assert rejected.value.reason is RejectReason.SIGNATURE

    def test_a_delta_brings_the_engine_to_exactly_the_servers_rules(self, mailroom, frozen_clock):
        edge, ctl = device(mailroom.edge1), mailroom.edge1
        engine = mailroom.engine()
        engine.load_snapshot(services.sync.sync_rules(edge, ctl.name, None).document)
        now = frozen_clock()
        assert engine.decide("dock-in", swipe(1002), now).granted
        # Several changes between two polls: one delta carries them all.
        services.credentials.revoke_credential(OPERATOR, mailroom.bob_card.pk, reason="lost")
        new_card = card(mailroom.bob, 1003, mailroom.staff)
        services.levels.add_holiday(MANAGER, site="hq", day=date(2026, 3, 3))
        services.doors.set_door_rules(MANAGER, "hq", "quarantine", two_person_window_s=30)
        services.levels.update_schedule(
            MANAGER,
            "hq",
            mailroom.office.pk,
            windows=[{"days": ["mon", "tue"], "start": "07:00", "end": "19:00"}],
        )
        frozen_clock.advance(seconds=2)
        answer = services.sync.sync_rules(edge, ctl.name, engine.version)
        assert answer.kind is DocumentKind.DELTA and answer.version == 2
        assert engine.apply_delta(answer.document) == 2
        assert normalised(engine.rules.snapshot) == normalised(published(ctl))
        now = frozen_clock()
        assert engine.decide("dock-in", swipe(1002), now).reason is Reason.UNKNOWN_CREDENTIAL
        granted = engine.decide("dock-in", swipe(1003), now)
        assert granted.granted and granted.credential_id == snapshots.credential_id(new_card.pk)
        waiting = engine.decide("q-in", swipe(1001), now)
        assert waiting.reason is Reason.TWO_PERSON_WAITING
        # Tuesday is a holiday now: office hours have no holiday windows.
        tuesday = now + timedelta(days=1)
        assert engine.decide("dock-in", swipe(1003), tuesday).reason is Reason.OUTSIDE_SCHEDULE

    def test_pins_decide_on_the_edge(self, mailroom, frozen_clock):
        engine = mailroom.engine()
        engine.load_snapshot(
            services.sync.sync_rules(device(mailroom.edge1), mailroom.edge1.name, 0).document
        )
        decision = engine.decide("dock-in", Pin("4321"), frozen_clock())
        assert decision.granted
        assert decision.holder_id == snapshots.holder_id(mailroom.erin.pk)
        assert not engine.decide("dock-in", Pin("1234"), frozen_clock()).granted

    def test_an_old_version_gets_a_snapshot_that_replaces_it(self, mailroom, frozen_clock):
        edge, ctl = device(mailroom.edge1), mailroom.edge1
        services.sync.sync_rules(edge, ctl.name, None)
        for number in (1201, 1202):
            card(mailroom.bob, number, mailroom.staff)
            services.sync.sync_rules(edge, ctl.name, None)
        assert ctl.publications.count() == 3
        answer = services.sync.sync_rules(edge, ctl.name, 1)
        assert (answer.kind, answer.version) == (DocumentKind.SNAPSHOT, 3)

    def test_changes_elsewhere_publish_nothing_new(self, mailroom):
        edge, ctl = device(mailroom.edge1), mailroom.edge1
        services.sync.sync_rules(edge, ctl.name, None)
        services.sync.sync_rules(device(mailroom.edge2), mailroom.edge2.name, None)
        before = SiteRules.objects.get(site=mailroom.site).version
        lobby_only = services.levels.create_level(
            MANAGER,
            site="hq",
            name="lobby",
            schedule_id=mailroom.office.pk,
            doors=["lobby"],
        )
        card(mailroom.erin, 1300, lobby_only)
        assert SiteRules.objects.get(site=mailroom.site).version > before
        assert services.sync.sync_rules(edge, ctl.name, 1).up_to_date
        assert not services.sync.sync_rules(
            device(mailroom.edge2), mailroom.edge2.name, 1
        ).up_to_date

    def test_a_controller_ahead_of_the_server_gets_a_newer_version(self, mailroom):
        # As after restoring the server from a backup older than the edge's rules: the
        # engine accepts only a newer snapshot, so the server continues above it.
        edge, ctl = device(mailroom.edge1), mailroom.edge1
        services.sync.sync_rules(edge, ctl.name, None)
        answer = services.sync.sync_rules(edge, ctl.name, 7)
        assert (answer.kind, answer.version) == (DocumentKind.SNAPSHOT, 8)
        assert services.sync.sync_rules(edge, ctl.name, 8).up_to_date
        # Likewise a controller whose server lost every publication.
        fresh = services.sync.sync_rules(device(mailroom.edge2), mailroom.edge2.name, 5)
        assert (fresh.kind, fresh.version) == (DocumentKind.SNAPSHOT, 6)

    def test_only_the_last_versions_are_kept(self, mailroom, monkeypatch):
        monkeypatch.setattr(services.sync, "KEEP_PUBLICATIONS", 3)
        edge, ctl = device(mailroom.edge1), mailroom.edge1
        for number in range(1400, 1406):
            card(mailroom.bob, number, mailroom.staff)
            services.sync.sync_rules(edge, ctl.name, None)
        versions = list(ctl.publications.order_by("version").values_list("version", flat=True))
        assert versions == [4, 5, 6]

    def test_polling_marks_the_controller_seen(self, mailroom, frozen_clock):
        frozen_clock.advance(seconds=30)
        services.sync.sync_rules(device(mailroom.edge1), mailroom.edge1.name, None)
        mailroom.edge1.refresh_from_db()
        assert mailroom.edge1.last_seen_at == frozen_clock()


def _change(kind: str, mailroom) -> None:
    m = mailroom
    if kind == "credential added":
        card(m.bob, 1600, m.staff)
    elif kind == "credential revoked":
        services.credentials.revoke_credential(OPERATOR, m.bob_card.pk, reason="lost")
    elif kind == "credential levels":
        services.credentials.set_credential_levels(
            MANAGER, m.bob_card.pk, [m.staff.pk, m.screeners.pk]
        )
    elif kind == "level":
        services.levels.set_level(
            MANAGER, "hq", m.staff.pk, schedule_id=m.always.pk, doors=["dock", "lobby"]
        )
    elif kind == "schedule":
        services.levels.update_schedule(
            MANAGER,
            "hq",
            m.office.pk,
            windows=[{"days": ["mon"], "start": "09:00", "end": "10:00"}],
        )
    elif kind == "holiday":
        services.levels.add_holiday(MANAGER, site="hq", day=date(2026, 12, 25))
    elif kind == "door mode":
        services.doors.set_door_mode(
            MANAGER, "hq", "dock", "scheduled_unlock", unlock_schedule_id=m.office.pk
        )
    elif kind == "door rules":
        services.doors.set_door_rules(MANAGER, "hq", "quarantine", two_person_window_s=20)
    elif kind == "lockdown":
        services.lockdown.lockdown_site(OPERATOR, m.site.code, True)
    elif kind == "reader":
        services.doors.create_reader(
            MANAGER,
            controller="edge-1",
            door="dock",
            code="dock-out",
            osdp_address=4,
            direction="out",
        )


CHANGES = [
    "credential added",
    "credential revoked",
    "credential levels",
    "level",
    "schedule",
    "holiday",
    "door mode",
    "door rules",
    "lockdown",
    "reader",
]


@pytest.mark.parametrize("kind", CHANGES)
def test_every_kind_of_change_bumps_the_version_and_reaches_the_edge(mailroom, kind):
    edge, ctl = device(mailroom.edge1), mailroom.edge1
    engine = mailroom.engine()
    engine.load_snapshot(services.sync.sync_rules(edge, ctl.name, None).document)
    site_version = SiteRules.objects.get(site=mailroom.site).version
    _change(kind, mailroom)
    assert SiteRules.objects.get(site=mailroom.site).version == site_version + 1
    answer = services.sync.sync_rules(edge, ctl.name, engine.version)
    assert answer.kind is DocumentKind.DELTA and answer.version == 2
    engine.apply_delta(answer.document)
    assert normalised(engine.rules.snapshot) == normalised(published(ctl))
    assert RulePublication.objects.filter(controller=ctl).count() == 2


def test_lockdown_reaches_the_snapshot_and_lifting_restores_the_modes(mailroom, frozen_clock):
    edge, ctl = device(mailroom.edge1), mailroom.edge1
    services.doors.set_door_mode(
        MANAGER, "hq", "dock", "scheduled_unlock", unlock_schedule_id=mailroom.office.pk
    )
    services.doors.set_door_rules(
        MANAGER, "hq", "quarantine", lockdown_level_ids=[mailroom.screeners.pk]
    )
    engine: DecisionEngine = mailroom.engine()
    engine.load_snapshot(services.sync.sync_rules(edge, ctl.name, None).document)
    services.lockdown.lockdown_site(OPERATOR, mailroom.site.code, True, reason="white powder")
    engine.apply_delta(services.sync.sync_rules(edge, ctl.name, engine.version).document)
    assert {d.id: d.mode for d in engine.rules.snapshot.doors} == {
        "dock": DoorMode.LOCKDOWN,
        "quarantine": DoorMode.LOCKDOWN,
    }
    now = frozen_clock()
    assert engine.decide("dock-in", swipe(1002), now).reason is Reason.LOCKDOWN
    assert not engine.door_unlocked("dock", now)
    override = engine.decide("q-in", swipe(1001), now)
    assert override.reason is Reason.GRANTED_LOCKDOWN_OVERRIDE
    services.lockdown.lift_lockdown(MANAGER, mailroom.site.code)
    engine.apply_delta(services.sync.sync_rules(edge, ctl.name, engine.version).document)
    assert {d.id: d.mode for d in engine.rules.snapshot.doors} == {
        "dock": DoorMode.SCHEDULED_UNLOCK,
        "quarantine": DoorMode.LOCKED,
    }
    assert engine.door_unlocked("dock", now)


def test_first_person_in_and_anti_passback_work_on_the_edge(mailroom, frozen_clock):
    services.doors.set_door_mode(
        MANAGER, "hq", "dock", "scheduled_unlock", unlock_schedule_id=mailroom.office.pk
    )
    services.doors.set_door_rules(
        MANAGER,
        "hq",
        "dock",
        first_person_level_ids=[mailroom.screeners.pk],
        first_person_others_wait=True,
    )
    engine = mailroom.engine()
    engine.load_snapshot(
        services.sync.sync_rules(device(mailroom.edge1), mailroom.edge1.name, None).document
    )
    dock = {d.id: d for d in engine.rules.snapshot.doors}["dock"]
    assert dock.first_person_in.levels == (snapshots.level_id(mailroom.screeners.pk),)
    now = frozen_clock()
    assert not engine.door_unlocked("dock", now)
    assert engine.decide("dock-in", swipe(1002), now).reason is Reason.AWAITING_FIRST_PERSON
    assert engine.decide("dock-in", swipe(1001), now).granted
    assert engine.door_unlocked("dock", now)
    # Hard anti-passback on the quarantine room: in, in again refused, out, in.
    assert engine.decide("q-in", swipe(1001), now).granted
    assert engine.decide("q-in", swipe(1001), now).reason is Reason.ANTI_PASSBACK
    assert engine.decide("q-out", swipe(1001), now).granted
    assert engine.decide("q-in", swipe(1001), now).granted
