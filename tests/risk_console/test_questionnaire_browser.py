"""The questionnaire in the browser, on a desktop and a tablet: start an assessment from the
dashboard, answer it section by section with the progress moving, see the missing list when
finalising too early, then confirm and finalise."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.risk import scoring
from mailwarden.risk.models import Assessment, Risk
from mailwarden.risk.questionnaire import Question
from mailwarden.risk.services import register
from tests.factories import MANAGER, make_site
from tests.risk_console.conftest import DESKTOP, TABLET, shot, sign_in
from tests.risk_console.page_fixtures import (
    make_assessment,
    template_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def answer(page, question: Question) -> None:
    box = page.locator(f"[data-question='{question.key}']")
    if question.kind == "yesno":
        box.locator("input[value='yes']").check()
    elif question.kind in ("choice", "multi"):
        box.locator(f"input[value='{question.choices[0][0]}']").check()
    elif question.kind == "number":
        box.locator(f"input[name='{question.key}']").fill("12")
    else:
        box.locator(f"textarea[name='{question.key}']").fill("Checked on the walk-round.")


def score_every_risk(found: Assessment) -> None:
    factors = scoring.method(found.method, found.method_params).factors
    for risk in Risk.objects.filter(assessment=found):
        register.score_risk(MANAGER, risk.pk, inherent={f.key: f.high for f in factors})


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_answering_and_finalising_an_assessment(open_page, make_user, viewport) -> None:
    name = "desktop" if viewport == DESKTOP else "tablet"
    make_user(Role.SECURITY_MANAGER, "mona", first_name="Mona", last_name="Manager")
    make_site("hq")
    page = open_page(viewport)
    sign_in(page, "mona")
    page.goto("/risk/")
    page.click("[data-site='hq'] [data-action='start']")
    page.wait_for_url("**/risk/assessments/new/?site=hq")
    expect(page.locator("#id_site")).to_have_value("hq")
    page.fill("#id_title", "Spring walk-round")
    page.select_option("#id_method", "matrix")
    page.click("button:has-text('Start the assessment')")
    page.wait_for_url("**/questions/*/")
    found = Assessment.objects.get(title="Spring walk-round")
    template = template_of(found)
    total = sum(len(s.questions) for s in template.sections)
    expect(page.locator(".risk-progress-label")).to_contain_text(f"0 of {total}")
    shot(page, f"risk-questionnaire-{name}")

    # The first section only, then an early finalise lists what is missing.
    first = template.sections[0]
    for question in first.questions:
        answer(page, question)
    page.click("button[name='save']")
    page.wait_for_url(f"**/questions/{first.key}/")
    expect(page.locator(".flash")).to_contain_text("saved")
    expect(page.locator(f"[data-section='{first.key}'] [data-count]")).to_contain_text("done")
    expect(page.locator(".risk-progress-label")).to_contain_text(
        f"{len(first.questions)} of {total}"
    )
    page.click("nav.risk-tabs >> text=Finalise")
    page.check("#confirm-finalise")
    page.click("[data-form='finalise'] button[type=submit]")
    expect(page.locator("[data-refusal]")).to_contain_text("It still needs")
    later = next(q for s in template.sections[1:] for q in s.questions if q.required)
    expect(page.locator("[data-missing]")).to_contain_text(later.text)
    shot(page, f"risk-finalise-refused-{name}")

    # The rest, section by section, ends on the confirmation page.
    page.goto(f"/risk/assessments/{found.pk}/questions/{template.sections[1].key}/")
    for section in template.sections[1:]:
        expect(page.locator("[data-current-section]")).to_have_attribute(
            "data-current-section", section.key
        )
        for question in section.questions:
            answer(page, question)
        page.click("button[name='next']")
        page.wait_for_load_state()
    page.wait_for_url(f"**/assessments/{found.pk}/finalise/")
    expect(page.locator(".risk-progress-label")).to_contain_text(f"{total} of {total}")

    score_every_risk(found)
    page.reload()
    expect(page.locator("[data-complete]")).to_be_visible()
    # Finalising needs the box ticked.
    page.click("[data-form='finalise'] button[type=submit]")
    expect(page.locator("[data-refusal]")).to_contain_text("Tick the box")
    page.check("#confirm-finalise")
    page.click("[data-form='finalise'] button[type=submit]")
    page.wait_for_url(f"**/assessments/{found.pk}/")
    expect(page.locator("[data-finalised]")).to_contain_text("Mona Manager")
    expect(page.locator("[data-method-fixed]")).to_be_visible()
    shot(page, f"risk-assessment-final-{name}")
    page.goto("/risk/")
    expect(page.locator("[data-site='hq'] [data-action='reassess']")).to_be_visible()
    shot(page, f"risk-dashboard-{name}")


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_an_auditor_reads_the_questionnaire(open_page, make_user, viewport) -> None:
    make_user(Role.AUDITOR, "audrey")
    found = make_assessment(make_site("hq"))
    section = template_of(found).sections[0]
    page = open_page(viewport)
    sign_in(page, "audrey")
    page.goto(f"/risk/assessments/{found.pk}/questions/{section.key}/")
    expect(page.locator("[data-question] input").first).to_be_disabled()
    expect(page.locator("button[name='next']")).to_have_count(0)
    expect(page.locator(".risk-sections li")).to_have_count(len(template_of(found).sections))
