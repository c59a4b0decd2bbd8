"""Live TIP on the real screening workstation, in the browser: the test image in place of the
scan, a click on the threat and "Clear" is a hit (desktop); "Clear" with no mark is a miss
(tablet); either way the screener is told, no decision is recorded, and the real image follows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.screening import decode
from mailwarden.screening import services as screening
from mailwarden.screening.models import Decision, ScanSource
from mailwarden.training.models import TipOutcome, TipTrial
from mailwarden.training.services import tip_live
from mailwarden.xray.projection import ScanConfig
from mailwarden.xray.simulator import simulate_parcel
from tests.factories import intake, make_recipient, make_site
from tests.training.conftest_e import seed_for
from tests.training_console.conftest import DESKTOP, TABLET, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCK_SCANNER = Actor.device("dock-scanner", Role.SCREENER)


@pytest.fixture
def projecting_item(make_user):
    """An item scanned with an everyday parcel at a site with live TIP on, and a projector seed
    under which the screener's first look at it carries a test image."""
    site = make_site()
    manager = Actor.for_user(make_user(Role.SECURITY_MANAGER, "mona"))
    tip_live.set_policy(manager, site.code, enabled=True, rate_percent=5, categories=["gun"])
    item = intake(site, make_recipient())
    bag = simulate_parcel(3, ScanConfig(shape=(384, 512)), clutter=(2, 3))
    screening.import_scan(
        DOCK_SCANNER,
        item.uid,  # type: ignore[attr-defined]
        screening.ScanUpload(high=decode.tiff16(bag.high), low=decode.tiff16(bag.low)),
        source=ScanSource.API,
    )
    user = make_user(Role.SCREENER, "sam")
    tip_live.PROJECTOR.seed = seed_for(user.pk, item.uid, 5, projects=True)  # type: ignore[attr-defined]
    yield item
    tip_live.PROJECTOR.seed = None


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_live_tip_on_the_workstation(open_page, projecting_item, viewport) -> None:
    uid = projecting_item.uid
    page = open_page(viewport)
    sign_in(page, "sam")
    page.goto(f"/screening/items/{uid}/")
    image = page.locator("[data-image]")
    image.wait_for(state="visible")
    expect(image).to_have_attribute(
        "src", f"/screening/items/{uid}/scans/{TipTrial.objects.get().scan_id}/shown.png"
    )
    trial = TipTrial.objects.get()
    name = "desktop" if viewport == DESKTOP else "tablet"
    if viewport == DESKTOP:
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        assert box is not None
        x0, y0, x1, y1 = trial.bbox
        page.mouse.click(
            box["x"] + box["width"] * (x0 + x1) / 2, box["y"] + box["height"] * (y0 + y1) / 2
        )
        expect(page.locator("[data-mark]")).to_be_visible()
        expect(page.locator("[data-mark-input]")).not_to_have_value("")
        shot(page, f"tip-live-marked-{name}")
    page.locator("button[data-decision='clear']").click()
    page.wait_for_url(f"**/screening/items/{uid}/")
    told = page.get_by_text("This was a test image")
    expect(told).to_be_visible()
    shot(page, f"tip-live-answered-{name}")
    trial.refresh_from_db()
    if viewport == DESKTOP:
        assert trial.outcome == TipOutcome.HIT
        expect(told).to_contain_text("Well found")
    else:
        assert trial.outcome == TipOutcome.MISS
        expect(told).to_contain_text("you did not flag it")
    assert not Decision.objects.exists()
    # The item's own image is back: the next "Clear" is a real decision.
    # (from the same address: its views, drawn from the scan's own files, are back)
    expect(page.locator('[data-view="organic"]')).to_be_enabled()
    page.locator("button[data-decision='clear']").click()
    page.wait_for_url(f"**/screening/items/{uid}/")
    expect(page.locator("[data-outcome]")).to_be_visible()
    assert Decision.objects.count() == 1
