"""The demo's incident response: its alarm rules and live alarms (a critical one opens an
incident by the rule once delivered), and its past seeded through the services: an on-call
schedule and policy, closed incidents, a drill with its report, a site message with answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import clock, ledger, outbox
from mailwarden.core.demo import seed
from mailwarden.incidents import cap
from mailwarden.incidents.models import (
    AfterActionReport,
    Alarm,
    AlarmIncident,
    AlarmRule,
    Broadcast,
    Escalation,
    EscalationPolicy,
    Exercise,
    Incident,
    IncidentStep,
    OnCallSchedule,
    RollCallAnswer,
)
from mailwarden.incidents.services import broadcasts

pytestmark = pytest.mark.django_db

LIVE_TITLE = "Do not open: MW-"


def seed_small():
    return seed(items=20, recipients=12, seed=3, skip={"access", "training", "risk"})


def test_the_demo_console_opens_with_the_demos_own_alarms():
    result = seed_small()
    assert AlarmRule.objects.count() == 2
    live = list(Alarm.objects.filter(title__startswith=LIVE_TITLE))
    assert len(live) == 2
    for alarm in live:
        assert alarm.source == "screening" and alarm.severity == 4
        assert alarm.acknowledged_at is None
        # Critical: the demo's first rule decides to open an incident.
        assert alarm.action == "open_incident"
    assert "Raised 3 alarms in the alarm console." in result.summary()
    # The past's one alarm (the forced dock door) was acknowledged then.
    past = Alarm.objects.exclude(title__startswith=LIVE_TITLE).get()
    assert past.acknowledged_at is not None and past.rule_incident.incident.state == "closed"
    paged = set(Escalation.objects.values_list("ref", "state"))

    # What the demo's dispatcher does once it runs: the live critical alarms open incidents by
    # the rule, which page the on-call policy; the past is not paged again.
    outbox.dispatch_due(limit=5000)
    outbox.dispatch_due(limit=5000)  # the incidents' own events, emitted by the first round
    assert sorted(Alarm.objects.values_list("count", flat=True)) == [1, 1, 1]
    for alarm in live:
        incident = AlarmIncident.objects.get(alarm=alarm).incident
        assert incident.state == "open" and not incident.exercise
        assert Escalation.objects.get(ref=f"incident:{incident.pk}").state == "active"
    assert set(Escalation.objects.values_list("ref", "state")) >= paged
    assert {s for r, s in paged} == {"acknowledged"}
    assert seed(items=20, recipients=12, seed=3).created is False


def test_the_demo_has_a_past_of_closed_incidents():
    result = seed_small()
    now = clock.now()
    closed = list(Incident.objects.filter(state="closed", exercise=False))
    assert len(closed) == 3
    for incident in closed:
        # Dated in the demo's history, in order.
        assert incident.opened_at < incident.closed_at < now - timedelta(days=3)
        assert incident.timeline.filter(kind="note").exists()
        assert IncidentStep.objects.filter(incident=incident, done_at__isnull=False).exists()
        # Paged and acknowledged at the time.
        page = Escalation.objects.get(ref=f"incident:{incident.pk}")
        assert page.state == "acknowledged" and page.ended_at < now - timedelta(days=3)
    forced = next(i for i in closed if i.type == "forced_entry")
    report = AfterActionReport.objects.get(incident=forced)
    assert report.strengths and report.improvements and report.actions.count() == 2
    # Nobody answered level 1 that night: level 2 paged the manager and the MQTT topic.
    assert Escalation.objects.get(incident=forced).level == 1
    assert "closed incidents" in result.summary()


def test_the_demo_has_a_drill_with_its_report():
    seed_small()
    exercise = Exercise.objects.select_related("incident").get()
    incident = exercise.incident
    assert incident is not None and incident.exercise and incident.state == "closed"
    assert exercise.type == "drill" and incident.closed_at < clock.now() - timedelta(days=1)
    steps = IncidentStep.objects.filter(incident=incident)
    assert steps.exists() and not steps.filter(done_at__isnull=True).exists()
    # Unarmed: the lockdown step only simulated.
    assert set(steps.exclude(action="").values_list("action_status", flat=True)) <= {
        "simulated",
        "done",
    }
    report = AfterActionReport.objects.get(incident=incident)
    assert report.strengths and report.improvements
    assert {o["rating"] for o in report.objectives} >= {"met", "partially_met"}
    actions = list(AfterActionReport.objects.get(incident=incident).actions.all())
    assert len(actions) == 2 and all(a.owner and a.due_on for a in actions)
    assert {a.status for a in actions} == {"open", "done"}


def test_the_demo_has_a_site_message_with_answers():
    seed_small()
    evacuate = Broadcast.objects.get(kind="evacuate")
    assert evacuate.exercise and evacuate.sent_at < clock.now() - timedelta(days=1)
    answers = RollCallAnswer.objects.filter(broadcast=evacuate)
    assert answers.count() == evacuate.recipients == 12
    answered = answers.exclude(answer="")
    assert 0 < answered.count() < answers.count()
    assert answered.filter(answer="safe").exists()
    # Its CAP alert, and the all clear's that refers to it, validate.
    clear = Broadcast.objects.get(kind="all_clear")
    assert cap.validate(broadcasts.cap_alert(evacuate)) == []
    xml = broadcasts.cap_alert(clear)
    assert cap.validate(xml) == [] and broadcasts.cap_identifier(evacuate).encode() in xml


def test_the_demo_has_an_on_call_schedule_and_policy():
    seed_small()
    schedule = OnCallSchedule.objects.get()
    layer = schedule.layers.get()
    assert len(layer.members) == 2
    policy = EscalationPolicy.objects.get()
    levels = list(policy.levels.order_by("position"))
    assert [[t.kind for t in level.targets.all()] for level in levels] == [
        ["user"],
        ["user", "mqtt"],
    ]
    assert policy.matches.get().site.code == "hq"


def test_the_ledger_verifies_after_seeding():
    seed_small()
    assert ledger.verify().ok
