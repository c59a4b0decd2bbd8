"""Planted test parcels (docs/training-parcels.md): registered by a security manager, recognised
at intake by their barcode, scored when screened, and never handed over to anyone.

The people measured are never told beforehand: nothing here writes to the item or to its ledger
entries (every entry is filed under the ``test_parcel``, not the ``mailitem``), so the custody
and screening pages show a test parcel exactly like any other item until it is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.contracts import events
from mailwarden.core import clock, ledger, notify, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.validation import check_text
from mailwarden.custody import carriers
from mailwarden.custody import queries as custody_queries
from mailwarden.directory.queries import site_by_code
from mailwarden.screening import services as screening
from mailwarden.screening.models import Indicator
from mailwarden.screening.policy import Tier, assess
from mailwarden.training import parcel_feedback
from mailwarden.training.models import Course, PlantedParcel, PlantedStatus
from mailwarden.training.permissions import MANAGE_TEST_PARCELS
from mailwarden.training.services import courses

# The background job that follows parcels through intake and screening (training.handlers).
JOB = Actor.job("test-parcels")
SUBJECT = "test_parcel"
REFRESHER_DUE_DAYS = 14
MAX_INDICATORS = 50
# The actions of people, as the ledger names them; only these can be told their feedback.
_PERSON_PREFIX = "user:"


def _tier_rank(value: str) -> int:
    try:
        return Tier(value).rank
    except ValueError:
        return -1


def _clean_indicators(codes: list[str]) -> list[str]:
    if len(codes) > MAX_INDICATORS:
        raise ServiceError(f"at most {MAX_INDICATORS} indicators", "indicators")
    known = set(Indicator.objects.values_list("code", flat=True))
    cleaned: list[str] = []
    for index, raw in enumerate(codes):
        code = raw.strip()
        if code not in known:
            raise ServiceError(
                f"unknown indicator {code!r}; the indicators are the screening checklist's codes",
                f"indicators.{index}",
            )
        if code not in cleaned:
            cleaned.append(code)
    if not cleaned:
        raise ServiceError(
            "choose at least one indicator: a test parcel is prepared with something to find",
            "indicators",
        )
    return cleaned


def _barcode(raw: str) -> str:
    number = carriers.normalise(check_text(raw, "barcode", max_length=80, required=True))
    # Intake logs a number no carrier's rule accepts only when the clerk says why, and flags it;
    # a test parcel must pass as ordinary mail, so it carries a number that checks out.
    try:
        return carriers.validate(number).number
    except carriers.InvalidTrackingNumber as exc:
        raise ServiceError(
            f"intake would refuse this barcode ({exc.reason}); label the parcel with a carrier's "
            "tracking number",
            "barcode",
        ) from None


def expected_tier(site_code: str, indicators: list[str]) -> str:
    """The tier the site's screening policy gives an item showing exactly these indicators."""
    view = screening.site_policy(site_by_code(site_code))
    return assess(view.policy, _clean_indicators(indicators)).tier.value


def register(
    actor: Actor, *, barcode: str, site: str, indicators: list[str], notes: str = ""
) -> PlantedParcel:
    """Register a parcel prepared with ``indicators`` and labelled with ``barcode``."""
    require(actor, MANAGE_TEST_PARCELS, "registering a test parcel")
    number = _barcode(barcode)
    at = site_by_code(site)
    codes = _clean_indicators(indicators)
    notes = check_text(notes, "notes", max_length=2000)
    tier = assess(screening.site_policy(at).policy, codes).tier.value
    now = clock.now()
    with transaction.atomic():
        if PlantedParcel.objects.filter(barcode=number).exists():
            raise Conflict(
                f"a test parcel with barcode {number} is registered already; each parcel needs "
                "its own barcode",
                "barcode",
            )
        parcel = PlantedParcel.objects.create(
            barcode=number,
            site=at,
            indicators=codes,
            expected_tier=tier,
            notes=notes,
            registered_by=actor.label,
            registered_at=now,
        )
        ledger.append(
            actor,
            "training.test_parcel.registered",
            SUBJECT,
            str(parcel.pk),
            {"barcode": number, "site": at.code, "indicators": codes, "expected_tier": tier},
            at=now,
        )
    return parcel


