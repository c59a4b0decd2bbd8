"""Live threat image projection (TIP) on the screening workstation: the :mod:`core.projections`
protocol, and each site's live TIP settings.

Now and then, at the rate the site sets, a screener who opens an item awaiting screening is
shown that item's real X-ray with a fictional threat projected into it. Their next answer on the
workstation goes here first: a raise or a mark on the threat is a hit, anything else a miss. Both
are TIP trials (mode LIVE) and both are on the ledger; no screening decision comes of either, so
a real item is never cleared or held on the strength of a projected image.

Whether an item gets a projection is drawn once per screener and item from a generator seeded by
the server's secret (or :attr:`LiveProjector.seed`, which tests set), so opening the item again
gives the same answer: reloading the page cannot fish for a test image, nor dodge one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from mailwarden.core import clock, ledger, media
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.projections import Answer, ProjectedImage
from mailwarden.custody.states import State
from mailwarden.directory.queries import site_by_code
from mailwarden.screening import services as screening
from mailwarden.screening.models import Scan
from mailwarden.training.models import TipLevel, TipMode, TipOutcome, TipSitePolicy, TipTrial
from mailwarden.training.permissions import MANAGE_TRAINING, TIP_TRAINING
from mailwarden.training.services.tip_images import LEVELS, Background, difficulty_for, make_image
from mailwarden.xray.tip import CATEGORIES

# A projection on more than one item in five would train screeners to expect them.
MAX_RATE_PERCENT = 20.0
# A mark this far outside the threat's box (as a share of the image) still counts as on it.
MARK_MARGIN = 0.03

NOUNS = {
    "knife": "a knife",
    "gun": "a gun",
    "ied": "an improvised explosive device",
    "explosive": "an explosive-like mass",
}


# ----------------------------------------------------------------------------- site settings


@dataclass(frozen=True)
class SiteSettings:
    """A site's live TIP settings; a site that never set any projects nothing."""

    site_code: str
    site_name: str
    enabled: bool
    rate_percent: float
    categories: list[str]
    updated_at: object | None
    updated_by: str


def settings_of(site_code: str) -> SiteSettings:
    site = site_by_code(site_code)
    row = TipSitePolicy.objects.filter(site=site).first()
    if row is None:
        return SiteSettings(site.code, site.name, False, 0.0, [], None, "")
    return SiteSettings(
        site.code,
        site.name,
        row.enabled,
        row.rate_percent,
        list(row.categories),
        row.updated_at,
        row.updated_by,
    )


def _clean_categories(categories: Sequence[str]) -> list[str]:
    chosen = set()
    for value in categories:
        name = str(value).strip().lower()
        if name not in CATEGORIES:
            raise ServiceError(
                f"unknown threat category {value!r}; categories are {', '.join(CATEGORIES)}",
                "categories",
            )
        chosen.add(name)
    # Every category chosen is the same as none chosen; stored as the empty list.
    return [] if chosen == set(CATEGORIES) else [c for c in CATEGORIES if c in chosen]


def set_policy(
    actor: Actor,
    site_code: str,
    *,
    enabled: bool,
    rate_percent: float,
    categories: Sequence[str] = (),
) -> SiteSettings:
    """Set a site's live TIP: on or off, the share of opened items that get a projected threat
    (0 to 20 %), and the threat categories drawn from (none: all of them)."""
    require(actor, MANAGE_TRAINING, "changing live TIP settings")
    site = site_by_code(site_code)
    rate = float(rate_percent)
    if not math.isfinite(rate) or not 0.0 <= rate <= MAX_RATE_PERCENT:
        raise ServiceError(
            f"must be from 0 to {MAX_RATE_PERCENT:g} %, not {rate_percent}", "rate_percent"
        )
    chosen = _clean_categories(categories)
    with transaction.atomic():
        row = TipSitePolicy.objects.select_for_update().filter(site=site).first()
        if row is None:
            row = TipSitePolicy(site=site)
        row.enabled = bool(enabled)
        row.rate_percent = rate
        row.categories = chosen
        row.updated_at = clock.now()
        row.updated_by = actor.label
        row.save()
        ledger.append(
            actor,
            "training.tip_policy.changed",
            "site",
            site.code,
            {"enabled": row.enabled, "rate_percent": rate, "categories": chosen},
        )
    return settings_of(site.code)


