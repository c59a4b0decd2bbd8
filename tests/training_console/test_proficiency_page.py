"""The proficiency pages in the browser: the plots draw with no script or CSP error, on a
desktop and a tablet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.training.models import TipMode, TipTrial
from tests.training_console.conftest import DESKTOP, TABLET, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def trials(user, weeks: int) -> None:
    now = clock.now()
    for week in range(weeks):
        at = now - timedelta(days=7 * (weeks - week))
        for n, outcome in enumerate(
            ["hit", "hit", "miss", "hit", "false_alarm", "correct_rejection", "correct_rejection"]
        ):
            signal = outcome in ("hit", "miss")
            TipTrial.objects.create(
                user=user,
                mode=TipMode.TRAINING,
                category=["knife", "gun", "ied", "explosive"][(n + week) % 4] if signal else "",
                background="simulated",
                image_sha256="0" * 64,
                width=512,
                height=384,
                presented_at=at,
                answered_at=at + timedelta(seconds=2 + n),
                response="threat" if outcome in ("hit", "false_alarm") else "clear",
                outcome=outcome,
                response_ms=(2 + n) * 1000,
            )


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_the_proficiency_pages_draw(open_page, make_user, viewport) -> None:
    make_user(Role.SECURITY_MANAGER, "mona")
    sam = make_user(Role.SCREENER, "sam")
    make_user(Role.SCREENER, "idle")
    trials(sam, 5)
    page = open_page(viewport)
    sign_in(page, "mona")
    page.goto("/training/proficiency/")
    expect(page.locator("[data-screener='idle'] [data-no-trials]")).to_have_text("No trials yet")
    name = "desktop" if viewport == DESKTOP else "tablet"
    shot(page, f"proficiency-list-{name}")
    page.click("[data-screener='sam'] a")
    page.wait_for_url(f"**/training/proficiency/{sam.pk}/")
    expect(page.locator("[data-plot='d′ by week'] svg")).to_be_visible()
    # One point a week; the same answers each week draw a flat line.
    expect(page.locator("[data-plot='d′ by week'] circle")).to_have_count(5)
    expect(page.locator("[data-bars='Hit rate']")).to_be_visible()
    shot(page, f"proficiency-screener-{name}")
    page.goto("/training/tip-policy/")
    expect(page.locator("[data-tip-site='hq']")).to_have_count(0)
