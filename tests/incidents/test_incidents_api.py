"""The incidents API: who may call each operation, the case file in one read, every change,
and bad input answered with the field at fault."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.incidents.models import Alarm, Incident, IncidentEvidence, Playbook
from mailwarden.incidents.services import incidents as services
from tests.api.conftest import Api, assert_refused, token_for
from tests.incidents import incidents_fixtures
from tests.incidents.conftest import deliver, forced
from tests.incidents.incidents_fixtures import open_one

pytestmark = pytest.mark.django_db
world = incidents_fixtures.world

OPENING = {"type": "bomb_threat", "severity": 1, "site": "hq", "title": "Phoned threat"}


def api(role: Role) -> Api:
    return Api(token_for(role))


def test_open_read_and_list(world):
    deliver(forced(1))
    alarm = Alarm.objects.get()
    operator = api(Role.SECURITY_OPERATOR)
    opened = operator.post("/api/incidents", {**OPENING, "alarm_ids": [alarm.pk]})
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["reference"].startswith("INC-") and body["state"] == "open"
    assert body["allowed_moves"] == ["contained", "resolved"]
    assert body["links"][0]["kind"] == "alarm" and body["timeline"][0]["kind"] == "opened"
    # The bomb threat playbook's steps, in order, from the shipped defaults.
    playbook = Playbook.objects.get(incident_type="bomb_threat").steps.order_by("position")
    assert [s["title"] for s in body["steps"]] == [s.title for s in playbook]
    assert body["evidence"] == [] and body["tasks"] == []
    auditor = api(Role.AUDITOR)
    one = auditor.get(f"/api/incidents/{body['id']}").json()
    assert one["title"] == "Phoned threat" and one["severity_name"] == "SEV-1 critical"
    open_one(exercise=True, exercise_type="tabletop", title="Tabletop")
    every = auditor.get("/api/incidents").json()
    assert [i["title"] for i in every] == ["Phoned threat", "Tabletop"]
    assert [i["title"] for i in auditor.get("/api/incidents", exercise=True).json()] == ["Tabletop"]
    assert [i["title"] for i in auditor.get("/api/incidents", type="bomb_threat").json()] == [
        "Phoned threat"
    ]
    assert auditor.get("/api/incidents", state="closed").json() == []
    assert len(auditor.get("/api/incidents", site="hq").json()) == 2


def test_the_whole_case_file_through_the_api(world):
    incident = open_one()
    operator = api(Role.SECURITY_OPERATOR)
    base = f"/api/incidents/{incident.pk}"
    assert operator.post(f"{base}/notes", {"text": "cordon set"}).status_code == 201
    assigned = operator.post(f"{base}/assignees", {"username": "security_manager"})
    assert [a["username"] for a in assigned.json()["assignees"]] == ["security_manager"]
    link = operator.post(f"{base}/links", {"kind": "item", "target": world.item.uid})
    assert link.status_code == 201 and link.json()["target"] == world.item.uid
    data = b"%PDF-1.4 statement"
    uploaded = operator.upload(
        f"{base}/evidence",
        file=SimpleUploadedFile("statement.pdf", data, "application/pdf"),
        description="witness statement",
    )
    assert uploaded.status_code == 201, uploaded.content
    evidence = uploaded.json()
    assert evidence["sha256"] == hashlib.sha256(data).hexdigest()
    download = api(Role.AUDITOR).get(f"{base}/evidence/{evidence['id']}")
    assert download.status_code == 200 and download.content == data
    assert download["Content-Disposition"] == 'attachment; filename="statement.pdf"'
    task = operator.post(
        f"{base}/tasks",
        {"title": "Call police", "assignee": "security_operator", "due_at": "2026-03-02T09:15:00Z"},
    )
    assert task.status_code == 201 and task.json()["due_at"].startswith("2026-03-02T09:15")
    done = operator.post(f"{base}/tasks/{task.json()['id']}/done")
    assert done.json()["done_by"].startswith("user:")
    moved = operator.post(f"{base}/move", {"state": "contained", "note": "isolated"})
    assert moved.json()["state"] == "contained" and moved.json()["contained_at"]
    assert operator.delete(f"{base}/assignees/security_manager").status_code == 204
    assert operator.delete(f"{base}/links/{link.json()['id']}").status_code == 204
    kinds = [t["kind"] for t in operator.get(base).json()["timeline"]]
    assert kinds == [
        "opened",
        "playbook",
        "note",
        "assign",
        "link",
        "evidence",
        "task",
        "task",
        "state",
        "assign",
        "link",
    ]


def test_an_illegal_move_is_409_naming_the_allowed(world):
    incident = open_one()
    refused = api(Role.SECURITY_OPERATOR).post(
        f"/api/incidents/{incident.pk}/move", {"state": "closed"}
    )
    body = assert_refused(refused, 409, "state")
    assert "contained or resolved" in body["message"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**OPENING, "type": "alien_landing"}, 422, "type"),
        ({**OPENING, "severity": 5}, 422, "severity"),
        ({**OPENING, "severity": True}, 422, "severity"),
        ({**OPENING, "site": "nowhere"}, 404, "site"),
        ({**OPENING, "title": ""}, 422, "title"),
        ({**OPENING, "alarm_ids": [999_999]}, 404, "alarm_ids"),
        ({**OPENING, "exercise_type": "drill"}, 400, "exercise_type"),
        ({k: v for k, v in OPENING.items() if k != "type"}, 422, "type"),
    ],
)
def test_bad_openings_name_the_field(world, body, status, field):
    assert_refused(api(Role.SECURITY_OPERATOR).post("/api/incidents", body), status, field)
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("move", {"state": "sideways"}, 422, "state"),
        ("notes", {"text": ""}, 422, "text"),
        ("assignees", {"username": "nobody"}, 404, "username"),
        ("links", {"kind": "vehicle", "target": "x"}, 422, "kind"),
        ("links", {"kind": "door", "target": "back-door"}, 404, "target"),
        ("links", {"kind": "person", "target": "E-404"}, 404, "target"),
        ("tasks", {"title": "x", "due_at": "tomorrow"}, 422, "due_at"),
        ("tasks", {"title": "x", "assignee": "nobody"}, 404, "assignee"),
    ],
)
def test_bad_changes_name_the_field(world, path, body, status, field):
    incident = open_one()
    response = api(Role.SECURITY_OPERATOR).post(f"/api/incidents/{incident.pk}/{path}", body)
    assert_refused(response, status, field)


def test_unknown_incidents_and_rows(world):
    operator = api(Role.SECURITY_OPERATOR)
    assert_refused(operator.get("/api/incidents/999999"), 404, "incident_id")
    assert_refused(operator.post("/api/incidents/999999/notes", {"text": "x"}), 404, "incident_id")
    incident = open_one()
    assert_refused(operator.post(f"/api/incidents/{incident.pk}/tasks/999999/done"), 404, "task_id")
    assert_refused(
        operator.get(f"/api/incidents/{incident.pk}/evidence/999999"), 404, "evidence_id"
    )
    assert_refused(operator.get("/api/incidents", site="nowhere"), 404, "site")
    assert_refused(operator.get("/api/incidents", state="sideways"), 422, "state")


def test_oversize_evidence_is_413_and_stores_nothing(world, monkeypatch):
    incident = open_one()
    monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 1024)
    response = api(Role.SECURITY_OPERATOR).upload(
        f"/api/incidents/{incident.pk}/evidence",
        file=SimpleUploadedFile("big.bin", b"x" * 2048, "application/octet-stream"),
    )
    assert_refused(response, 413, "file")
    assert not IncidentEvidence.objects.exists()
    assert not LedgerEntry.objects.filter(action="incidents.evidence.added").exists()


def test_evidence_needs_a_file(world):
    incident = open_one()
    response = api(Role.SECURITY_OPERATOR).upload(
        f"/api/incidents/{incident.pk}/evidence", description="nothing attached"
    )
    assert response.status_code == 422 and response.json()["field"] == "file"


READS = [("get", "/api/incidents"), ("get", "/api/incidents/{id}")]
CHANGES = [
    ("post", "/api/incidents", OPENING),
    ("post", "/api/incidents/{id}/move", {"state": "contained"}),
    ("post", "/api/incidents/{id}/notes", {"text": "x"}),
    ("post", "/api/incidents/{id}/assignees", {"username": "security_manager"}),
    ("post", "/api/incidents/{id}/links", {"kind": "door", "target": "lobby"}),
    ("post", "/api/incidents/{id}/tasks", {"title": "x"}),
    ("post", "/api/incidents/{id}/tasks/1/done", {}),
    ("delete", "/api/incidents/{id}/assignees/security_manager", None),
    ("delete", "/api/incidents/{id}/links/1", None),
]


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_other_roles_cannot_read(world, role):
    incident = open_one()
    caller = api(role)
    for _method, path in READS:
        assert_refused(caller.get(path.format(id=incident.pk)), 403, None)
    assert_refused(caller.get(f"/api/incidents/{incident.pk}/evidence/1"), 403, None)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLERK, Role.SCREENER])
def test_readers_and_others_cannot_change(world, role):
    incident = open_one()
    caller = api(role)
    before = LedgerEntry.objects.count()
    for method, path, body in CHANGES:
        url = path.format(id=incident.pk)
        response = caller.delete(url) if method == "delete" else caller.post(url, body)
        assert_refused(response, 403, None)
    upload = caller.upload(
        f"/api/incidents/{incident.pk}/evidence", file=SimpleUploadedFile("a.txt", b"a")
    )
    assert_refused(upload, 403, None)
    assert LedgerEntry.objects.count() == before


def test_managers_may_do_everything_operators_may(world):
    manager = api(Role.SECURITY_MANAGER)
    created = manager.post("/api/incidents", OPENING)
    assert created.status_code == 201
    moved = manager.post(f"/api/incidents/{created.json()['id']}/move", {"state": "resolved"})
    assert moved.json()["allowed_moves"] == ["closed", "open"]


def test_no_token_is_answered_401(world):
    assert_refused(Api(None).get("/api/incidents"), 401, "Authorization")


def test_a_due_time_with_any_iso_offset_is_stored_in_utc(world):
    # ISO 8601 allows offsets to 23:59; PostgreSQL stores only up to 15:59.
    incident = open_one()
    task = api(Role.SECURITY_OPERATOR).post(
        f"/api/incidents/{incident.pk}/tasks",
        {"title": "Call the courier", "due_at": "2026-03-02T09:15:00-19:23"},
    )
    assert task.status_code == 201, task.content
    assert task.json()["due_at"].startswith("2026-03-03T04:38:00")
