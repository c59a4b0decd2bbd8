"""Incidents: opening one (reference, timeline, ledger, catalogue event, playbook hook), moves
refused with the allowed ones named, assignees, notes, links checked against the lower apps,
evidence in the content-addressed store with its hash on the ledger, and tasks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from mailwarden.core import clock, ledger, media
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.incidents.models import (
    Alarm,
    Incident,
    IncidentEvidence,
    IncidentLink,
    IncidentState,
    TimelineEntry,
)
from mailwarden.incidents.services import incidents as services
from tests.incidents import incidents_fixtures
from tests.incidents.conftest import AUDITOR, CLERK, MANAGER, OPERATOR, deliver, forced
from tests.incidents.incidents_fixtures import open_one, staff

pytestmark = pytest.mark.django_db
world = incidents_fixtures.world


def entries(action: str) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(action=action).order_by("seq"))


def kinds(incident: Incident) -> list[str]:
    return list(TimelineEntry.objects.filter(incident=incident).values_list("kind", flat=True))


def test_opening_an_incident_records_it_everywhere(world, monkeypatch):
    started: list[str] = []
    monkeypatch.setattr(
        services.playbooks, "start_playbook", lambda actor, i: started.append(i.reference)
    )
    incident = open_one()
    assert incident.reference == f"INC-{incident.pk:05d}"
    assert (incident.state, incident.severity, incident.site) == ("open", 2, world.site)
    assert (incident.opened_at, incident.opened_by) == (clock.now(), "user:otto")
    assert started == [incident.reference]
    [entry] = entries("incidents.incident.opened")
    data = ledger.entry_data(entry)
    assert data["reference"] == incident.reference and data["type"] == "suspicious_package"
    [event] = OutboxEvent.objects.filter(topic="incidents.incident.opened")
    assert event.payload["reference"] == incident.reference and event.payload["site"] == "hq"
    assert kinds(incident) == ["opened"]


def test_references_follow_the_rows(world):
    first, second = open_one(), open_one(title="Second")
    assert int(second.reference[4:]) == int(first.reference[4:]) + 1


def test_opening_links_the_alarms_named(world):
    deliver(forced(1))
    alarm = Alarm.objects.get()
    incident = open_one(type="forced_entry", alarm_ids=[alarm.pk])
    [link] = IncidentLink.objects.filter(incident=incident)
    assert (link.kind, link.target, link.label) == ("alarm", str(alarm.pk), alarm.title)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "alien_landing"}, "type"),
        ({"severity": 0}, "severity"),
        ({"severity": 5}, "severity"),
        ({"severity": True}, "severity"),
        ({"site": "nowhere"}, "site"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"summary": "bad\x00"}, "summary"),
        ({"alarm_ids": [999_999]}, "alarm_ids"),
        ({"exercise": True, "exercise_type": "party"}, "exercise_type"),
        ({"exercise_type": "drill"}, "exercise_type"),
        ({"armed": True}, "armed"),
    ],
)
def test_bad_openings_name_the_field(world, changes, field):
    with pytest.raises(ServiceError) as refused:
        open_one(**changes)
    assert refused.value.field == field
    assert not Incident.objects.exists()


def test_unknown_type_names_the_types(world):
    with pytest.raises(ServiceError) as refused:
        open_one(type="alien_landing")
    assert "suspicious_package" in refused.value.message
    assert "unattended_item" in refused.value.message


@pytest.mark.parametrize("actor", [AUDITOR, CLERK])
def test_only_incident_handlers_open(world, actor):
    request = services.OpenIncidentRequest(
        type="bomb_threat", severity=1, site="hq", title="Phoned threat"
    )
    with pytest.raises(Forbidden):
        services.open_incident(actor, request)
    assert not Incident.objects.exists()


def test_only_a_manager_arms_an_exercise(world):
    with pytest.raises(Forbidden):
        open_one(exercise=True, exercise_type="drill", armed=True)
    armed = services.open_incident(
        MANAGER,
        services.OpenIncidentRequest(
            type="bomb_threat",
            severity=1,
            site="hq",
            title="Drill",
            exercise=True,
            exercise_type="drill",
            armed=True,
        ),
    )
    assert (armed.exercise, armed.exercise_type, armed.armed) == (True, "drill", True)


def test_moves_through_the_states_with_times(world, frozen_clock):
    incident = open_one()
    frozen_clock.advance(minutes=5)
    moved = services.move(OPERATOR, incident.pk, "contained", "room sealed")
    assert moved.contained_at == clock.now() and moved.state == "contained"
    frozen_clock.advance(minutes=30)
    moved = services.move(OPERATOR, incident.pk, "resolved")
    assert moved.resolved_at == clock.now()
    frozen_clock.advance(minutes=1)
    moved = services.move(MANAGER, incident.pk, "closed", "report filed")
    assert moved.closed_at == clock.now() and moved.state == IncidentState.CLOSED
    changes = [ledger.entry_data(e) for e in entries("incidents.incident.state_changed")]
    assert [(c["previous"], c["state"]) for c in changes] == [
        ("open", "contained"),
        ("contained", "resolved"),
        ("resolved", "closed"),
    ]
    events = OutboxEvent.objects.filter(topic="incidents.incident.state_changed").order_by("id")
    assert [e.payload["state"] for e in events] == ["contained", "resolved", "closed"]
    texts = TimelineEntry.objects.filter(incident=incident, kind="state").values_list(
        "text", flat=True
    )
    assert texts[0] == "Open → Contained: room sealed"


def test_reopening_clears_the_resolution_but_keeps_containment(world):
    incident = open_one()
    services.move(OPERATOR, incident.pk, "contained")
    services.move(OPERATOR, incident.pk, "resolved")
    reopened = services.move(OPERATOR, incident.pk, "open", "smell is back")
    assert reopened.resolved_at is None and reopened.contained_at is not None


def test_an_illegal_move_names_the_allowed_moves(world):
    incident = open_one()
    with pytest.raises(Conflict) as refused:
        services.move(OPERATOR, incident.pk, "closed")
    assert refused.value.field == "state"
    assert refused.value.message == (
        f"{incident.reference} is open: it can move to contained or resolved, not closed"
    )
    assert Incident.objects.get().state == "open"
    assert not entries("incidents.incident.state_changed")


def test_a_closed_incident_moves_no_more_and_takes_no_more(world):
    incident = open_one()
    services.move(OPERATOR, incident.pk, "resolved")
    services.move(OPERATOR, incident.pk, "closed")
    with pytest.raises(Conflict) as refused:
        services.move(OPERATOR, incident.pk, "open")
    assert "cannot move any more" in refused.value.message
    with pytest.raises(Conflict):
        services.add_note(OPERATOR, incident.pk, "late thought")


@pytest.mark.parametrize(
    ("state", "note", "field", "error"),
    [
        ("sideways", "", "state", ServiceError),
        ("contained", "x" * 1001, "note", ServiceError),
    ],
)
def test_bad_moves_name_the_field(world, state, note, field, error):
    incident = open_one()
    with pytest.raises(error) as refused:
        services.move(OPERATOR, incident.pk, state, note)
    assert refused.value.field == field


def test_moves_need_the_role_and_an_incident(world):
    incident = open_one()
    with pytest.raises(Forbidden):
        services.move(AUDITOR, incident.pk, "contained")
    with pytest.raises(NotFound) as missing:
        services.move(OPERATOR, 999_999, "contained")
    assert missing.value.field == "incident_id"


def test_notes_go_on_the_timeline_and_the_ledger(world):
    incident = open_one()
    services.add_note(OPERATOR, incident.pk, "Fire service on site")
    assert kinds(incident) == ["opened", "playbook", "note"]
    assert ledger.entry_data(entries("incidents.note.added")[0])["text"] == "Fire service on site"
    with pytest.raises(ServiceError) as empty:
        services.add_note(OPERATOR, incident.pk, " ")
    assert empty.value.field == "text"
    with pytest.raises(Forbidden):
        services.add_note(AUDITOR, incident.pk, "reading only")


def test_assignees_are_active_staff(world):
    incident = open_one()
    services.assign(OPERATOR, incident.pk, "security_manager")
    assert [a.user.username for a in incident.assignees.all()] == ["security_manager"]
    with pytest.raises(Conflict):
        services.assign(OPERATOR, incident.pk, "security_manager")
    staff(Role.RECIPIENT, "rita")
    with pytest.raises(ServiceError) as not_staff:
        services.assign(OPERATOR, incident.pk, "rita")
    assert (
        not_staff.value.field == "username" and "not a member of staff" in not_staff.value.message
    )
    staff(Role.AUDITOR)
    with pytest.raises(ServiceError) as reader:
        services.assign(OPERATOR, incident.pk, "auditor")
    assert reader.value.field == "username"
    with pytest.raises(NotFound):
        services.assign(OPERATOR, incident.pk, "nobody")
    services.unassign(OPERATOR, incident.pk, "security_manager")
    assert not incident.assignees.exists()
    with pytest.raises(NotFound):
        services.unassign(OPERATOR, incident.pk, "security_manager")
    actions = [e.action for e in LedgerEntry.objects.filter(subject_type="incident")]
    assert "incidents.assignee.added" in actions and "incidents.assignee.removed" in actions


def test_links_to_every_kind_of_target(world):
    deliver(forced(1))
    alarm = Alarm.objects.get()
    incident = open_one()
    services.add_link(OPERATOR, incident.pk, "item", world.item.uid.lower())
    services.add_link(OPERATOR, incident.pk, "alarm", str(alarm.pk))
    services.add_link(OPERATOR, incident.pk, "door", "lobby")
    services.add_link(OPERATOR, incident.pk, "camera", "cam-dock-03")
    services.add_link(OPERATOR, incident.pk, "person", world.person.employee_id)
    services.add_link(OPERATOR, incident.pk, "user", "security_manager")
    links = {(link.kind, link.target): link.label for link in incident.links.all()}
    assert links[("item", world.item.uid)].startswith("Parcel for")
    assert links[("door", "lobby")] == "Main lobby"
    assert links[("alarm", str(alarm.pk))] == "Door forced open: LOBBY"
    assert ("camera", "cam-dock-03") in links and ("user", "security_manager") in links
    assert "Hopper" in links[("person", world.person.employee_id)]
    assert len(entries("incidents.link.added")) == 6
    assert kinds(incident).count("link") == 6


@pytest.mark.parametrize(
    ("kind", "target", "field", "error"),
    [
        ("item", "MW-NOTHERE", "target", NotFound),
        ("alarm", "999999", "target", NotFound),
        ("alarm", "first", "target", NotFound),
        ("door", "back-door", "target", NotFound),
        ("camera", "cam <1>", "target", ServiceError),
        ("person", "E-404", "target", NotFound),
        ("user", "nobody", "target", NotFound),
        ("vehicle", "ABC123", "kind", ServiceError),
        ("item", "", "target", ServiceError),
    ],
)
def test_unknown_link_targets_are_refused(world, kind, target, field, error):
    incident = open_one()
    with pytest.raises(error) as refused:
        services.add_link(OPERATOR, incident.pk, kind, target)
    assert refused.value.field == field
    assert not incident.links.exists()


def test_a_link_is_made_once_and_can_be_removed(world):
    incident = open_one()
    link = services.add_link(OPERATOR, incident.pk, "door", "lobby")
    with pytest.raises(Conflict):
        services.add_link(OPERATOR, incident.pk, "door", "lobby")
    services.remove_link(OPERATOR, incident.pk, link.pk)
    assert not incident.links.exists()
    assert entries("incidents.link.removed")


def test_evidence_is_stored_by_hash_with_the_hash_on_the_ledger(world):
    incident = open_one()
    data = b"photo of the parcel\x00\x01"
    evidence = services.add_evidence(
        OPERATOR,
        incident.pk,
        name="C:\\Users\\otto\\parcel photo.jpg",
        data=data,
        content_type="image/jpeg",
        description="as found",
    )
    digest = hashlib.sha256(data).hexdigest()
    assert (evidence.sha256, evidence.size, evidence.name) == (
        digest,
        len(data),
        "parcel photo.jpg",
    )
    assert media.get(digest) == data
    [entry] = entries("incidents.evidence.added")
    assert ledger.entry_data(entry)["sha256"] == digest
    line = TimelineEntry.objects.get(incident=incident, kind="evidence")
    assert digest in line.text and line.data["sha256"] == digest
    assert services.evidence_bytes(evidence) == data
    with pytest.raises(Conflict):
        services.add_evidence(OPERATOR, incident.pk, name="again.jpg", data=data)


def test_oversize_and_empty_evidence_are_refused(world, monkeypatch):
    incident = open_one()
    monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 1024)
    with pytest.raises(services.EvidenceTooLarge) as big:
        services.add_evidence(OPERATOR, incident.pk, name="big.bin", data=b"x" * 1025)
    assert big.value.field == "file" and big.value.status == 413
    assert "limit is 1024" in big.value.message
    with pytest.raises(ServiceError) as empty:
        services.add_evidence(OPERATOR, incident.pk, name="empty.bin", data=b"")
    assert empty.value.field == "file"
    with pytest.raises(Forbidden):
        services.add_evidence(AUDITOR, incident.pk, name="a.txt", data=b"a")
    assert not IncidentEvidence.objects.exists()
    assert not entries("incidents.evidence.added")


def test_a_tampered_evidence_copy_is_not_handed_out(world):
    incident = open_one()
    evidence = services.add_evidence(OPERATOR, incident.pk, name="a.txt", data=b"original")
    media.path_for(evidence.sha256).write_bytes(b"changed")
    with pytest.raises(Conflict):
        services.evidence_bytes(evidence)


def test_tasks_with_an_owner_a_due_time_and_who_did_them(world, frozen_clock):
    incident = open_one()
    due = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    task = services.add_task(
        OPERATOR,
        incident.pk,
        title="Photograph the parcel",
        assignee="security_operator",
        due_at=due,
    )
    assert (task.assignee.username, task.due_at, task.done_at) == ("security_operator", due, None)
    assert not services.task_late(task)
    frozen_clock.advance(minutes=61)
    assert services.task_late(task)  # 10:01, due at 10:00, not done
    done = services.complete_task(MANAGER, incident.pk, task.pk)
    assert (done.done_at, done.done_by) == (clock.now(), "user:mona")
    assert services.task_late(done)  # done after its due time
    with pytest.raises(Conflict):
        services.complete_task(MANAGER, incident.pk, task.pk)
    with pytest.raises(NotFound) as missing:
        services.complete_task(MANAGER, incident.pk, 999_999)
    assert missing.value.field == "task_id"
    with pytest.raises(ServiceError) as no_title:
        services.add_task(OPERATOR, incident.pk, title="")
    assert no_title.value.field == "title"
    with pytest.raises(NotFound) as nobody:
        services.add_task(OPERATOR, incident.pk, title="x", assignee="nobody")
    assert nobody.value.field == "assignee"
    assert [e.action for e in entries("incidents.task.added")] == ["incidents.task.added"]
    assert len(entries("incidents.task.done")) == 1


def test_the_ledger_still_verifies(world):
    incident = open_one()
    services.add_note(OPERATOR, incident.pk, "ok")
    services.move(OPERATOR, incident.pk, "contained")
    assert ledger.verify().ok
