"""Screener training by threat image projection (TIP): sessions of N images, some holding a
projected threat, answered by marking the threat or clearing the bag (docs/training-tip.md).

Difficulty adapts per threat category on a staircase (X-Ray Tutor style): ``STEP_UP_AFTER``
hits in a row take the screener one level up, a miss one level down. A level sets the three
image-based factors together: how far the threat is tilted out of the belt's plane, how dense
the clutter it lies over is, and how full a simulated bag is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import transaction

from mailwarden.core import clock, ledger, media
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require, require_person
from mailwarden.directory.models import Recipient
from mailwarden.screening import services as screening
from mailwarden.screening.imaging import SCANNER
from mailwarden.screening.models import DecisionStatus, Scan, ScanKind
from mailwarden.training.models import (
    TipLevel,
    TipMode,
    TipOutcome,
    TipSession,
    TipTrial,
)
from mailwarden.training.permissions import TIP_TRAINING, VIEW_COMPLIANCE
from mailwarden.training.services.tip_images import (
    LEVELS,
    Background,
    difficulty_for,
    make_image,
)
from mailwarden.xray.tip import CATEGORIES

MIN_SIZE, MAX_SIZE = 1, 200
STEP_UP_AFTER = 3
# A mark this far outside the threat's box (as a share of the image's width or height) still
# counts: a finger on a tablet is not a pixel.
MARK_MARGIN = 0.03
# A client's own timing is taken up to this; beyond it the server's is used.
MAX_RESPONSE_MS = 10 * 60 * 1000

THREAT, CLEAR = "threat", "clear"
RESPONSES = (THREAT, CLEAR)


# ----------------------------------------------------------------------------- sessions


def _learner(actor: Actor, what: str) -> int:
    require(actor, TIP_TRAINING, what)
    return require_person(actor, what)


def start_session(
    actor: Actor,
    *,
    size: int = 20,
    threat_share: float = 0.5,
    categories: list[str] | None = None,
    seed: int | None = None,
) -> TipSession:
    """A new session of ``size`` images for the actor, ``threat_share`` of them with a threat of
    one of ``categories`` (all when empty). An unfinished session of theirs is closed first."""
    user_id = _learner(actor, "TIP training")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ServiceError(f"must be from {MIN_SIZE} to {MAX_SIZE} images", "size")
    if not (math.isfinite(threat_share) and 0.0 <= threat_share <= 1.0):
        raise ServiceError("must be from 0 to 1", "threat_share")
    wanted = list(dict.fromkeys(categories or CATEGORIES))
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown:
        raise ServiceError(
            f"{', '.join(unknown)}: not a threat category (these are: {', '.join(CATEGORIES)})",
            "categories",
        )
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**62))
    elif not 0 <= seed < 2**62:
        raise ServiceError("must be from 0 to 2^62", "seed")
    now = clock.now()
    with transaction.atomic():
        for stale in TipSession.objects.select_for_update().filter(
            user_id=user_id, finished_at__isnull=True
        ):
            _finish(actor, stale, now, abandoned=True)
        session = TipSession.objects.create(
            user_id=user_id,
            size=size,
            threat_share=threat_share,
            categories=wanted,
            seed=seed,
            started_at=now,
        )
        ledger.append(
            actor,
            "training.tip_session.started",
            "tip_session",
            str(session.pk),
            {"size": size, "threat_share": threat_share, "categories": wanted},
            at=now,
        )
    return session


def _finish(actor: Actor, session: TipSession, now: datetime, *, abandoned: bool) -> None:
    session.finished_at = now
    session.save(update_fields=["finished_at"])
    answered = session.trials.exclude(outcome="").count()
    ledger.append(
        actor,
        "training.tip_session.abandoned" if abandoned else "training.tip_session.finished",
        "tip_session",
        str(session.pk),
        {"answered": answered, "size": session.size},
        at=session.finished_at,
    )


def own_session(actor: Actor, session_id: int) -> TipSession:
    """The actor's session; someone else's reads as not found, except to those who review."""
    session = TipSession.objects.filter(pk=session_id).first()
    if session is None or (session.user_id != actor.user_id and not actor.has(*VIEW_COMPLIANCE)):
        raise NotFound(f"no TIP session {session_id}", "session_id")
    return session


def open_session(actor: Actor) -> TipSession | None:
    """The actor's unfinished session, to resume."""
    if actor.user_id is None:
        return None
    return TipSession.objects.filter(user_id=actor.user_id, finished_at__isnull=True).first()


def _plan(session: TipSession) -> list[bool]:
    """Which positions hold a threat: exactly the session's share, in a seeded order."""
    signals = round(session.size * session.threat_share)
    order = np.random.default_rng([session.seed, 0]).permutation(session.size)
    plan = [False] * session.size
    for position in order[:signals]:
        plan[int(position)] = True
    return plan