def _locked(parcel_id: int) -> PlantedParcel:
    parcel = PlantedParcel.objects.select_for_update().filter(pk=parcel_id).first()
    if parcel is None:
        raise NotFound(f"no test parcel {parcel_id}", "parcel")
    return parcel


def withdraw(actor: Actor, parcel_id: int, *, reason: str) -> PlantedParcel:
    """Call off a test before the parcel arrives (lost in the post, sent to the wrong site)."""
    require(actor, MANAGE_TEST_PARCELS, "withdrawing a test parcel")
    reason = check_text(reason, "reason", max_length=300, required=True)
    with transaction.atomic():
        parcel = _locked(parcel_id)
        if parcel.status != PlantedStatus.REGISTERED:
            raise Conflict(
                f"test parcel {parcel.barcode} is {parcel.get_status_display().lower()}; only "
                "one that has not arrived yet can be withdrawn",
                "parcel",
            )
        parcel.status = PlantedStatus.WITHDRAWN
        parcel.save(update_fields=["status"])
        ledger.append(
            actor,
            "training.test_parcel.cancelled",
            SUBJECT,
            str(parcel.pk),
            {"barcode": parcel.barcode, "reason": reason},
        )
    return parcel


# ----------------------------------------------------------------------------- following it


def _user_id(label: str) -> int | None:
    if not label.startswith(_PERSON_PREFIX):
        return None
    username = label.removeprefix(_PERSON_PREFIX)
    found = get_user_model().objects.filter(username=username).values_list("pk", flat=True)
    return found.first()


def record_received(actor: Actor, uid: str) -> PlantedParcel | None:
    """The item ``uid`` was logged at intake: if it is a registered test parcel at that site,
    note who logged it, when, and whether they flagged it. None when it is not one."""
    require(actor, MANAGE_TEST_PARCELS, "following a test parcel")
    item = custody_queries.visible_items(actor).filter(uid=uid).first()
    if item is None or not item.tracking_number:
        return None
    with transaction.atomic():
        parcel = (
            PlantedParcel.objects.select_for_update()
            .filter(
                barcode=item.tracking_number, site_id=item.site_id, status=PlantedStatus.REGISTERED
            )
            .first()
        )
        if parcel is None:
            return None
        intake_entry = next(
            (
                e
                for e in ledger.entries_for("mailitem", uid)
                if ledger.current_action(e.action) == "custody.item.received"
            ),
            None,
        )
        clerk = intake_entry.actor if intake_entry else ""
        parcel.status = PlantedStatus.RECEIVED
        parcel.item_uid = item.uid
        parcel.received_at = item.received_at
        parcel.clerk = clerk
        parcel.clerk_user_id = _user_id(clerk)
        parcel.flagged_at_intake = item.flagged
        parcel.save()
        ledger.append(
            actor,
            "training.test_parcel.received",
            SUBJECT,
            str(parcel.pk),
            {"uid": item.uid, "clerk": clerk, "flagged_at_intake": item.flagged},
        )
    return parcel


@dataclass(frozen=True)
class Score:
    """What the screener did with the planted indicators."""

    hit: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def score_of(parcel: PlantedParcel) -> Score:
    planted, ticked = list(parcel.indicators), list(parcel.indicators_ticked)
    return Score(
        hit=[c for c in planted if c in ticked],
        missed=[c for c in planted if c not in ticked],
        extra=[c for c in ticked if c not in planted],
    )


