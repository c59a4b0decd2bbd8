"""Controls: recorded with a checked link and measure, changed, and evaluated against live
evidence. THE test: a control claimed implemented whose evidence contradicts it is flagged and
``risk.control.contradicted`` is sent once; one whose evidence agrees is not flagged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.access.models import AlarmKind
from mailwarden.core import ledger
from mailwarden.core.errors import Forbidden, NotFound, ServiceError
from mailwarden.core.models import OutboxEvent
from mailwarden.risk import links
from mailwarden.risk.evidence import MEASURES, Measure, measures
from mailwarden.risk.models import Control
from mailwarden.risk.queries import controls as queries
from mailwarden.risk.services import controls
from tests.factories import AUDITOR, MANAGER, make_site
from tests.risk import evidence_data as made
from tests.training.helpers_b import fast_passwords  # noqa: F401

pytestmark = pytest.mark.django_db

CONTRADICTED = "risk.control.contradicted"


@pytest.fixture
def hq(frozen_clock):
    site = make_site("hq")
    made.door(site)
    return site


@pytest.fixture
def period(frozen_clock):
    end = frozen_clock.current
    return end - timedelta(days=30), end


def door_control(**kw):
    kw.setdefault("title", "Quarantine door stays shut")
    return controls.record_control(
        MANAGER,
        site="hq",
        link_kind="access.door",
        link_ref="quarantine-door",
        measure="door_alarms",
        **kw,
    )


def sent(topic=CONTRADICTED):
    return list(OutboxEvent.objects.filter(topic=topic).values_list("payload", flat=True))


# ----------------------------------------------------------------------------- THE test


def test_a_claimed_control_the_evidence_contradicts_is_flagged_and_announced(hq, period):
    _, end = period
    cage = hq.doors.get(code="quarantine-door")
    for days in (1, 2, 3):
        made.alarm(hq, AlarmKind.FORCED_OPEN, end - timedelta(days=days), cage)
    control = door_control(expectation={"max": 0})

    evaluated = controls.evaluate(MANAGER, control.pk, *period)

    assert evaluated.contradicted is True
    assert evaluated.last_evidence["value"] == 3 and evaluated.last_evidence["meets"] is False
    assert "3 forced-open" in evaluated.last_evidence["summary"]
    [payload] = sent()
    assert payload["control"] == control.pk and payload["site"] == "hq"
    assert payload["measure"] == "door_alarms" and "3 forced-open" in payload["summary"]
    actions = [e.action for e in ledger.entries_for("risk_control", str(control.pk))]
    assert actions == ["risk.control.recorded", "risk.control.evaluated", CONTRADICTED]
    assert queries.flagged_count("hq") == 1

    # Still contradicted on the next evaluation: flagged, but not announced a second time.
    again = controls.evaluate(MANAGER, control.pk, *period)
    assert again.contradicted is True and len(sent()) == 1


def test_a_claimed_control_the_evidence_agrees_with_is_not_flagged(hq, period):
    control = door_control(expectation={"max": 0})
    evaluated = controls.evaluate(MANAGER, control.pk, *period)
    assert evaluated.contradicted is False
    assert evaluated.last_evidence["value"] == 0 and evaluated.last_evidence["meets"] is True
    assert sent() == [] and queries.flagged_count() == 0


def test_a_planned_control_is_not_contradicted_by_missing_evidence(hq, period):
    _, end = period
    made.alarm(hq, AlarmKind.HELD_OPEN, end - timedelta(hours=1), hq.doors.get())
    control = door_control(claimed="planned", expectation={"max": 0})
    evaluated = controls.evaluate(MANAGER, control.pk, *period)
    assert evaluated.last_evidence["meets"] is False and evaluated.contradicted is False
    assert sent() == []


def test_a_partly_implemented_control_can_be_contradicted(hq, period):
    control = controls.record_control(
        MANAGER, site="hq", title="Drills", claimed="partial", measure="drill_results"
    )
    assert controls.evaluate(MANAGER, control.pk, *period).contradicted is True


def test_the_flag_clears_when_the_evidence_recovers_or_the_claim_changes(hq, period, frozen_clock):
    start, end = period
    made.alarm(hq, AlarmKind.FORCED_OPEN, end - timedelta(days=1), hq.doors.get())
    control = door_control(expectation={"max": 0})
    assert controls.evaluate(MANAGER, control.pk, start, end).contradicted
    later = end + timedelta(days=40)
    assert not controls.evaluate(
        MANAGER, control.pk, later - timedelta(days=30), later
    ).contradicted
    assert controls.evaluate(MANAGER, control.pk, start, end).contradicted
    changed = controls.update_control(MANAGER, control.pk, claimed="planned")
    assert changed.contradicted is False
    actions = [e.action for e in ledger.entries_for("risk_control", str(control.pk))]
    assert actions.count("risk.control.flag_cleared") == 2
    # Claiming it again against the stored evidence raises the flag, and says so.
    assert controls.update_control(MANAGER, control.pk, claimed="implemented").contradicted
    assert len(sent()) == 3


def test_a_looser_expectation_judges_the_stored_evidence_at_once(hq, period):
    _, end = period
    made.alarm(hq, AlarmKind.FORCED_OPEN, end - timedelta(days=1), hq.doors.get())
    control = door_control(expectation={"max": 0})
    controls.evaluate(MANAGER, control.pk, *period)
    changed = controls.update_control(MANAGER, control.pk, expectation={"max": 5})
    assert changed.contradicted is False and changed.last_evidence["meets"] is True


def test_the_link_reference_narrows_the_measure_only_for_its_kind(hq, period):
    _, end = period
    made.alarm(hq, AlarmKind.FORCED_OPEN, end - timedelta(days=1), made.door(hq, "dock-door"))
    on_cage = door_control(expectation={"max": 0})
    site_wide = controls.record_control(
        MANAGER,
        site="hq",
        title="Doors",
        link_kind="screening.policy",
        measure="door_alarms",
        expectation={"max": 0},
    )
    assert controls.evaluate(MANAGER, on_cage.pk, *period).contradicted is False
    assert controls.evaluate(MANAGER, site_wide.pk, *period).contradicted is True


# ----------------------------------------------------------------------------- recording


def test_recording_takes_the_measures_default_expectation(hq):
    control = door_control()
    assert control.expectation == {"max": 2.0}
    assert control.claimed == "implemented" and control.created_by == "user:manager"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"site": "nowhere"}, "site"),
        ({"title": " "}, "title"),
        ({"claimed": "hoped"}, "claimed"),
        ({"link_kind": "access.moat", "link_ref": "x"}, "link_kind"),
        ({"link_kind": "access.door", "link_ref": "no-such-door"}, "link_ref"),
        ({"link_kind": "access.door"}, "link_ref"),
        ({"link_kind": "screening.policy", "link_ref": "x"}, "link_ref"),
        ({"link_ref": "quarantine-door"}, "link_ref"),
        ({"measure": "vibes"}, "measure"),
        ({"expectation": {"max": 1}}, "expectation"),
        ({"measure": "door_alarms", "expectation": {"most": 1}}, "expectation.most"),
        ({"measure": "door_alarms", "expectation": {"max": "one"}}, "expectation.max"),
        ({"measure": "door_alarms", "expectation": {}}, "expectation"),
        ({"measure": "door_alarms", "expectation": {"min": 3, "max": 1}}, "expectation.min"),
    ],
)
def test_bad_input_is_refused_naming_the_field(hq, kw, field):
    args = {"site": "hq", "title": "A control", **kw}
    with pytest.raises(ServiceError) as refused:
        controls.record_control(MANAGER, **args)
    assert refused.value.field == field


def test_only_a_security_manager_records_changes_and_evaluates(hq, period):
    with pytest.raises(Forbidden):
        controls.record_control(AUDITOR, site="hq", title="x")
    control = door_control()
    with pytest.raises(Forbidden):
        controls.update_control(AUDITOR, control.pk, title="y")
    with pytest.raises(Forbidden):
        controls.evaluate(AUDITOR, control.pk, *period)


def test_updating_refuses_unknown_fields_and_missing_controls(hq):
    control = door_control()
    with pytest.raises(ServiceError) as refused:
        controls.update_control(MANAGER, control.pk, site="annex")
    assert refused.value.field == "site"
    with pytest.raises(NotFound):
        controls.update_control(MANAGER, 9999, title="x")


def test_a_new_measure_takes_its_default_and_drops_the_old_evidence(hq, period):
    control = door_control()
    controls.evaluate(MANAGER, control.pk, *period)
    changed = controls.update_control(MANAGER, control.pk, measure="tailgating")
    assert changed.expectation == {"max": 0.0}
    assert changed.last_evidence == {} and changed.last_evaluated_at is None


def test_a_new_link_drops_the_old_evidence_and_its_flag(hq, period):
    _, end = period
    made.alarm(hq, AlarmKind.FORCED_OPEN, end - timedelta(days=1), hq.doors.get())
    control = door_control(expectation={"max": 0})
    assert controls.evaluate(MANAGER, control.pk, *period).contradicted
    made.door(hq, "dock-door")
    moved = controls.update_control(MANAGER, control.pk, link_ref="dock-door")
    assert moved.last_evidence == {} and moved.contradicted is False
    assert controls.update_control(MANAGER, control.pk, title="Dock door").last_evaluated_at is None


def test_evaluating_needs_a_measure_and_a_real_period(hq, period):
    start, end = period
    bare = controls.record_control(MANAGER, site="hq", title="Visitor log")
    with pytest.raises(ServiceError) as refused:
        controls.evaluate(MANAGER, bare.pk, start, end)
    assert refused.value.field == "measure"
    with pytest.raises(ServiceError) as backwards:
        controls.evaluate(MANAGER, door_control().pk, end, start)
    assert backwards.value.field == "end"


@pytest.fixture
def broken_measure(monkeypatch):
    """A measure that raises, registered like any other."""

    def read(site, start, end, ref):
        raise RuntimeError("the reader is unplugged")

    measures()  # the real ones first, so registering them later does not undo this one
    monkeypatch.setitem(MEASURES, "broken", Measure("broken", "Broken", "count", {"max": 0}, read))
    return "broken"


def test_a_measure_that_fails_is_stored_as_such_and_keeps_the_flag(hq, period, broken_measure):
    control = controls.record_control(MANAGER, site="hq", title="x", measure=broken_measure)
    evaluated = controls.evaluate(MANAGER, control.pk, *period)
    assert evaluated.last_evidence["error"] is True and evaluated.contradicted is False
    assert evaluated.last_evaluated_at is not None


# ----------------------------------------------------------------------------- sites and the job


def test_evaluating_a_site_measures_each_control_with_a_measure(hq, period):
    door_control(expectation={"max": 0})
    controls.record_control(MANAGER, site="hq", title="Drills held", measure="drill_results")
    controls.record_control(MANAGER, site="hq", title="Visitor log")  # nothing to measure
    make_site("annex")
    controls.record_control(MANAGER, site="annex", title="Elsewhere", measure="tailgating")
    evaluated = controls.evaluate_site(MANAGER, "hq", *period)
    assert sorted(c.title for c in evaluated) == ["Drills held", "Quarantine door stays shut"]
    assert [c.title for c in evaluated if c.contradicted] == ["Drills held"]
    with pytest.raises(NotFound):
        controls.evaluate_site(MANAGER, "nowhere", *period)


def test_the_job_measures_a_few_due_controls_per_tick(hq, frozen_clock, broken_measure):
    for n in range(controls.DUE_BATCH + 2):
        controls.record_control(MANAGER, site="hq", title=f"Door {n}", measure="door_alarms")
    controls.record_control(MANAGER, site="hq", title="Broken", measure=broken_measure)
    controls.record_control(MANAGER, site="hq", title="Visitor log")
    now = frozen_clock.current
    assert controls.evaluate_due(now) == controls.DUE_BATCH
    assert controls.evaluate_due(now) == 3  # the rest, the broken one included
    assert controls.evaluate_due(now) == 0  # nothing is due within the hour
    measured = Control.objects.exclude(measure="")
    assert all(c.last_evaluated_at == now for c in measured)
    job_entries = [e for e in ledger.entries_for("risk_control", str(measured[0].pk))]
    assert [e.action for e in job_entries] == ["risk.control.recorded"]  # no flag change
    assert controls.evaluate_due(now + controls.DUE_AFTER) == controls.DUE_BATCH


def test_the_periodic_job_is_the_evaluation_of_due_controls(hq, frozen_clock):
    from mailwarden.risk import jobs

    door_control()
    assert jobs.control_evidence(frozen_clock.current) == 1


def test_the_job_flags_and_announces_like_a_person(hq, frozen_clock):
    now = frozen_clock.current
    made.alarm(hq, AlarmKind.FORCED_OPEN, now - timedelta(days=1), hq.doors.get())
    control = door_control(expectation={"max": 0})
    assert controls.evaluate_due(now) == 1
    control.refresh_from_db()
    assert control.contradicted and len(sent()) == 1


# ----------------------------------------------------------------------------- links


def test_each_link_kind_checks_its_reference_and_gives_a_label_and_address(hq):
    level = made.level(hq)
    course = made.course()
    made.camera(hq)
    playbook = made.playbook()
    cases = {
        "access.door": ("quarantine-door", "Door Quarantine Door", "/access/log/?site=hq&door="),
        "access.level": (str(level.pk), "Access level Cage", f"/access/levels/{level.pk}/edit/"),
        "training.course": (course.slug, "Course Screener certification", "/training/manage/"),
        "screening.policy": ("", "Screening policy of Site hq", "/screening/policy/?site=hq"),
        "surveillance.camera": ("cam-dock", "Camera cam-dock", "/surveillance/cameras/cam-dock/"),
        "incidents.playbook": ("suspicious_package", f"Playbook {playbook.name}", "/incidents/"),
        "incidents.exercises": ("", "Exercises and drills", "/incidents/exercises/"),
    }
    assert set(cases) == set(links.KINDS)
    for kind, (ref, label, url) in cases.items():
        assert links.check(hq, kind, ref) == (kind, ref)
        found = links.resolve(hq, kind, ref)
        assert found is not None and found.label == label, kind
        assert found.url.startswith(url) or url in found.url, (kind, found.url)


@pytest.mark.parametrize(
    ("kind", "ref"),
    [
        ("access.door", "dock-door"),
        ("access.level", "abc"),
        ("access.level", "9999"),
        ("training.course", "no-course"),
        ("surveillance.camera", "cam-nowhere"),
        ("incidents.playbook", "alien_landing"),
    ],
)
def test_a_reference_naming_nothing_at_the_site_is_refused(hq, kind, ref):
    with pytest.raises(ServiceError) as refused:
        links.check(hq, kind, ref)
    assert refused.value.field == "link_ref"
    assert links.resolve(hq, kind, ref) is None


def test_a_door_at_another_site_is_not_a_reference_here(hq):
    made.door(make_site("annex"), "annex-door")
    with pytest.raises(ServiceError):
        links.check(hq, "access.door", "annex-door")


# ----------------------------------------------------------------------------- demo


def test_the_demo_records_and_measures_a_control_per_measure_once(hq, frozen_clock):
    from mailwarden.core.demo import DEMO_STAFF
    from mailwarden.core.plugins import DemoOptions
    from mailwarden.core.roles import Role
    from mailwarden.risk.demo import controls as demo
    from tests.training.helpers_b import person

    person(DEMO_STAFF[Role.SECURITY_MANAGER], Role.SECURITY_MANAGER)
    options = DemoOptions(seed=1, items=0, recipients=0, history_from=frozen_clock.current)
    summary = demo.seed(options)
    assert summary.startswith("8 controls at Site hq")
    assert set(Control.objects.values_list("measure", flat=True)) == set(measures())
    door = Control.objects.get(measure="door_alarms")
    assert (door.link_kind, door.link_ref) == ("access.door", "quarantine-door")
    assert demo.seed(options) == ""