def _site_of(user_id: int) -> int | None:
    return (
        Recipient.objects.filter(user_id=user_id, active=True)
        .values_list("site_id", flat=True)
        .first()
    )


def cleared_scans(site_id: int) -> list[int]:
    """Ids of high/low scans of items cleared at the site: real bags to project into."""
    return list(
        Scan.objects.filter(
            item__site_id=site_id,
            kind=ScanKind.PAIR,
            item__screenings__status=DecisionStatus.CLEARED,
        )
        .exclude(high_sha256="")
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def _background(rng: np.random.Generator, user_id: int) -> tuple[Background, int | None]:
    site_id = _site_of(user_id)
    choices = cleared_scans(site_id) if site_id is not None else []
    if choices:
        scan = Scan.objects.get(pk=choices[int(rng.integers(len(choices)))])
        try:
            decoded = screening.scan_decoded(scan)
        except (OSError, ServiceError):
            # A scan whose files are gone from the media store: a simulated bag stands in.
            return Background.simulated(), None
        if decoded.high is not None and decoded.low is not None:
            return Background.scan(decoded.high, decoded.low, SCANNER), scan.pk
    return Background.simulated(), None


def _level(user_id: int, category: str) -> TipLevel:
    level, _ = TipLevel.objects.get_or_create(
        user_id=user_id, category=category, defaults={"updated_at": clock.now()}
    )
    return level


def current_trial(actor: Actor, session_id: int) -> TipTrial | None:
    """The image the actor is to answer next: the one shown and not yet answered, or a new one
    at the next position; None when the session is over."""
    user_id = _learner(actor, "TIP training")
    session = own_session(actor, session_id)
    if session.user_id != user_id:
        raise Forbidden("only the screener in the session answers its images")
    if session.finished_at is not None:
        return None
    waiting = session.trials.filter(outcome="").order_by("position").first()
    if waiting is not None:
        return waiting
    position = session.trials.count()
    if position >= session.size:
        return None
    rng = np.random.default_rng([session.seed, position + 1])
    category = str(rng.choice(session.categories))
    signal = _plan(session)[position]
    level = (
        TipLevel.objects.filter(user_id=user_id, category=category)
        .values_list("level", flat=True)
        .first()
        or 1
    )
    difficulty = difficulty_for(level)
    background, scan_id = _background(rng, user_id)
    # Drawn outside the transaction: the image takes a fraction of a second to make.
    image = make_image(
        rng, category=category if signal else None, difficulty=difficulty, background=background
    )
    digest = media.put(image.png)
    now = clock.now()
    with transaction.atomic():
        session = TipSession.objects.select_for_update().get(pk=session.pk)
        raced = session.trials.filter(position=position).first()
        if raced is not None:
            return raced
        return TipTrial.objects.create(
            user_id=user_id,
            mode=TipMode.TRAINING,
            session=session,
            position=position,
            site_id=_site_of(user_id),
            scan_id=scan_id,
            category=category if signal else "",
            threat_label=image.threat_label,
            difficulty={
                "level": level,
                "category": category,
                "viewpoint": difficulty.viewpoint,
                "superposition": difficulty.superposition,
                "complexity": difficulty.complexity,
            },
            bbox=image.bbox_fractions,
            background=image.background_kind,
            image_sha256=digest,
            width=image.width,
            height=image.height,
            presented_at=now,
        )


# ----------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Feedback:
    trial: TipTrial
    outcome: str
    message: str
    # Where the threat was, [x0, y0, x1, y1] as fractions; None on a clean image.
    bbox: list[float] | None
    level_before: int
    level_after: int
    session_done: bool

    @property
    def correct(self) -> bool:
        return self.outcome in (TipOutcome.HIT, TipOutcome.CORRECT_REJECTION)


def mark_inside(mark: tuple[float, float], bbox: list[float], margin: float = MARK_MARGIN) -> bool:
    x, y = mark
    x0, y0, x1, y1 = bbox
    return x0 - margin <= x <= x1 + margin and y0 - margin <= y <= y1 + margin


def outcome_of(
    bbox: list[float] | None, response: str, mark: tuple[float, float] | None
) -> TipOutcome:
    """A threat answer counts only with a mark on the threat: marked elsewhere on a threat image
    it is a miss (the threat was not found), on a clean image a false alarm."""
    said_threat = response == THREAT
    if bbox is None:
        return TipOutcome.FALSE_ALARM if said_threat else TipOutcome.CORRECT_REJECTION
    if said_threat and mark is not None and mark_inside(mark, bbox):
        return TipOutcome.HIT
    return TipOutcome.MISS


def feedback_message(trial: TipTrial) -> str:
    """What the screener is told about their answer to ``trial``; "" before they answer."""
    if not trial.outcome:
        return ""
    outcome, response = TipOutcome(trial.outcome), trial.response
    label = trial.threat_label or trial.category
    if outcome == TipOutcome.HIT:
        return f"You found the {label}."
    if outcome == TipOutcome.MISS and response == THREAT:
        return f"There was a {label}, outlined here; your mark was not on it."
    if outcome == TipOutcome.MISS:
        return f"You cleared a bag with a {label} in it, outlined here."
    if outcome == TipOutcome.FALSE_ALARM:
        return "This bag held no threat; nothing needed marking."
    return "Right: this bag held no threat."


def _check_mark(mark: tuple[float, float] | None) -> tuple[float, float] | None:
    if mark is None:
        return None
    if len(mark) != 2:
        raise ServiceError("must be two numbers, x and y", "mark")
    x, y = float(mark[0]), float(mark[1])
    if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ServiceError("x and y must be fractions of the image, from 0 to 1", "mark")
    return x, y


def answer(
    actor: Actor,
    trial_id: int,
    *,
    response: str,
    mark: tuple[float, float] | None = None,
    response_ms: int | None = None,
) -> Feedback:
    """Record the screener's answer to a training image and say how it went."""
    user_id = _learner(actor, "TIP training")
    if response not in RESPONSES:
        raise ServiceError(f"must be one of {', '.join(RESPONSES)}", "response")
    mark = _check_mark(mark)
    if response == THREAT and mark is None:
        raise ServiceError("click where the threat is before answering 'threat'", "mark")
    if response == CLEAR:
        mark = None
    if response_ms is not None and not 0 <= response_ms <= MAX_RESPONSE_MS:
        raise ServiceError(f"must be from 0 to {MAX_RESPONSE_MS}", "response_ms")
    now = clock.now()
    with transaction.atomic():
        trial = (
            TipTrial.objects.select_for_update()
            .filter(pk=trial_id, user_id=user_id, mode=TipMode.TRAINING)
            .first()
        )
        if trial is None or trial.session_id is None:
            raise NotFound(f"no TIP image {trial_id} of yours", "trial_id")
        session = TipSession.objects.select_for_update().get(pk=trial.session_id)
        if trial.outcome:
            raise Conflict("this image has been answered already", "trial_id")
        if session.finished_at is not None:
            raise Conflict("this session is over; start a new one", "trial_id")
        outcome = outcome_of(trial.bbox, response, mark)
        elapsed = max(0, round((now - trial.presented_at).total_seconds() * 1000))
        trial.response = response
        trial.mark = list(mark) if mark is not None else None
        trial.outcome = outcome
        trial.answered_at = now
        trial.response_ms = response_ms if response_ms is not None else min(elapsed, 2**31 - 1)
        trial.save(update_fields=["response", "mark", "outcome", "answered_at", "response_ms"])
        category = str(trial.difficulty.get("category") or trial.category)
        level = TipLevel.objects.select_for_update().filter(user_id=user_id, category=category)
        step = level.first() or _level(user_id, category)
        before = step.level
        if trial.category:  # only threat images move the staircase
            if outcome == TipOutcome.HIT:
                step.streak = max(step.streak, 0) + 1
                if step.streak >= STEP_UP_AFTER:
                    step.level = min(LEVELS, step.level + 1)
                    step.streak = 0
            else:
                step.level = max(1, step.level - 1)
                step.streak = 0
            step.updated_at = now
            step.save(update_fields=["level", "streak", "updated_at"])
        ledger.append(
            actor,
            "training.tip_trial.answered",
            "tip_trial",
            str(trial.pk),
            {
                "session": session.pk,
                "position": trial.position,
                "image": trial.image_sha256,
                "category": trial.category,
                "response": response,
                "mark": trial.mark,
                "outcome": outcome.value,
                "level": [before, step.level],
            },
            at=now,
        )
        answered = session.trials.exclude(outcome="").count()
        done = answered >= session.size
        if done:
            _finish(actor, session, now, abandoned=False)
    return Feedback(
        trial=trial,
        outcome=outcome.value,
        message=feedback_message(trial),
        bbox=trial.bbox,
        level_before=before,
        level_after=step.level,
        session_done=done,
    )


def levels_of(user_id: int) -> dict[str, int]:
    """The screener's level per category (1 where they have not trained it yet)."""
    found = dict(TipLevel.objects.filter(user_id=user_id).values_list("category", "level"))
    return {c: int(found.get(c, 1)) for c in CATEGORIES}
