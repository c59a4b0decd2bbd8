"""Live TIP: each site's settings, the draw, the projected image over the real scan, the answer
as a hit or a miss, the ledger, and that no real item is decided on a projected image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mailwarden.core import ledger, media, projections
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.screening import services as screening
from mailwarden.screening.models import Decision, ScanSource
from mailwarden.training.models import TipMode, TipOutcome, TipSitePolicy, TipTrial
from mailwarden.training.services import tip_live
from tests.training.conftest_e import *  # noqa: F403
from tests.training.conftest_e import DOCK_SCANNER, encode

pytestmark = pytest.mark.django_db


def actions(subject_type: str) -> list[str]:
    return list(
        LedgerEntry.objects.filter(subject_type=subject_type)
        .order_by("seq")
        .values_list("action", flat=True)
    )


# ----------------------------------------------------------------------------- settings


def test_a_manager_sets_a_sites_rate_and_categories_on_the_ledger(site, manager):
    saved = tip_live.set_policy(
        manager, site.code, enabled=True, rate_percent=4.5, categories=["gun", "knife", "gun"]
    )
    assert (saved.enabled, saved.rate_percent, saved.categories) == (True, 4.5, ["knife", "gun"])
    row = TipSitePolicy.objects.get(site=site)
    assert row.updated_by == manager.label
    [entry] = [e for e in ledger.entries_for("site", site.code) if e.action.startswith("training")]
    assert entry.action == "training.tip_policy.changed"
    assert ledger.entry_data(entry)["rate_percent"] == 4.5


def test_every_category_is_stored_as_none_chosen(site, manager):
    saved = tip_live.set_policy(
        manager,
        site.code,
        enabled=True,
        rate_percent=3,
        categories=["ied", "gun", "knife", "explosive"],
    )
    assert saved.categories == []


@pytest.mark.parametrize(
    ("rate", "categories", "field", "words"),
    [
        (25.0, [], "rate_percent", "from 0 to 20"),
        (-1.0, [], "rate_percent", "from 0 to 20"),
        (float("nan"), [], "rate_percent", "from 0 to 20"),
        (5.0, ["sword"], "categories", "unknown threat category 'sword'"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(site, manager, rate, categories, field, words):
    with pytest.raises(ServiceError) as refused:
        tip_live.set_policy(
            manager, site.code, enabled=True, rate_percent=rate, categories=categories
        )
    assert refused.value.field == field
    assert words in refused.value.message
    assert not TipSitePolicy.objects.exists()
    assert "training.tip_policy.changed" not in actions("site")


def test_only_a_security_manager_sets_live_tip(site, screener, actor_for):
    for actor in (screener, actor_for(Role.AUDITOR)):
        with pytest.raises(Forbidden):
            tip_live.set_policy(actor, site.code, enabled=True, rate_percent=5)
    assert not TipSitePolicy.objects.exists()


def test_an_unknown_site_is_named(manager, db):
    with pytest.raises(NotFound) as refused:
        tip_live.set_policy(manager, "nowhere", enabled=True, rate_percent=5)
    assert "nowhere" in refused.value.message


# ----------------------------------------------------------------------------- the draw


def test_the_draw_is_fixed_per_screener_and_item_and_runs_at_the_rate():
    rate = 10.0
    uids = [f"MW{n:06d}" for n in range(4000)]
    drawn = [tip_live.draw("a-seed", 7, uid).random() * 100 < rate for uid in uids]
    again = [tip_live.draw("a-seed", 7, uid).random() * 100 < rate for uid in uids]
    assert drawn == again
    share = sum(drawn) / len(drawn)
    # Binomial(4000, 0.1): the standard deviation of the share is 0.0047; 4 of them either side.
    assert 0.081 < share < 0.119
    other_screener = [tip_live.draw("a-seed", 8, uid).random() * 100 < rate for uid in uids]
    assert other_screener != drawn


# ----------------------------------------------------------------------------- projecting


def test_a_projection_replaces_the_image_until_it_is_answered(
    live_site, scan, screener, projecting
):
    shown = projections.project(screener, scan.item.uid, scan.pk)
    assert shown is not None
    assert shown.scan_id == scan.pk
    png = Image.open(io.BytesIO(media.get(shown.image_sha256)))
    # The same size as the scan's own rendering, so marks and boxes line up.
    assert png.size == (scan.width, scan.height)
    assert projections.project(screener, scan.item.uid, scan.pk) == shown
    assert projections.unanswered(screener, scan.item.uid)
    trial = TipTrial.objects.get()
    assert (trial.mode, trial.category, trial.scan_id, trial.item_uid) == (
        TipMode.LIVE,
        "knife",
        scan.pk,
        scan.item.uid,
    )
    assert trial.background == "cleared-scan"
    x0, y0, x1, y1 = trial.bbox
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert actions("tip_trial") == ["training.tip_projection.shown"]
    # Nothing on the item's own record, which the screener can open before answering.
    assert "training.tip_projection.shown" not in [
        e.action for e in ledger.entries_for("mailitem", scan.item.uid)
    ]


def test_the_projected_image_differs_from_the_scan_only_around_the_threat(
    live_site, scan, screener, projecting
):
    shown = projections.project(screener, scan.item.uid, scan.pk)
    assert shown is not None
    real = np.asarray(Image.open(io.BytesIO(media.get(scan.rendered_sha256))).convert("RGB"))
    test = np.asarray(Image.open(io.BytesIO(media.get(shown.image_sha256))).convert("RGB"))
    changed = np.abs(real.astype(int) - test.astype(int)).sum(axis=2) > 12
    x0, y0, x1, y1 = TipTrial.objects.get().bbox
    rows, cols = changed.shape
    inside = np.zeros_like(changed)
    # The rendering's smoothing carries a threat's edge a few pixels past its box.
    pad = 8
    inside[
        max(0, int(y0 * rows) - pad) : int(y1 * rows) + pad,
        max(0, int(x0 * cols) - pad) : int(x1 * cols) + pad,
    ] = True
    assert changed[inside].sum() > 50
    assert changed[~inside].mean() < 0.001


def test_a_marked_threat_is_a_hit_and_no_decision_is_recorded(
    live_site, scan, screener, projecting
):
    uid = scan.item.uid
    projections.project(screener, uid, scan.pk)
    x0, y0, x1, y1 = TipTrial.objects.get().bbox
    answer = projections.answer(screener, uid, threat=True, mark=((x0 + x1) / 2, (y0 + y1) / 2))
    assert answer is not None and answer.hit
    assert answer.message.startswith("This was a test image: a knife was projected")
    assert "Well found. Now screen the item itself" in answer.message
    trial = TipTrial.objects.get()
    assert trial.outcome == TipOutcome.HIT
    assert trial.response == "threat"
    assert trial.response_ms is not None
    assert not Decision.objects.exists()
    assert actions("tip_trial") == [
        "training.tip_projection.shown",
        "training.tip_projection.answered",
    ]
    # Answered: the item's own image is back, and the real decision goes through.
    assert not projections.unanswered(screener, uid)
    assert projections.project(screener, uid, scan.pk) is None
    assert projections.answer(screener, uid, threat=False, mark=None) is None
    decision = screening.screen_item(screener, uid, screening.Checklist(indicators=[]))
    assert decision.item.uid == uid


def test_clearing_a_test_image_is_a_miss_and_the_screener_is_told(
    live_site, scan, screener, projecting
):
    uid = scan.item.uid
    projections.project(screener, uid, scan.pk)
    answer = projections.answer(screener, uid, threat=False, mark=None)
    assert answer is not None and not answer.hit
    assert "This was a test image" in answer.message
    assert "you did not flag it" in answer.message
    assert "The miss is recorded" in answer.message
    assert TipTrial.objects.get().outcome == TipOutcome.MISS
    assert not Decision.objects.exists()


def test_a_mark_away_from_the_threat_is_a_miss(live_site, scan, screener, projecting):
    uid = scan.item.uid
    projections.project(screener, uid, scan.pk)
    x0, y0, x1, y1 = TipTrial.objects.get().bbox
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    far = (0.01 if cx > 0.5 else 0.99, 0.01 if cy > 0.5 else 0.99)
    answer = projections.answer(screener, uid, threat=True, mark=far)
    assert answer is not None and not answer.hit
    assert "your mark was not on it" in answer.message
    assert TipTrial.objects.get().outcome == TipOutcome.MISS


def test_a_mark_off_the_image_is_refused_and_changes_nothing(live_site, scan, screener, projecting):
    projections.project(screener, scan.item.uid, scan.pk)
    with pytest.raises(ServiceError) as refused:
        projections.answer(screener, scan.item.uid, threat=True, mark=(1.5, 0.2))
    assert refused.value.field == "mark"
    assert projections.unanswered(screener, scan.item.uid)


def test_the_real_decision_waits_for_the_answer(live_site, scan, screener, projecting):
    projections.project(screener, scan.item.uid, scan.pk)
    with pytest.raises(Conflict):
        screening.screen_item(screener, scan.item.uid, screening.Checklist(indicators=[]))
    assert not Decision.objects.exists()


def test_no_projection_when_the_draw_says_no(live_site, scan, screener, not_projecting):
    assert projections.project(screener, scan.item.uid, scan.pk) is None
    assert projections.project(screener, scan.item.uid, scan.pk) is None
    assert not TipTrial.objects.exists()
    assert projections.answer(screener, scan.item.uid, threat=True, mark=None) is None


def test_no_projection_where_live_tip_is_off(site, scan, screener, manager, projecting):
    assert projections.project(screener, scan.item.uid, scan.pk) is None
    tip_live.set_policy(manager, site.code, enabled=False, rate_percent=10)
    assert projections.project(screener, scan.item.uid, scan.pk) is None
    assert not TipTrial.objects.exists()


def test_no_projection_for_someone_who_does_not_screen(live_site, scan, actor_for, projecting):
    auditor = actor_for(Role.AUDITOR)
    assert projections.project(auditor, scan.item.uid, scan.pk) is None
    assert projections.project(DOCK_SCANNER, scan.item.uid, scan.pk) is None
    assert not TipTrial.objects.exists()


def test_a_colour_composite_carries_no_projection(
    live_site, item, screener, colour_rgb, projecting
):
    colour = screening.import_scan(
        DOCK_SCANNER,
        item.uid,
        screening.ScanUpload(image=encode(colour_rgb, "PNG"), filename="bag.png"),
        source=ScanSource.API,
    )
    assert colour.kind == "colour"
    assert projections.project(screener, item.uid, colour.pk) is None
    assert not TipTrial.objects.exists()


def test_a_projection_belongs_to_its_scan_and_its_screener(
    live_site, scan, screener, actor_for, projecting
):
    shown = projections.project(screener, scan.item.uid, scan.pk)
    assert shown is not None
    assert projections.project(screener, scan.item.uid, scan.pk + 1000) is None
    other = actor_for(Role.SCREENER, "sky")
    assert not projections.unanswered(other, scan.item.uid)
    assert projections.answer(other, scan.item.uid, threat=True, mark=None) is None


def test_the_test_image_is_drawn_at_the_screeners_training_level(
    live_site, scan, screener, projecting
):
    from mailwarden.core import clock
    from mailwarden.training.models import TipLevel

    TipLevel.objects.create(
        user_id=screener.user_id, category="knife", level=4, updated_at=clock.now()
    )
    projections.project(screener, scan.item.uid, scan.pk)
    difficulty = TipTrial.objects.get().difficulty
    assert difficulty["level"] == 4
    assert difficulty["viewpoint"] == 0.75
    assert difficulty["superposition"] == 0.75
