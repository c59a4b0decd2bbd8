"""The register, the heatmap, the treatment plan and the report (HTML and PDF), on the console
and in the API: what they show, and who may read them."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.risk.heatmap import heatmap_svg
from mailwarden.risk.models import Risk, RiskState, TreatmentKind, TreatmentStatus
from mailwarden.risk.queries.register import register, treatment_plan
from mailwarden.risk.report import report_html, report_pdf
from mailwarden.risk.scoring import method
from tests.api.conftest import Api, token_for
from tests.conftest import service_missing
from tests.factories import ADMIN, make_site
from tests.risk.report_fixtures import (
    add_control,
    add_risk,
    add_treatment,
    make_assessment,
)

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def owner() -> User:
    return create_user(
        ADMIN,
        "olive",
        password="Correct-Horse-9-Battery",
        roles=[Role.SECURITY_MANAGER.value],
        check_password=False,
    )


@pytest.fixture
def world(owner, frozen_clock):
    """A finalised assessment and its re-assessment with two scored risks, one unscored and one
    closed; a treatment overdue on a contradicted control, one on time."""
    owner.first_name, owner.last_name = "Olive", "Owens"
    owner.save()
    site = make_site()
    before = make_assessment(site, title="Assessment 2025", final=True)
    add_risk(before, "tailgating", (2, 2), title="Tailgating into the mail room")
    add_risk(before, "theft", (3, 3), title="Theft of mail")
    after = make_assessment(site, title="Assessment 2026", previous=before)
    tailgating = add_risk(
        after, "tailgating", (5, 4), (4, 3), title="Tailgating into the mail room"
    )
    powder = add_risk(after, "powder", (3, 5), (1, 5), title="Hazardous powder letter")
    add_risk(after, "insider", None, title="Insider tampering")
    add_risk(after, "ied", (5, 5), title="Parcel bomb", state=RiskState.CLOSED)
    weak = add_control(site, "Two-person rule on the quarantine door", contradicted=True)
    sound = add_control(site, "All clerks trained")
    today = clock.now().date()
    add_treatment(
        tailgating,
        owner,
        description="Anti-tailgating turnstile",
        due=date(today.year - 1, 1, 15),
        control=weak,
    )
    add_treatment(
        powder,
        owner,
        description="Suspicious-mail course for clerks",
        due=date(today.year + 1, 6, 1),
        control=sound,
        status=TreatmentStatus.IN_PROGRESS,
    )
    add_treatment(
        powder,
        owner,
        kind=TreatmentKind.ACCEPT,
        description="Accept what remains",
        due=date(today.year + 1, 7, 1),
        status=TreatmentStatus.DONE,
        approved_by=owner,
    )
    return after


def test_the_register_ranks_risks_and_flags_contradicted_controls(world) -> None:
    rows = register(world)

    assert [r.key for r in rows] == ["tailgating", "powder", "insider", "ied"]
    tailgating, powder, insider, _ = rows
    assert tailgating.inherent_score == 20 and tailgating.inherent_level == "critical"
    assert tailgating.residual_score == 12 and tailgating.residual_level == "high"
    assert tailgating.flagged
    assert [c.title for c in tailgating.controls] == ["Two-person rule on the quarantine door"]
    assert not powder.flagged
    assert insider.inherent_score is None and insider.treatments == ()
    (overdue,) = tailgating.treatments
    assert overdue.overdue and overdue.owner == "Olive Owens"
    assert [t.overdue for t in powder.treatments] == [False, False]


def test_the_plan_is_soonest_first_and_a_done_treatment_is_never_overdue(world) -> None:
    plan = treatment_plan(world)

    assert [t.description for t in plan] == [
        "Anti-tailgating turnstile",
        "Suspicious-mail course for clerks",
        "Accept what remains",
    ]
    assert [t.overdue for t in plan] == [True, False, False]
    assert plan[2].approved_by == "Olive Owens"


def cells(svg: str, panel: str) -> dict[tuple[int, int], ET.Element]:
    root = ET.fromstring(svg)
    group = root.find(f"{SVG}g[@data-panel='{panel}']")
    assert group is not None
    return {
        (int(r.get("data-row", "")), int(r.get("data-col", ""))): r
        for r in group.iter(f"{SVG}rect")
        if r.get("class") == "heat-cell"
    }


def test_the_heatmap_counts_risks_per_cell_inherent_and_residual(world) -> None:
    svg = heatmap_svg(method("matrix", {"size": 5}), Risk.objects.filter(assessment=world))

    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Risk heatmap, inherent and residual"
    desc = root.find(f"{SVG}desc").text
    assert "Likelihood" in desc and "Impact" in desc and "not yet scored" in desc
    inherent, residual = cells(svg, "inherent"), cells(svg, "residual")
    assert len(inherent) == len(residual) == 25
    # Tailgating (5, 4) and powder (3, 5); the closed parcel bomb and unscored insider are out.
    placed = {
        k: int(r.get("data-count", "")) for k, r in inherent.items() if r.get("data-count") != "0"
    }
    assert placed == {(4, 3): 1, (2, 4): 1}
    assert inherent[(4, 3)].get("data-level") == "critical"
    assert inherent[(4, 3)].get("fill") == "#c53030"
    assert inherent[(0, 0)].get("fill") == "#edf2f7"
    assert residual[(3, 2)].get("data-count") == "1"
    assert residual[(0, 4)].get("data-level") == "low"


def test_a_risk_whose_values_the_method_refuses_is_left_off_the_heatmap(world) -> None:
    smaller = method("matrix", {"size": 4})  # tailgating's likelihood 5 no longer fits

    svg = heatmap_svg(smaller, Risk.objects.filter(assessment=world))

    inherent = cells(svg, "inherent")
    assert len(inherent) == 16
    assert sum(int(r.get("data-count", "")) for r in inherent.values()) == 0  # powder: impact 5
    assert "inherent 3, residual 2" in ET.fromstring(svg).find(f"{SVG}desc").text


def test_two_heatmaps_on_a_page_keep_their_ids_apart(world) -> None:
    risks = list(Risk.objects.filter(assessment=world))
    one = heatmap_svg(method("matrix", {}), risks, ident="a")
    two = heatmap_svg(method("matrix", {}), risks, ident="b")
    assert 'id="a-title"' in one and 'id="b-title"' in two


def test_the_html_report_has_every_part(world) -> None:
    html = report_html(world)

    for part in ("Heatmap", "Register", "Treatment plan", "What changed since the last assessment"):
        assert part in html
    assert 'data-change="up" data-risk="tailgating"' in html
    assert 'data-change="new" data-risk="powder"' in html
    assert 'data-change="closed" data-risk="theft"' in html
    assert "Olive Owens" in html and "user:" not in html


def pdf_text(pdf: bytes) -> str:
    if not pdf.startswith(b"%PDF"):
        raise AssertionError("not a PDF")
    try:
        done = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        )
    except FileNotFoundError:
        service_missing("reading PDF text needs poppler's pdftotext")
    return done.stdout.decode()


def test_the_pdf_report_reads_as_the_html_one(world) -> None:
    text = pdf_text(report_pdf(world))

    assert "Risk assessment report" in text
    assert "Tailgating into the mail room" in text
    assert "Anti-tailgating turnstile" in text
    assert "evidence contradicts the claim" in text
    assert "What changed since the last assessment" in text
    assert "1 up" in text and "2 new" in text and "1 closed" in text


# ----------------------------------------------------------------------------- API


def test_the_api_gives_the_register_plan_changes_heatmap_and_pdf(world) -> None:
    api = Api(token_for(Role.AUDITOR))
    base = f"/api/risk/assessments/{world.pk}"

    rows = api.get(f"{base}/register").json()
    assert [r["key"] for r in rows][:2] == ["tailgating", "powder"]
    assert rows[0]["flagged"] is True
    assert rows[0]["treatments"][0]["overdue"] is True
    assert rows[0]["controls"][0]["contradicted"] is True

    plan = api.get(f"{base}/treatment-plan").json()
    assert [t["overdue"] for t in plan] == [True, False, False]

    changes = api.get(f"{base}/changes").json()
    assert changes["counts"] == {"up": 1, "down": 0, "new": 2, "closed": 1, "unchanged": 0}
    assert changes["previous_id"] == world.previous_id

    svg = api.get(f"{base}/heatmap.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    ET.fromstring(svg.content)

    pdf = api.get(f"{base}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    html = api.get(f"{base}/report.html")
    assert html.status_code == 200 and b"Treatment plan" in html.content


def test_the_api_names_an_unknown_assessment_and_refuses_a_clerk(world) -> None:
    missing = Api(token_for(Role.SECURITY_MANAGER)).get("/api/risk/assessments/999999/register")
    assert missing.status_code == 404
    assert missing.json()["field"] == "assessment_id"
    for path in ("register", "treatment-plan", "changes", "heatmap.svg", "report.pdf"):
        refused = Api(token_for(Role.CLERK)).get(f"/api/risk/assessments/{world.pk}/{path}")
        assert refused.status_code == 403, path


def test_the_heatmap_of_a_method_no_longer_known_is_a_named_conflict(world) -> None:
    world.method = "retired"
    world.save()
    answer = Api(token_for(Role.AUDITOR)).get(f"/api/risk/assessments/{world.pk}/heatmap.svg")
    assert answer.status_code == 409
    assert answer.json()["field"] == "method"


# ----------------------------------------------------------------------------- console


def signed_in(role: Role, username: str) -> Client:
    user = create_user(
        ADMIN,
        username,
        password="Correct-Horse-9-Battery",
        roles=[role.value],
        check_password=False,
    )
    client = Client()
    client.force_login(user)
    return client


def test_an_auditor_reads_every_page_and_a_clerk_is_refused(world) -> None:
    auditor = signed_in(Role.AUDITOR, "audrey")
    clerk = signed_in(Role.CLERK, "clem")
    pages = [
        "/risk/reports/",
        f"/risk/assessments/{world.pk}/register/",
        f"/risk/assessments/{world.pk}/heatmap/",
        f"/risk/assessments/{world.pk}/treatment-plan/",
        f"/risk/assessments/{world.pk}/changes/",
        f"/risk/assessments/{world.pk}/report/",
    ]
    for page in pages:
        assert auditor.get(page).status_code == 200, page
        assert clerk.get(page).status_code == 403, page
    register_page = auditor.get(pages[1]).content.decode()
    assert "data-flagged-alert" in register_page
    assert 'data-risk="tailgating" class="is-flagged"' in register_page
    assert "data-overdue-alert" in auditor.get(pages[3]).content.decode()
    pdf = auditor.get(f"/risk/assessments/{world.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert auditor.get("/risk/assessments/999999/register/").status_code == 404