# ----------------------------------------------------------------------------- the projector


def draw(seed: str, user_id: int, item_uid: str) -> np.random.Generator:
    """The generator for one screener and item: the same every time they open it."""
    digest = hmac.new(seed.encode(), f"{user_id}:{item_uid}".encode(), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _where(bbox: Sequence[float]) -> str:
    x = (bbox[0] + bbox[2]) / 2
    y = (bbox[1] + bbox[3]) / 2
    row = "top" if y < 1 / 3 else "bottom" if y > 2 / 3 else "middle"
    col = "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"
    if row == "middle" and col == "centre":
        return "in the centre of the image"
    if row == "middle":
        return f"on the {col} of the image"
    if col == "centre":
        return f"at the {row} of the image"
    return f"at the {row} {col} of the image"


def _on_threat(mark: tuple[float, float], bbox: Sequence[float]) -> bool:
    x, y = mark
    x0, y0, x1, y1 = bbox
    return x0 - MARK_MARGIN <= x <= x1 + MARK_MARGIN and y0 - MARK_MARGIN <= y <= y1 + MARK_MARGIN


def _check_mark(mark: tuple[float, float] | None) -> tuple[float, float] | None:
    if mark is None:
        return None
    try:
        x, y = (float(v) for v in mark)
    except (TypeError, ValueError):
        raise ServiceError("must be two numbers, x and y", "mark") from None
    if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ServiceError("must lie on the image: x and y from 0 to 1", "mark")
    return x, y


def hit_message(noun: str, where: str) -> str:
    return (
        f"This was a test image: {noun} was projected {where}. Well found. "
        "Now screen the item itself: its real image is shown again."
    )


def miss_message(noun: str, where: str, *, marked_elsewhere: bool) -> str:
    what = "your mark was not on it" if marked_elsewhere else "you did not flag it"
    return (
        f"This was a test image: {noun} was projected {where} and {what}. The miss is recorded "
        "for your training. Now screen the item itself: its real image is shown again."
    )


def _unanswered(user_id: int, item_uid: str) -> TipTrial | None:
    return (
        TipTrial.objects.filter(
            user_id=user_id, mode=TipMode.LIVE, item_uid=item_uid, answered_at__isnull=True
        )
        .order_by("-presented_at", "-id")
        .first()
    )


class LiveProjector:
    """The training app's :class:`core.projections.ImageProjector`."""

    def __init__(self) -> None:
        # None: the server's secret key, which no screener knows.
        self.seed: str | None = None

    def _seed(self) -> str:
        return self.seed if self.seed is not None else str(settings.SECRET_KEY)

    def project(self, actor: Actor, item_uid: str, scan_id: int) -> ProjectedImage | None:
        user_id = actor.user_id
        if user_id is None or not actor.has(*TIP_TRAINING):
            return None
        uid = item_uid.strip().upper()
        waiting = _unanswered(user_id, uid)
        if waiting is not None:
            if waiting.scan_id != scan_id:
                return None
            return ProjectedImage(waiting.pk, scan_id, waiting.image_sha256)
        # One draw per screener and item, whatever it gave.
        if TipTrial.objects.filter(user_id=user_id, mode=TipMode.LIVE, item_uid=uid).exists():
            return None
        scan = Scan.objects.select_related("item", "item__site").filter(pk=scan_id).first()
        if scan is None or scan.item.uid != uid or scan.item.state != State.AWAITING_SCREENING:
            return None
        policy = TipSitePolicy.objects.filter(site_id=scan.item.site_id).first()
        if policy is None or not policy.enabled or policy.rate_percent <= 0:
            return None
        rng = draw(self._seed(), user_id, uid)
        if rng.random() * 100 >= policy.rate_percent:
            return None
        # A colour composite has lost the two energies a projection is added to.
        if scan.kind == "colour":
            return None
        decoded = screening.scan_decoded(scan)
        if decoded.kind != "pair" or decoded.high is None or decoded.low is None:
            return None
        categories = list(policy.categories) or list(CATEGORIES)
        category = str(rng.choice(categories))
        # At the screener's rung of the training ladder for the category; only training
        # sessions move them along it. The real bag sets the clutter.
        level = (
            TipLevel.objects.filter(user_id=user_id, category=category)
            .values_list("level", flat=True)
            .first()
        )
        level = min(LEVELS, max(1, level or 1))
        difficulty = difficulty_for(level)
        try:
            image = make_image(
                rng,
                category=category,
                difficulty=difficulty,
                background=Background.scan(decoded.high, decoded.low),
            )
        except ValueError:
            # An image too small to hold a threat: this item simply gets none.
            return None
        digest = media.put(image.png)
        with transaction.atomic():
            if _unanswered(user_id, uid) is not None:
                # Another tab of the same screener got there first.
                return self.project(actor, uid, scan_id)
            trial = TipTrial.objects.create(
                user_id=user_id,
                mode=TipMode.LIVE,
                site_id=scan.item.site_id,
                item_uid=uid,
                scan_id=scan.pk,
                category=category,
                threat_label=image.threat_label,
                difficulty={
                    "viewpoint": round(difficulty.viewpoint, 3),
                    "superposition": round(difficulty.superposition, 3),
                    "complexity": None,
                    "level": level,
                },
                bbox=image.bbox_fractions,
                background=image.background_kind,
                image_sha256=digest,
                width=image.width,
                height=image.height,
                presented_at=clock.now(),
            )
            # Not on the item's own record, which the screener can open before answering.
            ledger.append(
                actor,
                "training.tip_projection.shown",
                "tip_trial",
                str(trial.pk),
                {
                    "item": uid,
                    "scan": scan.pk,
                    "category": category,
                    "threat": image.threat_label,
                    "bbox": image.bbox_fractions,
                    "image_sha256": digest,
                    "rate_percent": policy.rate_percent,
                },
            )
        return ProjectedImage(trial.pk, scan.pk, digest)

    def answer(
        self, actor: Actor, item_uid: str, *, threat: bool, mark: tuple[float, float] | None
    ) -> Answer | None:
        user_id = actor.user_id
        if user_id is None:
            return None
        uid = item_uid.strip().upper()
        mark = _check_mark(mark)
        with transaction.atomic():
            trial = (
                TipTrial.objects.select_for_update()
                .filter(user_id=user_id, mode=TipMode.LIVE, item_uid=uid, answered_at__isnull=True)
                .order_by("-presented_at", "-id")
                .first()
            )
            if trial is None:
                return None
            bbox = list(trial.bbox or [0.0, 0.0, 1.0, 1.0])
            marked_elsewhere = mark is not None and not _on_threat(mark, bbox)
            hit = bool(threat) and not marked_elsewhere
            now = clock.now()
            trial.answered_at = now
            trial.response = "threat" if threat else "clear"
            trial.mark = [round(mark[0], 4), round(mark[1], 4)] if mark else None
            trial.outcome = TipOutcome.HIT if hit else TipOutcome.MISS
            elapsed = (now - trial.presented_at).total_seconds()
            trial.response_ms = max(0, round(elapsed * 1000))
            trial.save()
            ledger.append(
                actor,
                "training.tip_projection.answered",
                "tip_trial",
                str(trial.pk),
                {
                    "item": uid,
                    "response": trial.response,
                    "mark": trial.mark,
                    "outcome": trial.outcome,
                    "response_ms": trial.response_ms,
                },
            )
        noun = NOUNS.get(trial.category, "a threat")
        where = _where(bbox)
        if hit:
            return Answer(True, hit_message(noun, where))
        return Answer(False, miss_message(noun, where, marked_elsewhere=marked_elsewhere))

    def unanswered(self, actor: Actor, item_uid: str) -> bool:
        if actor.user_id is None:
            return False
        return _unanswered(actor.user_id, item_uid.strip().upper()) is not None


PROJECTOR = LiveProjector()