def score(actor: Actor, decision: events.ScreeningDecisionRecorded) -> PlantedParcel | None:
    """Score the first screening decision on a test parcel, tell the clerk and the screener
    how they did, and enrol them in the refresher course. None when the item is not one."""
    require(actor, MANAGE_TEST_PARCELS, "scoring a test parcel")
    with transaction.atomic():
        parcel = (
            PlantedParcel.objects.select_for_update()
            .filter(item_uid=decision.uid, status=PlantedStatus.RECEIVED)
            .first()
        )
        if parcel is None:
            return None
        received = parcel.received_at or decision.decided_at
        parcel.status = PlantedStatus.SCORED
        parcel.decision_id = decision.decision
        parcel.screener = decision.screener
        parcel.screener_user_id = decision.screener_user_id
        parcel.tier_reached = decision.tier
        parcel.indicators_ticked = list(decision.indicators)
        parcel.seconds_to_decision = max(0, int((decision.decided_at - received).total_seconds()))
        parcel.seconds_on_item = decision.seconds_on_item
        parcel.passed = _tier_rank(decision.tier) >= _tier_rank(parcel.expected_tier)
        parcel.scored_at = clock.now()
        parcel.save()
        # After the save: the feedback message is rendered from the scored parcel.
        followed_up = _follow_up(actor, parcel)
        parcel.feedback_sent_at = parcel.scored_at
        parcel.save(update_fields=["feedback_sent_at"])
        result = score_of(parcel)
        ledger.append(
            actor,
            "training.test_parcel.scored",
            SUBJECT,
            str(parcel.pk),
            {
                "uid": parcel.item_uid,
                "decision": parcel.decision_id,
                "expected_tier": parcel.expected_tier,
                "tier_reached": parcel.tier_reached,
                "passed": parcel.passed,
                "indicators_hit": result.hit,
                "indicators_missed": result.missed,
                "indicators_extra": result.extra,
                "flagged_at_intake": bool(parcel.flagged_at_intake),
                "seconds_to_decision": parcel.seconds_to_decision,
                "follow_up": followed_up,
            },
        )
        outbox.emit(
            events.TrainingTestParcelScored(
                parcel=parcel.pk,
                site=parcel.site.code,
                uid=parcel.item_uid,
                expected_tier=parcel.expected_tier,
                tier_reached=parcel.tier_reached,
                indicators_planted=list(parcel.indicators),
                indicators_missed=result.missed,
                flagged_at_intake=bool(parcel.flagged_at_intake),
                seconds_to_decision=parcel.seconds_to_decision,
                passed=bool(parcel.passed),
            )
        )
    return parcel


def refresher_course() -> Course | None:
    return Course.objects.filter(refresher=True, active=True).order_by("pk").first()


def _follow_up(actor: Actor, parcel: PlantedParcel) -> dict[str, str]:
    """Feedback to each person measured and a refresher enrolment; what was done, by role."""
    course = refresher_course()
    done: dict[str, str] = {}
    for role, user_id in (
        (parcel_feedback.CLERK, parcel.clerk_user_id),
        (parcel_feedback.SCREENER, parcel.screener_user_id),
    ):
        user = (
            get_user_model().objects.filter(pk=user_id, is_active=True).first()
            if user_id is not None
            else None
        )
        if user is None:
            done[role] = "not a person with an account: no feedback"
            continue
        steps = []
        if course is not None:
            courses.enrol(
                actor,
                course.slug,
                user.pk,
                reason=f"refresher after test parcel {parcel.pk}",
                due_days=REFRESHER_DUE_DAYS,
            )
            steps.append(f"enrolled in {course.slug}")
        else:
            steps.append("no refresher course to enrol in")
        if user.email:
            notify.queue(
                key=f"{parcel_feedback.KIND}:{parcel.pk}:{role}",
                kind=parcel_feedback.KIND,
                to_address=user.email,
                subject_ref=parcel_feedback.subject_ref(parcel.pk, role),
            )
            steps.append(f"feedback emailed to {user.email}")
        else:
            steps.append("no email address for feedback")
        done[role] = "; ".join(steps)
    return done


# ----------------------------------------------------------------------------- hand-over


STOP_MESSAGE = (
    "This is a test parcel planted by security to check the mailroom's procedures; it is not "
    "delivered. Do not hand it over: take it to the security manager."
)


def stop_hand_over(actor: Actor, item_uid: str) -> None:
    """Refuse (Conflict) handing over an item that is a planted test parcel, and record that it
    was stopped. The record commits on its own, before the refusal leaves the item unchanged."""
    if not PlantedParcel.objects.filter(item_uid=item_uid).exists():
        return
    with transaction.atomic():
        parcel = PlantedParcel.objects.select_for_update().filter(item_uid=item_uid).first()
        if parcel is not None:
            first = parcel.status != PlantedStatus.STOPPED
            if first:
                parcel.status = PlantedStatus.STOPPED
                parcel.stopped_at = clock.now()
                parcel.stopped_by = actor.label
                parcel.save(update_fields=["status", "stopped_at", "stopped_by"])
            ledger.append(
                actor,
                "training.test_parcel.stopped",
                SUBJECT,
                str(parcel.pk),
                {"uid": item_uid, "by": actor.label, "again": not first},
            )
    raise Conflict(STOP_MESSAGE, "uid")
