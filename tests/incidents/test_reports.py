"""After-action reports and improvement plans (HSEEP): writing them (managers), reading them
(operators, auditors), the corrective actions' rules, the HTML and the PDF with its timeline
chart, for an exercise and for a real closed incident."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pypdf import PdfReader

from mailwarden.core.errors import Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents.models import AfterActionReport, CorrectiveAction, TimelineEntry
from mailwarden.incidents.report import report_context, report_html, report_pdf
from mailwarden.incidents.services import exercises
from tests.api.conftest import Api, assert_refused, token_for
from tests.factories import ADMIN
from tests.incidents.conftest import AUDITOR, MANAGER, OPERATOR
from tests.incidents.exercise_helpers import close, incident_with_steps, make_playbook, request

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)


def full_report(incident_id: int) -> None:
    exercises.save_report(
        MANAGER,
        incident_id,
        exercises.ReportRequest(
            overview="The drill ran at the dock with the morning shift.",
            participants="Mailroom team; security desk",
            objectives=[
                exercises.ObjectiveResult("Evacuate within 10 minutes", "met", "Done in 8."),
                exercises.ObjectiveResult("Isolate the parcel within 3 minutes", "not_met"),
            ],
            strengths=["Everyone knew the assembly point"],
            improvements=["The room was left late"],
        ),
    )
    exercises.add_corrective_action(
        MANAGER,
        incident_id,
        exercises.ActionRequest(
            action="Train the dock shift on isolating a parcel",
            owner="Mailroom supervisor",
            due_on=TODAY + timedelta(days=30),
            improvement="The room was left late",
        ),
    )


@pytest.fixture
def drill(site, frozen_clock):
    make_playbook()
    planned = exercises.plan_exercise(MANAGER, request())
    incident = exercises.start_exercise(MANAGER, planned.pk, confirm=True)
    # The steps as the playbook engine lays them, checked off (one late).
    started = incident_with_steps(site, exercise=True, done_after=(0.5, 5, 8))
    incident.steps.all().delete()
    started.steps.update(incident=incident)
    started.delete()
    frozen_clock.advance(minutes=12)
    return incident


def test_a_draft_starts_from_the_exercise_plan(drill):
    draft = exercises.draft_report(drill)
    assert draft.pk is None
    assert [o["objective"] for o in draft.objectives] == [
        "Evacuate the mailroom within 10 minutes",
        "Call the police within 5",
    ]
    assert draft.participants == "Mailroom team, security desk"


def test_a_manager_writes_the_report_and_its_plan(drill):
    full_report(drill.pk)
    report = AfterActionReport.objects.get(incident=drill)
    assert [o["rating"] for o in report.objectives] == ["met", "not_met"]
    assert report.strengths == ["Everyone knew the assembly point"]
    action = CorrectiveAction.objects.get()
    assert action.status == "open" and action.report == report
    done = exercises.update_corrective_action(
        MANAGER,
        drill.pk,
        action.pk,
        exercises.ActionRequest(
            action=action.action, owner=action.owner, due_on=action.due_on, status="done"
        ),
    )
    assert done.completed_at is not None
    assert TimelineEntry.objects.filter(incident=drill, kind="report").count() == 1
    actions = set(LedgerEntry.objects.values_list("action", flat=True))
    assert {
        "incidents.report.written",
        "incidents.corrective_action.added",
        "incidents.corrective_action.updated",
    } <= actions


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"owner": " "}, "owner"),
        ({"due_on": None}, "due_on"),
        ({"due_on": TODAY - timedelta(days=1)}, "due_on"),
        ({"action": ""}, "action"),
        ({"status": "shelved"}, "status"),
    ],
)
def test_corrective_actions_need_an_owner_and_a_due_date(drill, change, field):
    values = {"action": "Fix the door", "owner": "Facilities", "due_on": TODAY}
    values.update(change)
    with pytest.raises(ServiceError) as refused:
        exercises.add_corrective_action(MANAGER, drill.pk, exercises.ActionRequest(**values))
    assert refused.value.field == field
    assert not CorrectiveAction.objects.exists()


@pytest.mark.parametrize(
    ("objectives", "field"),
    [
        ([exercises.ObjectiveResult("Evacuate", "smashed")], "objectives.0.rating"),
        ([exercises.ObjectiveResult("", "met")], "objectives.0.objective"),
    ],
)
def test_objectives_are_rated_met_partially_or_not(drill, objectives, field):
    with pytest.raises(ServiceError) as refused:
        exercises.save_report(MANAGER, drill.pk, exercises.ReportRequest(objectives=objectives))
    assert refused.value.field == field


@pytest.mark.parametrize("actor", [OPERATOR, AUDITOR])
def test_only_managers_write_reports(drill, actor):
    with pytest.raises(Forbidden):
        exercises.save_report(actor, drill.pk, exercises.ReportRequest(overview="x"))
    with pytest.raises(Forbidden):
        exercises.add_corrective_action(actor, drill.pk, exercises.ActionRequest("a", "b", TODAY))


def test_unknown_incident(drill):
    with pytest.raises(NotFound):
        exercises.save_report(MANAGER, 999_999, exercises.ReportRequest())


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_has_the_hseep_sections_the_chart_and_exercise(drill):
    full_report(drill.pk)
    pdf = report_pdf(drill)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for heading in (
        "After-action report and improvement plan",
        "Overview",
        "Objectives",
        "Timeline and step timings",
        "Strengths",
        "Areas for improvement",
        "Improvement plan: corrective actions",
    ):
        assert heading in text, heading
    assert "EXERCISE" in text
    words = " ".join(text.split())
    assert "Mailroom supervisor" in words and "Not met" in words and "Partially met" not in words
    # The chart's own words: its legend and axis, drawn as SVG text into the PDF.
    assert "minutes from the opening" in text and "late or overdue" in text


def test_the_chart_draws_targets_actuals_and_events(drill):
    context = report_context(drill)
    svg = str(context["chart"])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="bar-target"') == 3
    assert svg.count('class="bar-actual"') == 3
    assert svg.count("#c53030") >= 2  # the late step's bar (and the legend)
    events = TimelineEntry.objects.filter(incident=drill).count()
    assert svg.count("<circle") == events + 1  # one per event, and the legend's
    html = report_html(drill)
    assert "<svg" in html and "EXERCISE" in html


def test_a_real_closed_incident_gets_its_incident_report(site, frozen_clock):
    incident = incident_with_steps(site, done_after=(2, 2, 9))
    close(incident)
    full_report(incident.pk)
    text = pdf_text(report_pdf(incident))
    assert "Incident report and improvement plan" in text
    assert "EXERCISE" not in text
    assert "closed" not in report_context(incident)["title"].lower()
    assert report_context(incident)["ended_at"] is not None


def test_chart_text_is_escaped(site, frozen_clock):
    incident = incident_with_steps(site)
    incident.steps.filter(position=1).update(title="<script>alert(1)</script>")
    svg = str(report_context(incident)["chart"])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


# ----------------------------------------------------------------------------- the API


def api(role: Role) -> Api:
    return Api(token_for(role))


def test_the_api_plans_starts_and_reports(site, frozen_clock):
    make_playbook("bomb_threat")
    manager = api(Role.SECURITY_MANAGER)
    body = {
        "name": "Tabletop on a bomb threat",
        "type": "tabletop",
        "scenario": "A caller says there is a bomb in the post.",
        "site": "hq",
        "incident_type": "bomb_threat",
        "planned_start": "2026-03-02T10:00:00+00:00",
        "objectives": ["Take the caller's details"],
    }
    created = manager.post("/api/exercises", body)
    assert created.status_code == 201, created.content
    exercise_id = created.json()["id"]
    assert_refused(
        manager.post(f"/api/exercises/{exercise_id}/start", {"confirm": False}), 400, "confirm"
    )
    started = manager.post(f"/api/exercises/{exercise_id}/start", {"confirm": True})
    assert started.status_code == 201, started.content
    incident = started.json()["incident"]
    assert started.json()["exercise_type"] == "tabletop"
    auditor = api(Role.AUDITOR)
    assert auditor.get(f"/api/exercises/{exercise_id}").json()["incident"] == incident
    draft = auditor.get(f"/api/incidents/{incident}/report").json()
    assert (
        draft["saved"] is False
        and draft["objectives"][0]["objective"] == "Take the caller's details"
    )
    put = manager.put(
        f"/api/incidents/{incident}/report",
        {
            "overview": "Went well",
            "objectives": [{"objective": "Take the caller's details", "rating": "partially_met"}],
            "strengths": ["Calm"],
            "improvements": ["No script by the phone"],
        },
    )
    assert put.status_code == 200, put.content
    assert put.json()["saved"] is True
    added = manager.post(
        f"/api/incidents/{incident}/report/actions",
        {"action": "Put a script by the phone", "owner": "Reception lead", "due_on": "2026-04-01"},
    )
    assert added.status_code == 201, added.content
    action_id = added.json()["id"]
    changed = manager.put(
        f"/api/incidents/{incident}/report/actions/{action_id}",
        {
            "action": "Put a script by the phone",
            "owner": "Reception lead",
            "due_on": "2026-04-01",
            "status": "done",
        },
    )
    assert changed.json()["status"] == "done"
    assert auditor.get(f"/api/incidents/{incident}/timings").status_code == 200
    pdf = auditor.get(f"/api/incidents/{incident}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "Put a script by the phone" in " ".join(pdf_text(pdf.content).split())


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"action": "x", "owner": "", "due_on": "2026-04-01"}, 422, "owner"),
        ({"action": "x", "owner": "o"}, 422, "due_on"),
        ({"action": "x", "owner": "o", "due_on": "2026-03-01"}, 400, "due_on"),
        ({"action": "x", "owner": "o", "due_on": "1 April"}, 422, "due_on"),
    ],
)
def test_api_refuses_actions_naming_the_field(drill, body, status, field):
    assert_refused(
        api(Role.SECURITY_MANAGER).post(f"/api/incidents/{drill.pk}/report/actions", body),
        status,
        field,
    )


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.SECURITY_OPERATOR])
def test_readers_cannot_write_over_the_api(drill, role):
    reader = api(role)
    assert_refused(reader.put(f"/api/incidents/{drill.pk}/report", {"overview": "x"}), 403, None)
    assert reader.get(f"/api/incidents/{drill.pk}/report").status_code == 200


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_others_cannot_read_reports(drill, role):
    assert_refused(api(role).get(f"/api/incidents/{drill.pk}/report"), 403, None)
    assert_refused(api(role).get(f"/api/incidents/{drill.pk}/report.pdf"), 403, None)
    assert_refused(api(role).get("/api/exercises"), 403, None)


def test_console_pages_by_role(drill):
    for role in (Role.SECURITY_MANAGER, Role.AUDITOR, Role.CLERK):
        create_user(
            ADMIN, role.value, password="pw-12345678", roles=[role.value], check_password=False
        )
    c = Client()
    c.force_login(User.objects.get(username="auditor"))
    assert c.get(f"/incidents/{drill.pk}/report/").status_code == 200
    assert c.get(f"/incidents/{drill.pk}/report/edit/").status_code == 403
    assert c.get(f"/incidents/{drill.pk}/report.pdf").status_code == 200
    assert c.get("/incidents/exercises/").status_code == 200
