"""A TIP training session in the browser, on a desktop and on a tablet: a click on the threat is
a hit, clearing a threat image is a miss (with the threat outlined), and the session ends with a
summary."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.training.models import TipOutcome, TipSession, TipTrial
from mailwarden.training.services import tip
from tests.training_console.conftest import DESKTOP, TABLET, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def click_on_threat(page, trial: TipTrial) -> None:
    image = page.locator("[data-tip-image]")
    image.wait_for(state="visible")
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    assert box is not None
    x0, y0, x1, y1 = trial.bbox
    page.mouse.click(
        box["x"] + box["width"] * (x0 + x1) / 2, box["y"] + box["height"] * (y0 + y1) / 2
    )


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_a_session_hit_miss_and_summary(open_page, make_user, viewport) -> None:
    user = make_user(Role.SCREENER, "trainee")
    actor = Actor.for_user(user)
    # Two images, both with a threat: the first is found, the second cleared.
    session = tip.start_session(actor, size=2, threat_share=1.0, categories=["gun"], seed=12)
    page = open_page(viewport)
    sign_in(page, "trainee")
    page.goto("/training/tip/")
    expect(page.locator("[data-resume]")).to_be_visible()
    page.click("[data-resume] a")
    page.wait_for_url(f"**/training/tip/{session.pk}/")
    threat = page.locator("[data-tip-threat]")
    expect(threat).to_be_disabled()  # no mark yet
    first = TipTrial.objects.get(session=session, position=0)
    click_on_threat(page, first)
    expect(page.locator("[data-tip-mark]")).to_be_visible()
    expect(threat).to_be_enabled()
    threat.click()
    feedback = page.locator("[data-feedback]")
    expect(feedback).to_have_attribute("data-feedback", "hit")
    expect(feedback).to_contain_text("You found the")
    name = "desktop" if viewport == DESKTOP else "tablet"
    shot(page, f"tip-hit-{name}")
    first.refresh_from_db()
    assert first.outcome == TipOutcome.HIT and first.mark is not None
    assert first.response_ms is not None

    page.click("[data-tip-next]")
    expect(page.locator("h1")).to_have_text("Image 2 of 2")
    page.click("[data-tip-clear]")
    expect(feedback).to_have_attribute("data-feedback", "miss")
    expect(page.locator("[data-tip-box]")).to_be_attached()  # where the threat was
    shot(page, f"tip-miss-{name}")

    page.click("[data-tip-next]")
    summary = page.locator("[data-tip-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("1 of 2")
    shot(page, f"tip-summary-{name}")
    assert TipSession.objects.get(pk=session.pk).finished_at is not None
    assert TipTrial.objects.get(session=session, position=1).outcome == TipOutcome.MISS


def test_the_keyboard_clears_and_a_new_session_starts_from_the_page(open_page, make_user) -> None:
    make_user(Role.SCREENER, "keys")
    page = open_page(DESKTOP)
    sign_in(page, "keys")
    page.goto("/training/tip/")
    expect(page.locator("[data-no-trials]")).to_be_visible()
    page.check("input[name=size][value='10']")
    page.click("[data-tip-start] button[type=submit]")
    page.wait_for_url("**/training/tip/*/")
    page.locator("[data-tip-image]").wait_for(state="visible")
    page.keyboard.press("c")
    expect(page.locator("[data-feedback]")).to_be_visible()
    trial = TipTrial.objects.get()
    assert trial.response == "clear" and trial.outcome in (
        TipOutcome.MISS,
        TipOutcome.CORRECT_REJECTION,
    )
