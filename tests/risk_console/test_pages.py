"""The risk console pages through Django's test client: who may see and do what (an auditor reads,
a clerk is refused), the forms, and the errors they show."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape
from PIL import Image

from mailwarden.core import clock, media
from mailwarden.core.roles import Role
from mailwarden.risk import rules
from mailwarden.risk.models import (
    Answer,
    Assessment,
    AssessmentState,
    Finding,
    FindingPhoto,
    FindingSource,
    FindingState,
    TreatmentStatus,
)
from mailwarden.risk.views import nav
from tests.factories import make_site
from tests.risk_console.page_fixtures import (
    answer_all,
    make_assessment,
    make_control,
    make_finding,
    make_risk,
    make_treatment,
    template_of,
    value_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user) -> dict[str, Client]:
    clients = {}
    for role, name in (
        (Role.SECURITY_MANAGER, "mona"),
        (Role.AUDITOR, "audrey"),
        (Role.CLERK, "clive"),
    ):
        user = make_user(role, name, first_name=name.capitalize(), last_name="Example")
        client = Client()
        client.force_login(user)
        clients[name] = client
    return clients


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def text(response: Any) -> str:
    return response.content.decode()


# ----------------------------------------------------------------------------- dashboard


def test_the_dashboard_shows_each_sites_latest_assessment_flags_and_overdue_work(
    people, make_user, frozen_clock
) -> None:
    hq = make_site("hq")
    make_site("annex")
    old = make_assessment(hq, title="Last year", state=AssessmentState.FINAL, days_ago=300)
    latest = make_assessment(hq, title="This spring")
    make_risk(latest, "unauthorised-access", inherent="high", residual="medium")
    make_risk(latest, "suspicious-package", inherent="high")
    make_risk(latest, "insider")
    make_risk(old, "theft", inherent="critical")
    make_control(hq, "Two-person rule on the quarantine door", contradicted=True)
    make_control(hq, "All clerks trained", contradicted=False)
    owner = make_user(Role.SECURITY_MANAGER, "otto", first_name="Otto", last_name="Owner")
    today = clock.now().date()
    make_treatment(
        make_risk(old, "tamper"),
        owner,
        due=today - timedelta(days=3),
        status=TreatmentStatus.PLANNED,
    )
    make_treatment(make_risk(old, "done"), owner, due=today - timedelta(days=3), status="done")

    response = people["mona"].get("/risk/")
    assert response.status_code == 200
    page = text(response)
    assert "This spring" in page and "Last year" not in page
    assert "Mona Example" in page and "user:mona" not in page
    # Levels of the latest assessment only: two high inherent, one medium residual, one unscored.
    assert '<td data-level="high">2</td>' in page
    assert '<td data-level="medium">1</td>' in page
    assert '<td data-level="unscored">1</td>' in page
    assert '<td data-level="critical">0</td>' in page
    assert "Two-person rule on the quarantine door" in page
    assert "All clerks trained" not in page
    assert "Fit a door closer" in page and "Otto Owner" in page
    assert page.count('data-treatment="') == 1
    assert 'data-action="continue"' in page  # hq has a draft
    assert 'data-action="start"' in page  # annex has none


def test_the_dashboard_offers_a_reassessment_once_the_latest_is_final(people) -> None:
    hq = make_site("hq")
    make_assessment(hq, state=AssessmentState.FINAL)
    page = text(people["mona"].get("/risk/"))
    assert 'data-action="reassess"' in page
    assert "/risk/assessments/new/?site=hq" in page


def test_the_pages_link_to_the_other_risk_pages_that_exist(people) -> None:
    found = make_assessment(make_site("hq"))
    dashboard = text(people["mona"].get("/risk/"))
    for _name, _label, url in nav.risk_links() + nav.assessment_links(found.pk):
        assert f'href="{url}"' in dashboard
    findings = text(people["mona"].get(f"/risk/assessments/{found.pk}/findings/"))
    for _name, _label, url in nav.assessment_links(found.pk):
        assert f'href="{url}"' in findings


def test_an_auditor_reads_the_dashboard_without_buttons_and_a_clerk_is_refused(people) -> None:
    make_site("hq")
    auditor = people["audrey"].get("/risk/")
    assert auditor.status_code == 200
    assert "data-action=" not in text(auditor)
    assert people["clive"].get("/risk/").status_code == 403
    assert Client().get("/risk/").status_code == 302


# ----------------------------------------------------------------------------- new assessment


def test_the_new_assessment_form_is_for_security_managers_only(people) -> None:
    make_site("hq")
    response = people["mona"].get("/risk/assessments/new/?site=hq")
    assert response.status_code == 200
    assert 'value="hq" selected' in text(response)
    assert people["audrey"].get("/risk/assessments/new/").status_code == 403
    assert people["clive"].get("/risk/assessments/new/").status_code == 403


def test_the_new_assessment_form_names_what_is_wrong(people) -> None:
    make_site("hq")
    response = people["mona"].post(
        "/risk/assessments/new/", {"site": "hq", "title": "", "method": "guesswork"}
    )
    assert response.status_code == 400
    page = text(response)
    assert 'data-field-error="title"' in page
    assert 'data-field-error="method"' in page
    assert not Assessment.objects.exists()


def test_the_new_assessment_form_mentions_the_assessment_it_re_assesses(people) -> None:
    hq = make_site("hq")
    make_assessment(hq, title="Last year", state=AssessmentState.FINAL)
    page = text(people["mona"].get("/risk/assessments/new/?site=hq"))
    assert "data-previous" in page and "Last year" in page


def test_starting_an_assessment_opens_its_questionnaire(people, frozen_clock) -> None:
    make_site("hq")
    response = people["mona"].post(
        "/risk/assessments/new/",
        {"site": "hq", "title": "Spring", "method": "matrix", "size": "4"},
    )
    created = Assessment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/risk/assessments/{created.pk}/questions/"
    assert (created.method, created.method_params, created.site.code) == (
        "matrix",
        {"size": 4},
        "hq",
    )


# ----------------------------------------------------------------------------- questionnaire


def test_the_questionnaire_opens_at_the_first_section_with_required_questions_left(
    people,
) -> None:
    found = make_assessment(make_site("hq"))
    sections = template_of(found).sections
    answer_all(found, sections=1)
    response = people["mona"].get(f"/risk/assessments/{found.pk}/questions/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/questions/{sections[1].key}/")


def test_a_section_shows_its_questions_the_answers_and_the_progress(people) -> None:
    found = make_assessment(make_site("hq"))
    template = template_of(found)
    answer_all(found, sections=1)
    first = template.sections[0]
    response = people["mona"].get(f"/risk/assessments/{found.pk}/questions/{first.key}/")
    assert response.status_code == 200
    page = text(response)
    for question in first.questions:
        assert f'data-question="{question.key}"' in page
    total = sum(len(s.questions) for s in template.sections)
    assert f"<strong>{len(first.questions)}</strong> of {total} questions answered" in page
    assert f"{len(first.questions)}/{len(first.questions)} · done" in page
    assert "Save and continue" in page
    # The first answers show as given.
    assert "checked" in page


def test_an_auditor_reads_the_questionnaire_and_cannot_answer_it(people) -> None:
    found = make_assessment(make_site("hq"))
    section = template_of(found).sections[0]
    url = f"/risk/assessments/{found.pk}/questions/{section.key}/"
    response = people["audrey"].get(url)
    assert response.status_code == 200
    page = text(response)
    assert "Save and continue" not in page and "disabled" in page
    data = {q.key: value_for(q) for q in section.questions}
    assert people["audrey"].post(url, data).status_code == 403
    assert people["clive"].get(url).status_code == 403
    assert not Answer.objects.exists()


def test_an_unknown_section_is_not_found(people) -> None:
    found = make_assessment(make_site("hq"))
    assert people["mona"].get(f"/risk/assessments/{found.pk}/questions/nope/").status_code == 404
    assert people["mona"].get("/risk/assessments/999/questions/").status_code == 404


def test_saving_a_section_stores_its_answers_and_moves_on(people, frozen_clock) -> None:
    found = make_assessment(make_site("hq"))
    sections = template_of(found).sections
    first = sections[0]
    data: dict[str, Any] = {q.key: value_for(q) for q in first.questions}
    data[f"{first.questions[0].key}__note"] = "Named in the site handbook."
    data["next"] = "1"
    url = f"/risk/assessments/{found.pk}/questions/{first.key}/"
    response = people["mona"].post(url, data)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/questions/{sections[1].key}/")
    stored = {a.question: a for a in Answer.objects.filter(assessment=found)}
    assert set(stored) == {q.key for q in first.questions}
    assert stored[first.questions[0].key].note == "Named in the site handbook."


def test_a_finalised_questionnaire_cannot_be_changed(people) -> None:
    found = make_assessment(make_site("hq"), state=AssessmentState.FINAL)
    section = template_of(found).sections[0]
    page = text(people["mona"].get(f"/risk/assessments/{found.pk}/questions/{section.key}/"))
    assert "finalised: its answers can no longer change" in page
    assert "Save and continue" not in page


# ----------------------------------------------------------------------------- method


def test_the_method_form_is_offered_on_a_draft_only(people) -> None:
    site = make_site("hq")
    draft = make_assessment(site)
    final = make_assessment(site, state=AssessmentState.FINAL)
    assert 'data-form="method"' in text(people["mona"].get(f"/risk/assessments/{draft.pk}/"))
    page = text(people["mona"].get(f"/risk/assessments/{final.pk}/"))
    assert 'data-form="method"' not in page and "data-method-fixed" in page
    assert 'data-form="method"' not in text(people["audrey"].get(f"/risk/assessments/{draft.pk}/"))


def test_changing_the_method_of_a_finalised_assessment_is_refused(people) -> None:
    found = make_assessment(make_site("hq"), state=AssessmentState.FINAL)
    response = people["mona"].post(f"/risk/assessments/{found.pk}/method/", {"method": "carver"})
    assert response.status_code == 409
    assert 'role="alert"' in text(response)
    found.refresh_from_db()
    assert found.method == "matrix"


def test_an_auditor_cannot_change_the_method(people) -> None:
    found = make_assessment(make_site("hq"))
    url = f"/risk/assessments/{found.pk}/method/"
    assert people["audrey"].post(url, {"method": "carver"}).status_code == 403


# ----------------------------------------------------------------------------- finalise


def test_finalising_needs_the_confirmation_box(people) -> None:
    found = make_assessment(make_site("hq"))
    response = people["mona"].post(f"/risk/assessments/{found.pk}/finalise/", {})
    assert response.status_code == 400
    assert "Tick the box" in text(response)
    found.refresh_from_db()
    assert not found.final


def test_a_failed_finalise_lists_what_is_missing(people, frozen_clock) -> None:
    found = make_assessment(make_site("hq"))
    template = template_of(found)
    answer_all(found, sections=1)
    response = people["mona"].post(f"/risk/assessments/{found.pk}/finalise/", {"confirm": "yes"})
    assert response.status_code == 400
    page = text(response)
    assert "data-refusal" in page and "It still needs:" in page
    unanswered = [q for q in template.sections[1].questions if q.required]
    for question in unanswered:
        assert escape(question.text) in page
    found.refresh_from_db()
    assert not found.final


def test_the_confirmation_page_lists_what_is_missing_before_finalising(people) -> None:
    found = make_assessment(make_site("hq"))
    response = people["mona"].get(f"/risk/assessments/{found.pk}/finalise/")
    assert response.status_code == 200
    page = text(response)
    assert "data-missing" in page and 'data-form="finalise"' in page
    first = template_of(found).sections[0].questions[0]
    assert escape(first.text) in page
    auditor = people["audrey"].get(f"/risk/assessments/{found.pk}/finalise/")
    assert 'data-form="finalise"' not in text(auditor)
    assert (
        people["audrey"]
        .post(f"/risk/assessments/{found.pk}/finalise/", {"confirm": "yes"})
        .status_code
        == 403
    )


# ----------------------------------------------------------------------------- findings


def test_the_findings_list_shows_source_rule_and_evidence(people) -> None:
    found = make_assessment(make_site("hq"))
    make_finding(found, title="Door wedged open", notes="Seen at 10:00")
    make_finding(
        found,
        title="Credential unused for 120 days",
        source=FindingSource.AUTOMATIC,
        rule="stale-credential",
        subject="credential:41",
        evidence={"credential": "41", "last_used_days": 120},
        suggested="Withdraw the credential.",
    )
    response = people["mona"].get(f"/risk/assessments/{found.pk}/findings/")
    assert response.status_code == 200
    page = text(response)
    assert "Door wedged open" in page and "Credential unused for 120 days" in page
    assert 'data-rule="stale-credential"' in page
    assert "<dt>Last used days</dt><dd>120</dd>" in page
    assert "Withdraw the credential." in page
    assert 'data-form="finding"' in page and 'data-form="run-rules"' in page


def test_findings_filter_by_state(people) -> None:
    found = make_assessment(make_site("hq"))
    make_finding(found, title="Still open")
    dismissed = make_finding(found, title="Not a problem")
    Finding.objects.filter(pk=dismissed.pk).update(state=FindingState.DISMISSED)
    page = text(people["mona"].get(f"/risk/assessments/{found.pk}/findings/?state=dismissed"))
    assert "Not a problem" in page and "Still open" not in page


def test_an_auditor_reads_findings_and_a_clerk_is_refused(people) -> None:
    found = make_assessment(make_site("hq"))
    finding = make_finding(found)
    page = text(people["audrey"].get(f"/risk/assessments/{found.pk}/findings/"))
    assert 'data-form="finding"' not in page and 'data-form="run-rules"' not in page
    detail = text(people["audrey"].get(f"/risk/findings/{finding.pk}/"))
    assert 'data-form="state"' not in detail and 'data-form="photo"' not in detail
    assert (
        people["audrey"].post(f"/risk/assessments/{found.pk}/findings/", {"title": "x"}).status_code
        == 403
    )
    assert people["audrey"].post(f"/risk/assessments/{found.pk}/findings/run/").status_code == 403
    assert (
        people["audrey"]
        .post(f"/risk/findings/{finding.pk}/state/", {"state": "confirmed"})
        .status_code
        == 403
    )
    assert people["clive"].get(f"/risk/assessments/{found.pk}/findings/").status_code == 403
    assert people["clive"].get(f"/risk/findings/{finding.pk}/").status_code == 403


def test_recording_a_finding_without_a_title_is_refused(people) -> None:
    found = make_assessment(make_site("hq"))
    response = people["mona"].post(f"/risk/assessments/{found.pk}/findings/", {"notes": "?"})
    assert response.status_code == 400
    assert 'data-field-error="title"' in text(response)
    assert not Finding.objects.exists()


def test_recording_a_finding_with_a_photo(people, frozen_clock) -> None:
    found = make_assessment(make_site("hq"))
    upload = io.BytesIO(png())
    upload.name = "door.png"
    response = people["mona"].post(
        f"/risk/assessments/{found.pk}/findings/",
        {
            "title": "Door wedged open",
            "notes": "By the dock",
            "photo": upload,
            "caption": "The wedge",
        },
    )
    created = Finding.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/risk/findings/{created.pk}/"
    assert created.source == FindingSource.MANUAL
    photo = created.photos.get()
    assert photo.caption == "The wedge"
    page = text(people["mona"].get(response["Location"]))
    assert f"/risk/findings/photos/{photo.pk}/" in page and "Mona Example" in page


def test_a_bad_photo_is_refused_and_takes_its_finding_with_it(people, frozen_clock) -> None:
    found = make_assessment(make_site("hq"))
    upload = io.BytesIO(b"not an image at all")
    upload.name = "door.png"
    response = people["mona"].post(
        f"/risk/assessments/{found.pk}/findings/", {"title": "Door", "photo": upload}
    )
    assert response.status_code == 400
    assert "not a readable image" in text(response)
    assert not Finding.objects.exists()


def test_a_findings_photo_is_served_to_those_who_may_see_it(people) -> None:
    found = make_assessment(make_site("hq"))
    finding = make_finding(found)
    data = png()
    photo = FindingPhoto.objects.create(
        finding=finding,
        sha256=media.put(data),
        content_type="image/png",
        added_by="user:mona",
        added_at=clock.now(),
    )
    response = people["audrey"].get(f"/risk/findings/photos/{photo.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response.content == data
    assert people["clive"].get(f"/risk/findings/photos/{photo.pk}/").status_code == 403
    assert people["mona"].get("/risk/findings/photos/999/").status_code == 404


def test_confirming_and_dismissing_a_finding(people, frozen_clock) -> None:
    found = make_assessment(make_site("hq"))
    finding = make_finding(found)
    url = f"/risk/findings/{finding.pk}/state/"
    response = people["mona"].post(url, {"state": "confirmed", "notes": "Seen twice"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.state == FindingState.CONFIRMED
    people["mona"].post(url, {"state": "dismissed"})
    finding.refresh_from_db()
    assert finding.state == FindingState.DISMISSED


def test_an_unknown_finding_state_is_refused(people) -> None:
    finding = make_finding(make_assessment(make_site("hq")))
    response = people["mona"].post(f"/risk/findings/{finding.pk}/state/", {"state": "lost"})
    assert response.status_code == 400
    finding.refresh_from_db()
    assert finding.state == FindingState.PROPOSED


def test_running_the_rules_reports_what_they_found_and_which_failed(people, frozen_clock) -> None:
    found = make_assessment(make_site("hq"))
    response = people["mona"].post(f"/risk/assessments/{found.pk}/findings/run/")
    assert response.status_code == 200
    page = text(response)
    assert "data-run-report" in page and "Automatic rules: this run" in page


def test_a_failing_rule_is_listed_and_the_others_still_propose(
    people, monkeypatch, frozen_clock
) -> None:
    def broken(ctx: rules.Context) -> list[rules.Proposed]:
        raise RuntimeError("the door list could not be read")

    def doors(ctx: rules.Context) -> list[rules.Proposed]:
        return [
            rules.Proposed(
                subject="door:7",
                title="Quarantine door held open 5 times",
                evidence={"door": "Quarantine", "held_open_alarms": 5},
                suggested_treatment="Fit a door closer.",
            )
        ]

    monkeypatch.setitem(rules.RULES, "broken", rules.Rule("broken", "Broken rule", broken))
    monkeypatch.setitem(
        rules.RULES, "made-doors", rules.Rule("made-doors", "Doors held open", doors)
    )
    found = make_assessment(make_site("hq"))
    response = people["mona"].post(f"/risk/assessments/{found.pk}/findings/run/")
    assert response.status_code == 200
    page = text(response)
    assert 'data-failed-rule="broken"' in page
    assert "the door list could not be read" in page
    assert 'data-ran-rule="made-doors"' in page
    assert "Quarantine door held open 5 times" in page
    assert "<dt>Held open alarms</dt><dd>5</dd>" in page
    created = Finding.objects.get(rule="made-doors")
    assert created.source == FindingSource.AUTOMATIC


def test_a_finalised_assessment_takes_no_new_findings_from_the_page(people) -> None:
    found = make_assessment(make_site("hq"), state=AssessmentState.FINAL)
    page = text(people["mona"].get(f"/risk/assessments/{found.pk}/findings/"))
    assert 'data-form="finding"' not in page and 'data-form="run-rules"' not in page
