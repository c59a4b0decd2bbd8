"""Playbooks: the shipped defaults, copying onto an incident, checking steps off by role, and the
acting steps for real (doors locked in the access tables, hand-overs refused while the site's
mail is held, messages queued), simulated in an unarmed exercise, and failing without losing the
check-off."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

from mailwarden.access.models import SiteRules
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.ledger import entry_data
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.custody import holds, pickup
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem, SiteMailHold
from mailwarden.custody.states import State
from mailwarden.incidents.models import (
    Delivery,
    IncidentStep,
    IncidentType,
    Playbook,
    PlaybookStep,
    TimelineEntry,
)
from mailwarden.incidents.queries import playbooks as queries
from mailwarden.incidents.services import playbooks
from mailwarden.incidents.services.playbook_defaults import DEFAULT_PLAYBOOKS
from tests.factories import ADMIN
from tests.incidents.conftest import CLERK, MANAGER, OPERATOR
from tests.incidents.playbooks_helpers import (
    add_doors,
    open_incident,
    person,
    ready_item,
    staff,
)

pytestmark = pytest.mark.django_db

SCREENER = Actor("user", "sam", frozenset({Role.SCREENER}), user_id=9105)

SUSPICIOUS_PACKAGE_ORDER = [
    "do not open, shake or smell",
    "isolate it and leave the room",
    "shut off ventilation",
    "evacuate to the set distance",
    "call law enforcement",
    "list everyone present",
    "preserve evidence",
    "wash hands",
]


def _position(incident, action: str) -> int:
    return IncidentStep.objects.get(incident=incident, action=action).position


# ----------------------------------------------------------------------------- the defaults


def test_the_migration_installed_a_playbook_for_every_incident_type():
    assert set(Playbook.objects.values_list("incident_type", flat=True)) == set(IncidentType.values)
    for playbook in Playbook.objects.all():
        steps = list(playbook.steps.order_by("position"))
        assert len(steps) >= 5, playbook.name
        assert [s.position for s in steps] == list(range(1, len(steps) + 1))
        assert all(s.role in playbooks.STEP_ROLES for s in steps)
        assert all(0 <= s.target_minutes <= 1440 for s in steps)
        assert any(s.action for s in steps), f"{playbook.name} has no acting step"
        for s in steps:
            # Each default passes the same checks as an edited playbook.
            playbooks._check_step(
                0,
                playbooks.StepRequest(
                    s.title, s.role, s.target_minutes, s.instructions, s.action, s.message
                ),
            )


def test_the_suspicious_package_playbook_follows_the_guidance_in_order():
    steps = PlaybookStep.objects.filter(playbook__incident_type="suspicious_package").order_by(
        "position"
    )
    titles = [s.title.lower() for s in steps]
    found = [
        next(i for i, t in enumerate(titles) if t.startswith(want))
        for want in SUSPICIOUS_PACKAGE_ORDER
    ]
    assert found == sorted(found)
    actions = {s.action for s in steps}
    assert {"hold_site_mail", "send_message"} <= actions
    targets = [s.target_minutes for s in steps]
    assert targets == sorted(targets)


def test_acting_steps_of_the_defaults():
    def actions(kind: str) -> set[str]:
        return set(
            PlaybookStep.objects.filter(playbook__incident_type=kind).values_list(
                "action", flat=True
            )
        )

    assert "lockdown_site" in actions("forced_entry")
    assert "lockdown_site" in actions("bomb_threat")
    assert "hold_site_mail" in actions("suspicious_substance")
    for kind in IncidentType.values:
        assert "send_message" in actions(kind), kind


def test_installing_adds_only_what_is_missing():
    edited = Playbook.objects.get(incident_type="bomb_threat")
    edited.name = "Our bomb threat plan"
    edited.save()
    Playbook.objects.filter(incident_type="unattended_item").delete()
    created = playbooks.install_default_playbooks(MANAGER)
    assert [p.incident_type for p in created] == ["unattended_item"]
    assert Playbook.objects.get(incident_type="bomb_threat").name == "Our bomb threat plan"
    assert playbooks.install_default_playbooks(MANAGER) == []
    assert LedgerEntry.objects.filter(action="incidents.playbook.installed").count() == 1
    with pytest.raises(Forbidden):
        playbooks.install_default_playbooks(OPERATOR)


def test_every_default_step_says_what_to_do():
    for data in DEFAULT_PLAYBOOKS:
        assert data["description"], data["name"]
        for step in data["steps"]:
            assert 10 <= len(step["instructions"]) <= 400, step["title"]


def test_the_migration_adds_only_missing_playbooks():
    from django.apps import apps

    migration = importlib.import_module("mailwarden.incidents.migrations.0007_playbooks")
    edited = Playbook.objects.get(incident_type="bomb_threat")
    edited.name = "Our bomb threat plan"
    edited.save()
    Playbook.objects.filter(incident_type="tampering_theft").delete()
    migration.install_missing(apps, None)
    assert Playbook.objects.count() == 6
    assert Playbook.objects.get(incident_type="bomb_threat").name == "Our bomb threat plan"
    assert Playbook.objects.get(incident_type="tampering_theft").steps.count() == 7


# ----------------------------------------------------------------------------- starting


def test_start_playbook_copies_the_steps_with_target_times(site, frozen_clock):
    incident = open_incident(site)
    steps = list(incident.steps.order_by("position"))
    template = list(
        PlaybookStep.objects.filter(playbook__incident_type="suspicious_package").order_by(
            "position"
        )
    )
    assert [(s.position, s.title, s.role, s.action) for s in steps] == [
        (t.position, t.title, t.role, t.action) for t in template
    ]
    assert [s.target_at for s in steps] == [
        incident.opened_at + timedelta(minutes=t.target_minutes) for t in template
    ]
    assert TimelineEntry.objects.filter(incident=incident, kind="playbook").count() == 1
    # A repeat (another hook calling it) adds nothing.
    playbooks.start_playbook(ADMIN, incident)
    assert incident.steps.count() == len(template)


def test_an_edited_playbook_changes_later_incidents_only(site, frozen_clock):
    before = open_incident(site)
    playbook = Playbook.objects.get(incident_type="suspicious_package")
    playbooks.update_playbook(
        MANAGER,
        playbook.pk,
        playbooks.PlaybookRequest("Short", [playbooks.StepRequest("Only step", "screener", 1)]),
    )
    after = open_incident(site)
    assert before.steps.count() == 10
    assert list(after.steps.values_list("title", flat=True)) == ["Only step"]


def test_no_playbook_is_noted_on_the_timeline(site, frozen_clock):
    Playbook.objects.filter(incident_type="unattended_item").delete()
    incident = open_incident(site, "unattended_item")
    assert incident.steps.count() == 0
    line = TimelineEntry.objects.get(incident=incident, kind="playbook")
    assert line.text.startswith("No playbook for unattended item")


# ----------------------------------------------------------------------------- checking off


def test_a_step_is_checked_off_by_its_role_with_time_and_note(site, frozen_clock):
    incident = open_incident(site)
    step = playbooks.complete_step(SCREENER, incident.pk, 1, "left it on the bench")
    assert (step.done_at, step.done_by, step.done_note) == (
        frozen_clock.current,
        "user:sam",
        "left it on the bench",
    )
    assert step.action_status == ""
    line = TimelineEntry.objects.get(incident=incident, kind="step")
    assert line.text == "Step 1 done: Do not open, shake or smell it — left it on the bench"
    entry = LedgerEntry.objects.get(action="incidents.step.completed")
    assert entry.subject_id == incident.reference


def test_other_roles_are_refused_and_managers_may_do_any_step(site, frozen_clock):
    incident = open_incident(site)
    with pytest.raises(Forbidden) as refused:
        playbooks.complete_step(CLERK, incident.pk, 1)
    assert refused.value.message == "step 1 is for the screener (or a security manager)"
    with pytest.raises(Forbidden):
        playbooks.complete_step(OPERATOR, incident.pk, 1)
    playbooks.complete_step(MANAGER, incident.pk, 1)
    with pytest.raises(Conflict) as again:
        playbooks.complete_step(SCREENER, incident.pk, 1)
    assert "was checked off by user:mona" in again.value.message
    with pytest.raises(NotFound):
        playbooks.complete_step(MANAGER, incident.pk, 99)
    with pytest.raises(NotFound):
        playbooks.complete_step(MANAGER, 999_999, 1)
    with pytest.raises(Forbidden):
        playbooks.complete_step(Actor("user", "r", frozenset({Role.RECIPIENT})), incident.pk, 2)
    with pytest.raises(Forbidden) as device:
        playbooks.complete_step(Actor.device("edge-1", Role.SECURITY_OPERATOR), incident.pk, 3)
    assert "not a device token" in device.value.message


def test_late_steps_are_flagged(site, frozen_clock):
    incident = open_incident(site)
    assert list(queries.late_steps()) == []
    frozen_clock.advance(minutes=4)
    late = list(queries.late_steps())
    # Steps due at 0, 2 and 3 minutes are late; the one due at 5 is not yet.
    assert [s.position for s in late] == [1, 2, 3]
    playbooks.complete_step(SCREENER, incident.pk, 1)
    assert [s.position for s in queries.late_steps()] == [2, 3]
    done = IncidentStep.objects.get(incident=incident, position=1)
    assert not queries.is_late(done, incident, frozen_clock.current)
    line = TimelineEntry.objects.get(incident=incident, kind="step")
    assert line.text == "Step 1 done: Do not open, shake or smell it (4 min late)"
    incident.state = "resolved"
    incident.save()
    assert list(queries.late_steps()) == []


def test_the_late_steps_job_notes_each_late_step_once(site, frozen_clock):
    incident = open_incident(site)
    assert playbooks.note_late_steps() == 0
    frozen_clock.advance(minutes=2, seconds=30)
    assert playbooks.note_late_steps() == 2
    assert playbooks.note_late_steps() == 0
    lines = list(TimelineEntry.objects.filter(incident=incident, kind="late").order_by("id"))
    assert [line.text for line in lines] == [
        "Step 1 is late: Do not open, shake or smell it (due 09:00 UTC, screener)",
        "Step 2 is late: Isolate it and leave the room (due 09:02 UTC, screener)",
    ]
    assert {line.by for line in lines} == {"job:playbooks"}
    playbooks.complete_step(OPERATOR, incident.pk, 3)  # done before it runs late
    frozen_clock.advance(minutes=10)
    assert playbooks.note_late_steps() == 4  # steps 4 to 7, due at 5 and 10 minutes


def test_the_late_steps_job_runs_on_every_tick(site, frozen_clock):
    from mailwarden.core import tasks

    open_incident(site)
    assert tasks.tick(frozen_clock.advance(minutes=1)).jobs["incidents.late_steps"] == 1


# ----------------------------------------------------------------------------- actions


def test_lockdown_step_locks_the_sites_doors(site, frozen_clock):
    add_doors(site, 4)
    incident = open_incident(site, "forced_entry")
    position = _position(incident, "lockdown_site")
    step = playbooks.complete_step(OPERATOR, incident.pk, position)
    assert step.action_status == "done"
    assert step.action_result == "locked 4 doors at Site hq (site lockdown)"
    rules = SiteRules.objects.get(site=site)
    assert rules.lockdown and rules.lockdown_by == "user:otto"
    assert rules.lockdown_reason.startswith(f"{incident.reference} step {position}")
    assert LedgerEntry.objects.filter(action="access.lockdown.started").exists()
    action = TimelineEntry.objects.get(incident=incident, kind="action")
    assert action.text.endswith("done: locked 4 doors at Site hq (site lockdown)")


def test_hold_step_stops_every_hand_over_until_released(site, frozen_clock):
    item = ready_item(site)
    incident = open_incident(site)
    position = _position(incident, "hold_site_mail")
    step = playbooks.complete_step(OPERATOR, incident.pk, position)
    assert step.action_status == "done"
    hold = SiteMailHold.objects.get()
    assert step.action_result == (
        f"held all mail at Site hq (hold {hold.pk}): 1 item cannot be handed over until the "
        "hold is released"
    )
    assert hold.ref == f"incident:{incident.pk}" and hold.active
    placed = LedgerEntry.objects.get(action="custody.site_hold.placed")
    assert entry_data(placed)["hold"] == hold.pk
    clerk = Actor("user", "cleo", frozenset({Role.CLERK}))
    with pytest.raises(holds.SiteHeld) as refused:
        custody.hand_over(clerk, item.uid, method="code", proof=pickup.pickup_code(item.uid))
    assert f"hold {hold.pk}: incident {incident.reference}" in refused.value.message
    assert refused.value.status == 409
    # The refusal counted nothing against the item.
    assert MailItem.objects.get(pk=item.pk).pickup_failures == 0
    with pytest.raises(Forbidden):
        playbooks.release_incident_hold(OPERATOR, incident.pk)
    playbooks.release_incident_hold(MANAGER, incident.pk, reason="police cleared the site")
    assert (
        entry_data(LedgerEntry.objects.get(action="custody.site_hold.released"))["ref"] == hold.ref
    )
    done = custody.hand_over(clerk, item.uid, method="code", proof=pickup.pickup_code(item.uid))
    assert done.state == State.PICKED_UP
    with pytest.raises(Conflict):
        playbooks.release_incident_hold(MANAGER, incident.pk)


def test_site_holds_directly(site, frozen_clock):
    hold = holds.place_site_hold(OPERATOR, site.code, reason="suspect parcel", ref="manual:1")
    with pytest.raises(Conflict):
        holds.place_site_hold(OPERATOR, site.code, reason="again", ref="manual:1")
    with pytest.raises(ServiceError) as empty:
        holds.place_site_hold(OPERATOR, site.code, reason=" ")
    assert empty.value.field == "reason"
    with pytest.raises(NotFound):
        holds.place_site_hold(OPERATOR, "nowhere", reason="x")
    with pytest.raises(Forbidden):
        holds.place_site_hold(SCREENER, site.code, reason="x")
    holds.release_site_hold(MANAGER, hold.pk)
    with pytest.raises(Conflict):
        holds.release_site_hold(MANAGER, hold.pk)
    with pytest.raises(NotFound):
        holds.release_site_hold(MANAGER, 999_999)


def test_send_message_step_queues_to_the_roles_staff(site, frozen_clock):
    managers = [
        staff(Role.SECURITY_MANAGER, "mgr1", "mgr1@example.org"),
        staff(Role.SECURITY_MANAGER, "mgr2"),
    ]
    gone = staff(Role.SECURITY_MANAGER, "mgr3", "mgr3@example.org")
    gone.is_active = False
    gone.save()
    staff(Role.SECURITY_OPERATOR, "op1", "op1@example.org")
    incident = open_incident(site)
    position = _position(incident, "send_message")
    step = playbooks.complete_step(MANAGER, incident.pk, position)
    assert step.action_status == "done"
    assert step.action_result == "queued 3 messages to 2 people holding the security manager role"
    sent = Delivery.objects.order_by("channel", "address")
    assert {(d.channel, d.address) for d in sent} == {
        ("email", "mgr1@example.org"),
        ("inapp", str(managers[0].pk)),
        ("inapp", str(managers[1].pk)),
    }
    first = sent.first()
    assert first is not None
    assert first.subject == f"{incident.reference}: Alert the security team"
    assert first.text.startswith(
        f"Incident {incident.reference} at Site hq: Leaking parcel at the dock. Its playbook"
    )
    assert first.ref == f"incident:{incident.pk}" and not first.exercise


def test_send_message_to_nobody_fails_but_keeps_the_check_off(site, frozen_clock):
    incident = open_incident(site)
    position = _position(incident, "send_message")
    step = playbooks.complete_step(MANAGER, incident.pk, position)
    assert step.done_at == frozen_clock.current
    assert (step.action_status, step.action_result) == (
        "failed",
        "nobody holds the security manager role",
    )
    assert IncidentStep.objects.get(pk=step.pk).done_by == "user:mona"
    assert Delivery.objects.count() == 0


def test_a_failing_lockdown_is_recorded_and_the_step_stays_done(site, frozen_clock):
    add_doors(site, 2)
    incident = open_incident(site, "bomb_threat")
    from mailwarden.access.services import lockdown

    lockdown.lockdown_site(MANAGER, site.code, confirm=True, reason="earlier")
    position = _position(incident, "lockdown_site")
    step = playbooks.complete_step(OPERATOR, incident.pk, position, "tried the button")
    stored = IncidentStep.objects.get(pk=step.pk)
    assert stored.done_at is not None and stored.done_note == "tried the button"
    assert (stored.action_status, stored.action_result) == (
        "failed",
        "Site hq is in lockdown already",
    )
    assert SiteRules.objects.get(site=site).lockdown_reason == "earlier"
    entry = LedgerEntry.objects.get(action="incidents.step.completed")
    assert entry_data(entry)["action_status"] == "failed"


def test_an_unarmed_exercise_only_simulates_doors_and_items(site, frozen_clock):
    add_doors(site, 4)
    ready_item(site)
    staff(Role.SECURITY_MANAGER, "mgr1", "mgr1@example.org")
    drill = open_incident(site, "forced_entry", exercise=True)
    lock = playbooks.complete_step(OPERATOR, drill.pk, _position(drill, "lockdown_site"))
    hold = playbooks.complete_step(OPERATOR, drill.pk, _position(drill, "hold_site_mail"))
    assert (lock.action_status, lock.action_result) == (
        "simulated",
        "exercise not armed: would lock 4 doors at Site hq; nothing was changed",
    )
    assert (hold.action_status, hold.action_result) == (
        "simulated",
        "exercise not armed: would hold all mail at Site hq (1 item there now); nothing was "
        "changed",
    )
    assert not SiteRules.objects.filter(site=site, lockdown=True).exists()
    assert not SiteMailHold.objects.exists()
    # Messages of an exercise are sent, labelled.
    message = playbooks.complete_step(MANAGER, drill.pk, _position(drill, "send_message"))
    assert message.action_status == "done"
    assert {d.exercise for d in Delivery.objects.all()} == {True}
    assert Delivery.objects.first().subject.startswith("EXERCISE")  # type: ignore[union-attr]


def test_an_armed_exercise_acts(site, frozen_clock):
    add_doors(site, 3)
    drill = open_incident(site, "forced_entry", exercise=True)
    with pytest.raises(Forbidden):
        playbooks.arm_exercise(OPERATOR, drill.pk)
    playbooks.arm_exercise(MANAGER, drill.pk)
    with pytest.raises(Conflict):
        playbooks.arm_exercise(MANAGER, drill.pk)
    step = playbooks.complete_step(OPERATOR, drill.pk, _position(drill, "lockdown_site"))
    assert (step.action_status, step.action_result) == (
        "done",
        "locked 3 doors at Site hq (site lockdown)",
    )
    assert SiteRules.objects.get(site=site).lockdown
    assert TimelineEntry.objects.filter(incident=drill, kind="exercise").exists()
    assert LedgerEntry.objects.filter(action="incidents.exercise.armed").exists()
    real = open_incident(site)
    with pytest.raises(ServiceError) as not_drill:
        playbooks.arm_exercise(MANAGER, real.pk)
    assert "not an exercise" in not_drill.value.message


def test_a_person_checks_off_through_their_groups(site, frozen_clock):
    user = staff(Role.SCREENER, "sam2")
    incident = open_incident(site)
    step = playbooks.complete_step(person(user), incident.pk, 1)
    assert step.done_by == "user:sam2"


# ----------------------------------------------------------------------------- editing


def _request(**changes: object) -> playbooks.PlaybookRequest:
    step = {
        "title": "Tell the team",
        "role": "security_operator",
        "target_minutes": 5,
        "action": "send_message",
        "message": "At {site}: {title} ({reference})",
    }
    step.update(changes)
    return playbooks.PlaybookRequest(
        "Edited",
        [
            playbooks.StepRequest("First", "clerk", 0),
            playbooks.StepRequest(**step),  # type: ignore[arg-type]
        ],
    )


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"role": "janitor"}, "steps.1.role", "unknown role 'janitor'"),
        ({"role": "recipient"}, "steps.1.role", "unknown role"),
        ({"target_minutes": -1}, "steps.1.target_minutes", "from 0 to 1440"),
        ({"target_minutes": 1441}, "steps.1.target_minutes", "from 0 to 1440"),
        ({"action": "launch"}, "steps.1.action", "unknown action 'launch'"),
        ({"message": ""}, "steps.1.message", "must not be empty"),
        ({"message": "Go to {room}"}, "steps.1.message", "unknown placeholder {room}"),
        ({"message": "Broken {"}, "steps.1.message", "not a valid template"),
        ({"action": "", "message": "x"}, "steps.1.message", "only a send_message step"),
        ({"title": " "}, "steps.1.title", "must not be empty"),
        (
            {"action": "lockdown_site", "role": "clerk", "message": ""},
            "steps.1.role",
            "the mailroom clerk may not lock down the site's doors",
        ),
    ],
)
def test_editing_is_validated(site, changes, field, words):
    playbook = Playbook.objects.get(incident_type="unattended_item")
    with pytest.raises(ServiceError) as refused:
        playbooks.update_playbook(MANAGER, playbook.pk, _request(**changes))
    assert refused.value.field == field
    assert words in refused.value.message
    assert playbook.steps.count() == 7


def test_editing_replaces_steps_and_is_on_the_ledger(site):
    playbook = Playbook.objects.get(incident_type="unattended_item")
    with pytest.raises(Forbidden):
        playbooks.update_playbook(OPERATOR, playbook.pk, _request())
    with pytest.raises(ServiceError) as empty:
        playbooks.update_playbook(MANAGER, playbook.pk, playbooks.PlaybookRequest("x", []))
    assert empty.value.field == "steps"
    with pytest.raises(NotFound):
        playbooks.update_playbook(MANAGER, 999_999, _request())
    playbooks.update_playbook(MANAGER, playbook.pk, _request())
    steps = list(playbook.steps.order_by("position"))
    assert [(s.position, s.title, s.action) for s in steps] == [
        (1, "First", ""),
        (2, "Tell the team", "send_message"),
    ]
    entry = LedgerEntry.objects.get(action="incidents.playbook.updated")
    assert len(entry_data(entry)["before"]["steps"]) == 7
    assert entry_data(entry)["after"]["name"] == "Edited"
    assert Playbook.objects.get(pk=playbook.pk).updated_by == "user:mona"
