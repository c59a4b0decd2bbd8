"""The automatic findings rules (risk.rules): each fires on data made for it and stays quiet on
clean data; a rule run turns proposals into findings, keeps a dismissed one dismissed, reports a
failing rule without stopping the others, and uses the site's thresholds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from mailwarden.access import services as access
from mailwarden.access.models import AccessController, AccessEvent, AlarmKind, Credential
from mailwarden.contracts.access import ACCESS_DECISION, READER_STATUS
from mailwarden.core import checkpoints, clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody import pickup
from mailwarden.custody import services as custody
from mailwarden.directory.models import Site
from mailwarden.incidents.models import Exercise, ExerciseType, IncidentType
from mailwarden.risk import rules
from mailwarden.risk.models import Assessment, Finding, FindingState
from mailwarden.risk.rules import Context, Proposed, rule
from mailwarden.risk.services import assessments, findings, rule_runs, thresholds
from mailwarden.screening import services as screening
from mailwarden.screening.services import Checklist
from mailwarden.surveillance.models import Camera, Region
from mailwarden.training.models import Certificate, Course, TipTrial
from tests.factories import ADMIN, intake, make_recipient, make_site
from tests.risk.assessment_helpers import complete

MANAGER = Actor("user", "mona", frozenset({Role.SECURITY_MANAGER}), user_id=9101)
MANAGER_B = Actor("user", "max", frozenset({Role.SECURITY_MANAGER}), user_id=9102)
SCREENER = Actor("user", "sam", frozenset({Role.SCREENER}), user_id=9001)
CLERK = Actor("user", "cleo", frozenset({Role.CLERK}), user_id=9201)
AUDITOR = Actor("user", "aud", frozenset({Role.AUDITOR}), user_id=9203)

ALWAYS = [
    {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
]


@pytest.fixture
def site(db, frozen_clock) -> Site:
    return make_site()


def context(site: Site, days: int = 90, **overrides: Any) -> Context:
    now = clock.now()
    return Context(
        site=site,
        now=now,
        period_start=now - timedelta(days=days),
        period_end=now + timedelta(seconds=1),
        thresholds={**thresholds.thresholds_of(site), **overrides},
    )


def fired(slug: str, ctx: Context) -> list[Proposed]:
    return list(rules.load()[slug].check(ctx))


def make_assessment(site: Site, days: int = 90) -> Assessment:
    now = clock.now()
    return assessments.create_assessment(
        MANAGER,
        site=site.code,
        title="Spring assessment",
        period_start=now - timedelta(days=days),
        period_end=now + timedelta(days=1),
    )


# ----------------------------------------------------------------------------- access data


def _controller(site: Site) -> AccessController:
    return access.doors.create_controller(
        ADMIN, name=f"edge-{site.code}", site=site.code
    ).controller


def _door(site: Site, code: str, location: str | None = None) -> Any:
    return access.doors.create_door(
        MANAGER, access.doors.DoorData(site=site.code, code=code, location=location)
    )


def _level(site: Site, name: str, doors: list[str]) -> Any:
    schedule = access.levels.create_schedule(
        MANAGER, site=site.code, name=f"{name}-always", windows=ALWAYS
    )
    return access.levels.create_level(
        MANAGER, site=site.code, name=name, schedule_id=schedule.pk, doors=doors
    )


def _card(holder_id: int, number: int, *levels: Any) -> Credential:
    return access.credentials.issue_credential(
        MANAGER,
        access.credentials.CredentialData(
            holder_id=holder_id,
            format="H10301",
            facility=10,
            card=number,
            level_ids=[lv.pk for lv in levels],
        ),
    )


def _use(site: Site, controller: AccessController, credential: Credential, at: datetime) -> None:
    AccessEvent.objects.create(
        key=uuid.uuid4(),
        controller=controller,
        site=site,
        type=ACCESS_DECISION,
        occurred_at=at,
        received_at=at,
        credential=credential,
        cardholder=credential.holder,
        granted=True,
        reason="granted",
    )


def test_stale_credentials_fire_on_a_card_unused_for_the_threshold(site, frozen_clock):
    controller = _controller(site)
    _door(site, "lobby")
    staff = _level(site, "staff", ["lobby"])
    idle = _card(access.credentials.create_cardholder(MANAGER, name="Ida Idle").pk, 1, staff)
    busy = _card(access.credentials.create_cardholder(MANAGER, name="Bea Busy").pk, 2, staff)
    gone = _card(access.credentials.create_cardholder(MANAGER, name="Gus Gone").pk, 3, staff)
    access.credentials.revoke_credential(MANAGER, gone.pk, reason="left the company")
    _use(site, controller, idle, clock.now())
    frozen_clock.advance(days=100)
    _use(site, controller, busy, clock.now() - timedelta(days=5))
    fresh = _card(access.credentials.create_cardholder(MANAGER, name="Nia New").pk, 4, staff)

    found = fired("stale-credentials", context(site))

    assert [p.subject for p in found] == [f"credential:{idle.pk}"]
    assert found[0].evidence["holder"] == "Ida Idle"
    assert found[0].evidence["threshold_days"] == 90
    assert f"credential:{fresh.pk}" not in {p.subject for p in found}


def test_stale_credentials_are_quiet_when_every_card_is_in_use(site, frozen_clock):
    controller = _controller(site)
    _door(site, "lobby")
    staff = _level(site, "staff", ["lobby"])
    card = _card(access.credentials.create_cardholder(MANAGER, name="Bea Busy").pk, 2, staff)
    frozen_clock.advance(days=200)
    _use(site, controller, card, clock.now() - timedelta(days=89))
    assert fired("stale-credentials", context(site)) == []


def _user(username: str, *roles: str) -> Any:
    return create_user(
        ADMIN,
        username,
        password="x",
        roles=list(roles),
        check_password=False,
        first_name=username.title(),
    )


def _screening_course() -> Course:
    now = clock.now()
    return Course.objects.create(
        slug="screening-basics",
        title="Screening basics",
        duty="screening",
        created_at=now,
        updated_at=now,
    )


def _certificate(course: Course, user: Any, expires_in_days: int) -> Certificate:
    now = clock.now()
    return Certificate.objects.create(
        course=course,
        user=user,
        code=f"C-{user.pk}-{expires_in_days}",
        holder_name=user.username,
        score=90,
        issued_at=now - timedelta(days=10),
        expires_at=now + timedelta(days=expires_in_days),
    )


def test_quarantine_untrained_fires_on_holders_without_a_current_certificate(site):
    _door(site, "quarantine", location="quarantine")
    _door(site, "lobby")
    room = _level(site, "quarantine team", ["quarantine"])
    lobby = _level(site, "staff", ["lobby"])
    course = _screening_course()
    trained, lapsed = _user("tess", Role.SCREENER), _user("lars", Role.SCREENER)
    _certificate(course, trained, 100)
    _certificate(course, lapsed, -1)
    holders = {
        name: access.credentials.create_cardholder(
            MANAGER, name=name, user_id=user.pk if user else None
        )
        for name, user in (("Tess", trained), ("Lars", lapsed), ("Vic Visitor", None))
    }
    _card(holders["Tess"].pk, 1, room)
    _card(holders["Lars"].pk, 2, room, lobby)
    _card(holders["Vic Visitor"].pk, 3, room)
    _card(access.credentials.create_cardholder(MANAGER, name="Lobby only").pk, 4, lobby)

    found = {p.subject: p for p in fired("quarantine-untrained", context(site))}

    assert set(found) == {
        f"cardholder:{holders['Lars'].pk}",
        f"cardholder:{holders['Vic Visitor'].pk}",
    }
    assert found[f"cardholder:{holders['Lars'].pk}"].evidence["doors"] == "quarantine"
    assert found[f"cardholder:{holders['Vic Visitor'].pk}"].evidence["account"] == "none linked"


def test_quarantine_untrained_is_quiet_when_everyone_inside_is_trained(site):
    _door(site, "quarantine", location="quarantine")
    room = _level(site, "quarantine team", ["quarantine"])
    course = _screening_course()
    tess = _user("tess", Role.SCREENER)
    _certificate(course, tess, 100)
    _card(access.credentials.create_cardholder(MANAGER, name="Tess", user_id=tess.pk).pk, 1, room)
    assert fired("quarantine-untrained", context(site)) == []


def _alarm(site: Site, door: Any, kind: str, at: datetime) -> None:
    access.alarms.raise_alarm(ADMIN, site, AlarmKind(kind), at, at, detail="test", door=door)


def test_door_alarms_fire_on_a_door_that_keeps_alarming(site):
    dock, lobby = _door(site, "dock"), _door(site, "lobby")
    now = clock.now()
    for hours, kind in ((1, "held_open"), (2, "forced_open"), (3, "held_open")):
        _alarm(site, dock, kind, now - timedelta(hours=hours))
    _alarm(site, lobby, "held_open", now - timedelta(hours=1))
    _alarm(site, lobby, "tamper", now - timedelta(hours=2))
    _alarm(site, lobby, "tamper", now - timedelta(hours=3))

    found = fired("door-alarms", context(site))

    assert [p.subject for p in found] == [f"door:{dock.pk}"]
    assert found[0].evidence["forced_open"] == 1
    assert found[0].evidence["held_open"] == 2


def test_door_alarms_are_quiet_below_the_threshold_and_outside_the_period(site):
    dock = _door(site, "dock")
    now = clock.now()
    _alarm(site, dock, "held_open", now - timedelta(hours=1))
    _alarm(site, dock, "held_open", now - timedelta(hours=2))
    for days in (100, 101, 102):
        _alarm(site, dock, "forced_open", now - timedelta(days=days))
    assert fired("door-alarms", context(site)) == []


def _status(site: Site, reader: Any, *, online: bool, secure: bool, at: datetime) -> None:
    AccessEvent.objects.create(
        key=uuid.uuid4(),
        controller=reader.controller,
        site=site,
        type=READER_STATUS,
        occurred_at=at,
        received_at=at,
        reader=reader,
        reader_ref=f"reader-{reader.pk}",
        door=reader.door,
        reason="online" if online else "offline",
        payload={"online": online, "secure": secure},
    )


def _readers(site: Site) -> tuple[Any, Any, Any]:
    controller = _controller(site)
    _door(site, "quarantine", location="quarantine")
    made = [
        access.doors.create_reader(
            MANAGER, controller=controller.name, door="quarantine", code=code, osdp_address=n
        )
        for n, code in enumerate(("q-in", "q-out", "spare"), start=1)
    ]
    return made[0], made[1], made[2]


def test_insecure_readers_fire_on_a_reader_online_without_secure_channel(site):
    q_in, q_out, _spare = _readers(site)
    now = clock.now()
    _status(site, q_in, online=True, secure=True, at=now - timedelta(hours=2))
    _status(site, q_in, online=True, secure=False, at=now - timedelta(hours=1))
    _status(site, q_out, online=True, secure=True, at=now - timedelta(hours=1))

    found = fired("insecure-readers", context(site))

    assert [p.subject for p in found] == [f"reader:{q_in.pk}"]
    assert found[0].evidence["door"] == "quarantine"


def test_insecure_readers_are_quiet_when_readers_are_secure_offline_or_silent(site):
    q_in, q_out, _spare = _readers(site)
    now = clock.now()
    _status(site, q_in, online=True, secure=False, at=now - timedelta(hours=2))
    _status(site, q_in, online=True, secure=True, at=now - timedelta(hours=1))
    _status(site, q_out, online=False, secure=False, at=now - timedelta(hours=1))
    assert fired("insecure-readers", context(site)) == []


# ----------------------------------------------------------------------------- screening data


def _release(site: Site, frozen_clock: Any, hours: float) -> str:
    item = intake(site, make_recipient())
    custody.transition(SCREENER, item.uid, "quarantined", reason="oily stain")
    frozen_clock.advance(hours=hours)
    request = screening.propose_quarantine_outcome(SCREENER, item.uid, "released", "opened: a book")
    screening.confirm_quarantine_outcome(MANAGER, request.pk)
    return str(item.uid)


def test_fast_quarantine_release_fires_on_an_item_released_too_soon(site, frozen_clock):
    quick = _release(site, frozen_clock, hours=1)
    _release(site, frozen_clock, hours=6)

    found = fired("fast-quarantine-release", context(site))

    assert [p.subject for p in found] == [f"item:{quick}"]
    assert found[0].evidence["hours_held"] == 1.0
    assert found[0].evidence["expected_hours"] == 4.0


def test_fast_quarantine_release_is_quiet_when_items_are_held_long_enough(site, frozen_clock):
    _release(site, frozen_clock, hours=4)
    _release(site, frozen_clock, hours=30)
    assert fired("fast-quarantine-release", context(site)) == []


def _handed_over(site: Site, *, screened: bool) -> str:
    item = intake(site, make_recipient())
    if screened:
        screening.screen_item(SCREENER, item.uid, Checklist())
    else:
        custody.transition(SCREENER, item.uid, "cleared")
    custody.transition(CLERK, item.uid, "ready_for_pickup")
    custody.hand_over(CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid))
    return str(item.uid)


def test_unscreened_deliveries_fire_when_too_many_items_skip_screening(site):
    skipped = _handed_over(site, screened=False)
    for _ in range(3):
        _handed_over(site, screened=True)

    found = fired("unscreened-deliveries", context(site))

    assert [p.subject for p in found] == [f"site:{site.code}"]
    assert found[0].evidence["handed_over"] == 4
    assert found[0].evidence["unscreened"] == 1
    assert found[0].evidence["share"] == 0.25
    assert found[0].evidence["items"] == skipped


def test_unscreened_deliveries_are_quiet_when_every_item_was_screened(site):
    for _ in range(2):
        _handed_over(site, screened=True)
    intake(site, make_recipient())  # not handed over yet
    assert fired("unscreened-deliveries", context(site)) == []


# ----------------------------------------------------------------------------- training data


def _trials(
    user: Any, site: Site, *, hits: int, misses: int, false_alarms: int, rejections: int
) -> None:
    now = clock.now()
    outcomes = (
        [("hit", "threat", "knife")] * hits
        + [("miss", "clear", "knife")] * misses
        + [("false_alarm", "threat", "")] * false_alarms
        + [("correct_rejection", "clear", "")] * rejections
    )
    TipTrial.objects.bulk_create(
        TipTrial(
            user=user,
            mode="training",
            site=site,
            category=category,
            background="simulated",
            width=64,
            height=64,
            presented_at=now - timedelta(minutes=n + 1),
            answered_at=now - timedelta(minutes=n),
            response=response,
            outcome=outcome,
        )
        for n, (outcome, response, category) in enumerate(outcomes)
    )


def test_low_dprime_fires_on_a_screener_below_the_bar(site):
    weak, strong = _user("wes", Role.SCREENER), _user("sue", Role.SCREENER)
    _trials(weak, site, hits=12, misses=8, false_alarms=8, rejections=12)
    _trials(strong, site, hits=19, misses=1, false_alarms=1, rejections=19)

    found = fired("low-dprime", context(site))

    assert [p.subject for p in found] == [f"user:{weak.pk}"]
    # The shipped screener certification sets the bar.
    assert found[0].evidence["bar"] == 1.5
    assert found[0].evidence["bar_from"] == "course screener-certification"
    assert found[0].evidence["trials"] == 40


def test_low_dprime_falls_back_to_the_default_bar_without_a_screening_course(site):
    Course.objects.filter(duty="screening").update(active=False)
    sue = _user("sue", Role.SCREENER)
    _trials(sue, site, hits=13, misses=7, false_alarms=7, rejections=13)  # d′ about 0.75
    found = fired("low-dprime", context(site))
    assert [(p.evidence["bar"], p.evidence["bar_from"]) for p in found] == [(1.0, "default")]
    assert fired("low-dprime", context(site, dprime_fallback=0.5)) == []


def test_low_dprime_takes_the_screening_course_bar_and_then_the_site_threshold(site):
    sue = _user("sue", Role.SCREENER)
    _trials(sue, site, hits=16, misses=4, false_alarms=4, rejections=16)  # d′ about 1.6
    assert fired("low-dprime", context(site)) == []
    course = _screening_course()
    course.min_dprime = 2.0
    course.save()
    found = fired("low-dprime", context(site))
    assert [p.evidence["bar_from"] for p in found] == ["course screening-basics"]
    assert fired("low-dprime", context(site, dprime_bar=1.2)) == []


def test_low_dprime_is_quiet_with_few_trials_or_another_site(site):
    other = make_site("branch")
    wes, ola = _user("wes", Role.SCREENER), _user("ola", Role.SCREENER)
    _trials(wes, site, hits=2, misses=3, false_alarms=3, rejections=2)
    _trials(ola, other, hits=10, misses=10, false_alarms=10, rejections=10)
    assert fired("low-dprime", context(site)) == []


# ----------------------------------------------------------------------------- surveillance data


def _camera(site: Site, name: str, state: str, *, enabled: bool = True) -> Camera:
    return Camera.objects.create(
        site=site,
        name=name,
        url="rtsp://cam",
        created_at=clock.now(),
        state=state,
        enabled=enabled,
        state_reason="no frames for 5 minutes" if state == "offline" else "",
    )


def test_cameras_offline_fire_on_an_enabled_camera_that_is_down(site):
    down = _camera(site, "dock-cam", "offline")
    _camera(site, "lobby-cam", "online")
    _camera(site, "old-cam", "offline", enabled=False)
    found = fired("cameras-offline", context(site))
    assert [p.subject for p in found] == [f"camera:{down.pk}"]
    assert found[0].evidence["reason"] == "no frames for 5 minutes"


def test_cameras_offline_are_quiet_when_every_camera_is_up(site):
    _camera(site, "dock-cam", "online")
    _camera(make_site("branch"), "far-cam", "offline")
    assert fired("cameras-offline", context(site)) == []


def test_zones_without_rules_fire_on_an_unwatched_zone(site):
    cam = _camera(site, "dock-cam", "online")
    bare = Region.objects.create(camera=cam, kind="zone", name="dock floor", rules=[])
    Region.objects.create(
        camera=cam, kind="zone", name="bench", rules=[{"type": "loitering", "seconds": 60}]
    )
    Region.objects.create(camera=cam, kind="mask", name="clock", rules=[])
    found = fired("zones-without-rules", context(site))
    assert [p.subject for p in found] == [f"zone:{bare.pk}"]


def test_zones_without_rules_are_quiet_when_every_zone_has_a_rule(site):
    cam = _camera(site, "dock-cam", "online")
    Region.objects.create(
        camera=cam, kind="zone", name="bench", rules=[{"type": "loitering", "seconds": 60}]
    )
    Region.objects.create(camera=cam, kind="line", name="door", points=[[0, 0], [1, 1]])
    assert fired("zones-without-rules", context(site)) == []


# ----------------------------------------------------------------------------- incidents data


def _exercise(site: Site, started_days_ago: int | None) -> Exercise:
    now = clock.now()
    return Exercise.objects.create(
        name="Powder drill",
        type=ExerciseType.DRILL,
        scenario="A letter leaks white powder in the sorting room.",
        site=site,
        incident_type=IncidentType.SUSPICIOUS_SUBSTANCE,
        planned_start=now - timedelta(days=started_days_ago or 0),
        created_at=now - timedelta(days=400),
        created_by="user:mona",
        started_at=None if started_days_ago is None else now - timedelta(days=started_days_ago),
    )


def test_no_recent_drill_fires_when_the_last_one_is_too_old(site):
    _exercise(site, started_days_ago=200)
    _exercise(site, started_days_ago=None)  # planned, never run
    found = fired("no-recent-drill", context(site))
    assert [p.subject for p in found] == [f"site:{site.code}"]
    assert found[0].evidence["months"] == 6
    assert (
        fired("no-recent-drill", context(make_site("branch")))[0].evidence["last_exercise"]
        == "none"
    )


def test_no_recent_drill_is_quiet_after_a_recent_one(site):
    _exercise(site, started_days_ago=30)
    assert fired("no-recent-drill", context(site)) == []


# ----------------------------------------------------------------------------- ledger data


def _checkpoint() -> None:
    seq, _ = ledger.head()
    with transaction.atomic():
        ledger.append(
            ADMIN,
            checkpoints.ACTION,
            "ledger",
            str(seq),
            {"size": seq, "root_hash": "x", "file": "f"},
        )


def test_ledger_checkpoints_fire_when_none_was_ever_written(site):
    found = fired("ledger-checkpoints", context(site))
    assert [p.subject for p in found] == ["ledger"]
    assert found[0].evidence["last_checkpoint"] == "never"


def test_ledger_checkpoints_fire_when_the_newest_is_too_old(site, frozen_clock):
    _checkpoint()
    frozen_clock.advance(hours=30)
    make_recipient()  # the ledger grows after the checkpoint
    found = fired("ledger-checkpoints", context(site))
    assert [p.subject for p in found] == ["ledger"]
    assert found[0].evidence["max_age_hours"] == 24.0


def test_ledger_checkpoints_are_quiet_with_a_recent_one_or_nothing_new(site, frozen_clock):
    make_recipient()
    _checkpoint()
    frozen_clock.advance(hours=300)
    assert fired("ledger-checkpoints", context(site)) == []  # nothing since
    make_recipient()
    _checkpoint()
    frozen_clock.advance(hours=2)
    make_recipient()
    assert fired("ledger-checkpoints", context(site)) == []


# ----------------------------------------------------------------------------- the registry


def test_every_rule_module_is_listed_and_every_rule_has_a_title():
    loaded = rules.load()
    assert len(loaded) >= 10
    assert {r.check.__module__.rsplit(".", 1)[1] for r in loaded.values()} == set(rules.MODULES)
    assert all(r.title and r.slug == slug for slug, r in loaded.items())
    assert rules.DEFAULTS["stale_credential_days"] == 90
    assert rules.DEFAULTS["door_alarm_repeats"] == 3
    assert rules.DEFAULTS["drill_months"] == 6


# ----------------------------------------------------------------------------- runs


@pytest.fixture
def broken() -> Iterator[str]:
    @rule("test-broken", "A rule that always fails")
    def _broken(ctx: Context) -> Iterator[Proposed]:
        raise RuntimeError("the database went away")
        yield  # pragma: no cover

    try:
        yield "test-broken"
    finally:
        rules.RULES.pop("test-broken", None)


def test_a_run_turns_proposals_into_findings_once(site, frozen_clock):
    assessment = make_assessment(site)
    report = findings.run_rules(MANAGER, assessment.pk)

    assert report.failed == {}
    assert [p.subject for p in report.proposed["ledger-checkpoints"]] == ["ledger"]
    assert [p.subject for p in report.proposed["no-recent-drill"]] == [f"site:{site.code}"]
    made = Finding.objects.filter(assessment=assessment)
    assert {(f.rule, f.subject, f.source, f.state) for f in made} == {
        ("ledger-checkpoints", "ledger", "automatic", "proposed"),
        ("no-recent-drill", f"site:{site.code}", "automatic", "proposed"),
    }
    drill = made.get(rule="no-recent-drill")
    assert drill.suggested_treatment and drill.evidence["months"] == 6
    assert drill.created_by == MANAGER.label
    topics = list(
        OutboxEvent.objects.filter(topic="risk.finding.proposed").values_list("key", flat=True)
    )
    assert len(topics) == 2

    frozen_clock.advance(days=1)
    findings.run_rules(MANAGER, assessment.pk)
    assert Finding.objects.filter(assessment=assessment).count() == 2
    assert OutboxEvent.objects.filter(topic="risk.finding.proposed").count() == 2
    actions = [e.action for e in ledger.entries_for("risk_assessment", str(assessment.pk))]
    assert actions.count("risk.rules.checked") == 2


def test_a_dismissed_finding_stays_dismissed_when_its_evidence_is_refreshed(site, frozen_clock):
    assessment = make_assessment(site)
    findings.run_rules(MANAGER, assessment.pk, only=["ledger-checkpoints"])
    finding = Finding.objects.get(assessment=assessment, rule="ledger-checkpoints")
    Finding.objects.filter(pk=finding.pk).update(state=FindingState.DISMISSED)
    make_recipient()  # more ledger entries: the evidence changes
    frozen_clock.advance(hours=1)

    findings.run_rules(MANAGER, assessment.pk, only=["ledger-checkpoints"])

    finding.refresh_from_db()
    assert finding.state == FindingState.DISMISSED
    assert finding.evidence["entries"] > 0
    assert finding.updated_at == clock.now()
    assert "risk.finding.refreshed" in [
        e.action for e in ledger.entries_for("risk_finding", str(finding.pk))
    ]
    assert OutboxEvent.objects.filter(topic="risk.finding.proposed").count() == 1


def test_a_failing_rule_is_reported_and_the_others_still_run(site, broken):
    assessment = make_assessment(site)
    report = findings.run_rules(MANAGER, assessment.pk, only=[broken, "no-recent-drill"])
    assert list(report.failed) == [broken]
    assert "A rule that always fails" in report.failed[broken]
    assert "the database went away" in report.failed[broken]
    assert Finding.objects.filter(assessment=assessment, rule="no-recent-drill").count() == 1
    entry = ledger.entries_for("risk_assessment", str(assessment.pk))[-1]
    assert broken in ledger.entry_data(entry)["failed"]


def test_a_rule_giving_something_else_than_a_proposal_fails_alone(site):
    @rule("test-odd", "A rule that gives a string")
    def _odd(ctx: Context) -> Iterator[Any]:
        yield "not a proposal"

    try:
        report = findings.run_rules(
            MANAGER, make_assessment(site).pk, only=["test-odd", "no-recent-drill"]
        )
    finally:
        rules.RULES.pop("test-odd", None)
    assert list(report.failed) == ["test-odd"]
    assert "no-recent-drill" in report.proposed


def test_thresholds_are_per_site(site, frozen_clock):
    branch = make_site("branch")
    for where in (site, branch):
        _exercise(where, started_days_ago=100)
    thresholds.set_thresholds(MANAGER, site, {"drill_months": 3})

    assert findings.run_rules(MANAGER, make_assessment(site).pk, only=["no-recent-drill"]).proposed[
        "no-recent-drill"
    ]
    assert (
        findings.run_rules(MANAGER, make_assessment(branch).pk, only=["no-recent-drill"]).proposed[
            "no-recent-drill"
        ]
        == []
    )


def test_set_thresholds_validates_names_and_values_and_resets_with_none(site):
    with pytest.raises(ServiceError) as unknown:
        thresholds.set_thresholds(MANAGER, site, {"drill_weeks": 3})
    assert unknown.value.field == "thresholds" and "drill_months" in str(unknown.value)
    for bad, field in (
        ({"drill_months": 0}, "thresholds.drill_months"),
        ({"drill_months": 2.5}, "thresholds.drill_months"),
        ({"unscreened_share_max": 1.5}, "thresholds.unscreened_share_max"),
        ({"door_alarm_repeats": True}, "thresholds.door_alarm_repeats"),
        ({"quarantine_min_hours": "4"}, "thresholds.quarantine_min_hours"),
    ):
        with pytest.raises(ServiceError) as refused:
            thresholds.set_thresholds(MANAGER, site, bad)
        assert refused.value.field == field
    assert thresholds.site_overrides(site) == {}

    now = thresholds.set_thresholds(MANAGER, site.code, {"drill_months": 3, "dprime_bar": 1.8})
    assert (
        now["drill_months"] == 3 and now["dprime_bar"] == 1.8 and now["stale_credential_days"] == 90
    )
    now = thresholds.set_thresholds(MANAGER, site, {"drill_months": None})
    assert now["drill_months"] == 6 and thresholds.site_overrides(site) == {"dprime_bar": 1.8}
    assert [e.action for e in ledger.entries_for("site", site.code)][-2:] == [
        "risk.thresholds.changed",
        "risk.thresholds.changed",
    ]
    with pytest.raises(Forbidden):
        thresholds.set_thresholds(AUDITOR, site, {"drill_months": 3})
    with pytest.raises(NotFound):
        thresholds.set_thresholds(MANAGER, "nowhere", {"drill_months": 3})


def test_a_run_is_refused_for_a_stranger_an_unknown_rule_or_a_final_assessment(site):
    assessment = make_assessment(site)
    with pytest.raises(Forbidden):
        findings.run_rules(AUDITOR, assessment.pk)
    with pytest.raises(ServiceError) as unknown:
        findings.run_rules(MANAGER, assessment.pk, only=["no-such-rule"])
    assert unknown.value.field == "only"
    with pytest.raises(NotFound):
        findings.run_rules(MANAGER, 999_999)
    complete(MANAGER, assessment)
    with pytest.raises(Conflict):
        rule_runs.run_rules(MANAGER, assessment.pk)
    assert not Finding.objects.filter(assessment=assessment).exists()


def test_clean_site_data_gives_no_findings(site, frozen_clock):
    """Every rule at once on a site where all is well: nothing is proposed."""
    controller = _controller(site)
    _door(site, "quarantine", location="quarantine")
    room = _level(site, "quarantine team", ["quarantine"])
    course = _screening_course()
    tess = _user("tess", Role.SCREENER)
    _certificate(course, tess, 300)
    card = _card(
        access.credentials.create_cardholder(MANAGER, name="Tess", user_id=tess.pk).pk, 1, room
    )
    _trials(tess, site, hits=19, misses=1, false_alarms=1, rejections=19)
    _handed_over(site, screened=True)
    _release(site, frozen_clock, hours=6)
    cam = _camera(site, "dock-cam", "online")
    Region.objects.create(
        camera=cam, kind="zone", name="bench", rules=[{"type": "loitering", "seconds": 60}]
    )
    _exercise(site, started_days_ago=10)
    _use(site, controller, card, clock.now())
    _checkpoint()

    report = findings.run_rules(MANAGER, make_assessment(site).pk)

    assert report.failed == {}
    assert {slug: p for slug, p in report.proposed.items() if p} == {}
    assert set(report.proposed) == set(rules.load())


def test_a_rule_whose_query_fails_does_not_spoil_the_run(site):
    """On PostgreSQL a failed statement aborts the transaction; each rule runs in a savepoint."""
    from django.db import connection

    @rule("test-bad-sql", "A rule whose query fails")
    def _bad_sql(ctx: Context) -> Iterator[Proposed]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM risk_no_such_table")
        yield from ()

    assessment = make_assessment(site)
    try:
        with transaction.atomic():  # as a request's transaction would be
            report = findings.run_rules(
                MANAGER, assessment.pk, only=["test-bad-sql", "no-recent-drill"]
            )
    finally:
        rules.RULES.pop("test-bad-sql", None)
    assert list(report.failed) == ["test-bad-sql"]
    assert Finding.objects.filter(assessment=assessment, rule="no-recent-drill").count() == 1
