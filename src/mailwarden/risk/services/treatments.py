"""Treatments of risks: accept, avoid, mitigate or transfer, with owner, due date and status.
An acceptance waits for an approver who is not its proposer; an overdue treatment alerts its
owner once (periodic job). Treatments go on after the assessment is finalised: that fixes the
register's scores, not the work of treating them.

A risk's state follows its treatments: it is ``treated`` while a mitigation, avoidance or
transfer is done or an acceptance is approved, and ``open`` otherwise (a closed risk stays
closed)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.config import get_settings
from mailwarden.contracts.events import RiskTreatmentLapsed
from mailwarden.core import clock, ledger, notify, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require, require_person
from mailwarden.risk.models import (
    Control,
    Risk,
    RiskState,
    Treatment,
    TreatmentKind,
    TreatmentStatus,
)
from mailwarden.risk.permissions import APPROVE_ACCEPTANCE, MANAGE_RISK, VIEW_RISK

JOB = Actor.job("risk-overdue-treatments")
OVERDUE = "risk.treatment_overdue"
MAX_DESCRIPTION = 2000
# How far ahead a due date may be set: a plan beyond that is no plan.
MAX_DUE_YEARS = 10

UNFINISHED = (TreatmentStatus.PROPOSED, TreatmentStatus.PLANNED, TreatmentStatus.IN_PROGRESS)

# The statuses each one may move to through set_status. A proposed acceptance becomes done only
# by its approval; a cancelled treatment is final (plan a new one instead).
NEXT: dict[str, tuple[str, ...]] = {
    TreatmentStatus.PROPOSED: (TreatmentStatus.CANCELLED,),
    TreatmentStatus.PLANNED: (
        TreatmentStatus.IN_PROGRESS,
        TreatmentStatus.DONE,
        TreatmentStatus.CANCELLED,
    ),
    TreatmentStatus.IN_PROGRESS: (
        TreatmentStatus.PLANNED,
        TreatmentStatus.DONE,
        TreatmentStatus.CANCELLED,
    ),
    TreatmentStatus.DONE: (TreatmentStatus.IN_PROGRESS, TreatmentStatus.CANCELLED),
    TreatmentStatus.CANCELLED: (),
}


def site_today(treatment_or_risk: Treatment | Risk, now: datetime) -> date:
    """The calendar day at the risk's site, which is what a due date means there."""
    risk = treatment_or_risk.risk if isinstance(treatment_or_risk, Treatment) else treatment_or_risk
    return now.astimezone(ZoneInfo(risk.assessment.site.timezone)).date()


def is_overdue(treatment: Treatment, now: datetime) -> bool:
    return treatment.status in UNFINISHED and treatment.due < site_today(treatment, now)


def next_statuses(treatment: Treatment) -> tuple[str, ...]:
    """What set_status may move the treatment to (an approved acceptance can only be
    withdrawn)."""
    if treatment.kind == TreatmentKind.ACCEPT and treatment.status == TreatmentStatus.DONE:
        return (TreatmentStatus.CANCELLED,)
    return NEXT[treatment.status]


def _owner(username: str) -> Any:
    name = username.strip()
    if not name:
        raise ServiceError("name the treatment's owner (a username)", "owner")
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise NotFound(f"no user {name!r}", "owner")
    if not user.is_active:
        raise ServiceError(f"{name} is deactivated and cannot own a treatment", "owner")
    return user


def _kind(kind: str) -> TreatmentKind:
    try:
        return TreatmentKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in TreatmentKind)
        raise ServiceError(
            f"{kind!r} is not a kind of treatment; use one of {known}", "kind"
        ) from None


def _description(text: str) -> str:
    text = text.strip()
    if not text:
        raise ServiceError("describe the treatment", "description")
    if len(text) > MAX_DESCRIPTION:
        raise ServiceError(
            f"is {len(text)} characters; the limit is {MAX_DESCRIPTION}", "description"
        )
    return text


def _due(risk: Risk, due: date, now: datetime) -> date:
    today = site_today(risk, now)
    if due < today:
        raise ServiceError(f"{due.isoformat()} is in the past at the site", "due")
    if due > today + timedelta(days=366 * MAX_DUE_YEARS):
        raise ServiceError(f"must be within {MAX_DUE_YEARS} years", "due")
    return due


def _control(risk: Risk, kind: TreatmentKind, control_id: int | None) -> Control | None:
    if control_id is None:
        return None
    if kind != TreatmentKind.MITIGATE:
        raise ServiceError("only a mitigation names the control that implements it", "control")
    control = Control.objects.filter(pk=control_id).first()
    if control is None:
        raise NotFound(f"no control {control_id}", "control")
    if control.site_id != risk.assessment.site_id:
        raise ServiceError(
            f"control {control.title!r} belongs to another site than the risk", "control"
        )
    return control


def _locked_risk(risk_id: int) -> Risk:
    risk = (
        Risk.objects.select_for_update(of=("self",))
        .select_related("assessment__site")
        .filter(pk=risk_id)
        .first()
    )
    if risk is None:
        raise NotFound(f"no risk {risk_id}", "risk")
    return risk


def _locked_treatment(treatment_id: int) -> Treatment:
    treatment = (
        Treatment.objects.select_for_update(of=("self",))
        .select_related("risk__assessment__site", "owner", "proposed_by", "approved_by")
        .filter(pk=treatment_id)
        .first()
    )
    if treatment is None:
        raise NotFound(f"no treatment {treatment_id}", "treatment")
    return treatment


def _treats(treatment: Treatment) -> bool:
    if treatment.kind == TreatmentKind.ACCEPT:
        return treatment.approved_by_id is not None and treatment.status == TreatmentStatus.DONE
    return treatment.status == TreatmentStatus.DONE


def follow_treatments(risk_id: int, now: datetime) -> str:
    """Set the risk's state from its treatments (a closed risk is left closed); its state.

    The risk is locked first, so two treatments of one risk changed at once are counted
    together by whichever change commits second."""
    risk = Risk.objects.select_for_update().get(pk=risk_id)
    if risk.state == RiskState.CLOSED:
        return risk.state
    treated = any(_treats(t) for t in risk.treatments.all())
    state = RiskState.TREATED if treated else RiskState.OPEN
    if risk.state != state:
        risk.state = state
        risk.updated_at = now
        risk.save(update_fields=["state", "updated_at"])
    return risk.state


def _data(treatment: Treatment, risk_state: str) -> dict[str, Any]:
    return {
        "risk": treatment.risk_id,
        "kind": treatment.kind,
        "description": treatment.description,
        "owner": treatment.owner.get_username(),
        "due": treatment.due.isoformat(),
        "status": treatment.status,
        "control": treatment.control_id,
        "risk_state": risk_state,
    }


def plan_treatment(
    actor: Actor,
    risk_id: int,
    *,
    kind: str,
    description: str,
    owner: str,
    due: date,
    control_id: int | None = None,
) -> Treatment:
    """A new treatment (owner: a username). An acceptance starts ``proposed``; the others
    ``planned``. A mitigation may name the control that implements it."""
    require(actor, MANAGE_RISK, "planning a risk treatment")
    proposer = require_person(actor, "proposing a risk treatment")
    treatment_kind = _kind(kind)
    text = _description(description)
    user = _owner(owner)
    now = clock.now()
    with transaction.atomic():
        risk = _locked_risk(risk_id)
        if risk.state == RiskState.CLOSED:
            raise Conflict(f"risk {risk.title!r} is closed; it needs no treatment", "risk")
        treatment = Treatment.objects.create(
            risk=risk,
            kind=treatment_kind,
            description=text,
            owner=user,
            due=_due(risk, due, now),
            status=(
                TreatmentStatus.PROPOSED
                if treatment_kind == TreatmentKind.ACCEPT
                else TreatmentStatus.PLANNED
            ),
            control=_control(risk, treatment_kind, control_id),
            proposed_by_id=proposer,
            created_at=now,
            updated_at=now,
        )
        ledger.append(
            actor,
            "risk.treatment.planned",
            "risk_treatment",
            str(treatment.pk),
            _data(treatment, risk.state),
        )
    return treatment


def approve_acceptance(actor: Actor, treatment_id: int) -> Treatment:
    """Approve a proposed acceptance: refused (Forbidden) when the approver proposed it."""
    require(actor, APPROVE_ACCEPTANCE, "approving a risk acceptance")
    approver = require_person(actor, "approving a risk acceptance")
    now = clock.now()
    with transaction.atomic():
        treatment = _locked_treatment(treatment_id)
        if treatment.kind != TreatmentKind.ACCEPT:
            raise Conflict(
                f"this is a {treatment.get_kind_display().lower()}, not an acceptance; "
                "only acceptances are approved",
                "treatment",
            )
        if treatment.status != TreatmentStatus.PROPOSED:
            raise Conflict(
                f"the acceptance is {treatment.get_status_display().lower()}, "
                "not waiting for approval",
                "treatment",
            )
        if treatment.proposed_by_id == approver:
            raise Forbidden(
                "an acceptance is approved by someone other than the person who proposed it",
                "approver",
            )
        treatment.approved_by_id = approver
        treatment.approved_at = now
        treatment.status = TreatmentStatus.DONE
        treatment.updated_at = now
        treatment.save(update_fields=["approved_by", "approved_at", "status", "updated_at"])
        state = follow_treatments(treatment.risk_id, now)
        ledger.append(
            actor,
            "risk.treatment.approved",
            "risk_treatment",
            str(treatment.pk),
            {**_data(treatment, state), "proposed_by": treatment.proposed_by.get_username()},
        )
    return treatment


def set_status(actor: Actor, treatment_id: int, status: str) -> Treatment:
    """Move a treatment on (see :data:`NEXT`); the risk's state follows."""
    require(actor, MANAGE_RISK, "changing a risk treatment's status")
    try:
        target = TreatmentStatus(status)
    except ValueError:
        known = ", ".join(s.value for s in TreatmentStatus)
        raise ServiceError(f"{status!r} is not a status; use one of {known}", "status") from None
    now = clock.now()
    with transaction.atomic():
        treatment = _locked_treatment(treatment_id)
        allowed = next_statuses(treatment)
        if target not in allowed:
            current = treatment.get_status_display().lower()
            if treatment.status == TreatmentStatus.PROPOSED and target == TreatmentStatus.DONE:
                reason = "an acceptance is done when someone other than its proposer approves it"
            else:
                reason = "it can become " + (", ".join(allowed) or "nothing else (it is final)")
            raise Conflict(f"the treatment is {current}; {reason}", "status")
        before = treatment.status
        treatment.status = target
        treatment.updated_at = now
        treatment.save(update_fields=["status", "updated_at"])
        state = follow_treatments(treatment.risk_id, now)
        ledger.append(
            actor,
            "risk.treatment.status_changed",
            "risk_treatment",
            str(treatment.pk),
            {**_data(treatment, state), "from": before},
        )
    return treatment


def reschedule(
    actor: Actor, treatment_id: int, due: date, *, owner: str | None = None
) -> Treatment:
    """Give an unfinished treatment a new due date (and owner); a new due date that passes
    alerts the owner again."""
    require(actor, MANAGE_RISK, "rescheduling a risk treatment")
    user = _owner(owner) if owner is not None else None
    now = clock.now()
    with transaction.atomic():
        treatment = _locked_treatment(treatment_id)
        if treatment.status not in UNFINISHED:
            raise Conflict(
                f"the treatment is {treatment.get_status_display().lower()}; "
                "only an unfinished one is rescheduled",
                "treatment",
            )
        treatment.due = _due(treatment.risk, due, now)
        if user is not None:
            treatment.owner = user
        treatment.overdue_alerted_at = None
        treatment.updated_at = now
        treatment.save(update_fields=["due", "owner", "overdue_alerted_at", "updated_at"])
        ledger.append(
            actor,
            "risk.treatment.rescheduled",
            "risk_treatment",
            str(treatment.pk),
            _data(treatment, treatment.risk.state),
        )
    return treatment


# ----------------------------------------------------------------------------- overdue alerts


def _address(user: Any) -> str:
    recipient = getattr(user, "recipient", None)
    return str(user.email or (recipient.email if recipient is not None else ""))


def alert_overdue(now: datetime) -> int:
    """Tell each owner of an overdue, unfinished treatment, once per due date (email through the
    outbox, and ``risk.treatment.lapsed``). Returns how many were alerted."""
    # A site's day may start up to 14 hours before UTC's; the exact test is per site below.
    candidates = Treatment.objects.filter(
        status__in=UNFINISHED,
        overdue_alerted_at__isnull=True,
        due__lt=(now + timedelta(days=1)).date(),
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(candidates):
        with transaction.atomic():
            treatment = _locked_treatment(pk)
            if treatment.overdue_alerted_at is not None or not is_overdue(treatment, now):
                continue
            treatment.overdue_alerted_at = now
            treatment.save(update_fields=["overdue_alerted_at"])
            risk = treatment.risk
            owner = treatment.owner
            address = _address(owner)
            if address:
                notify.queue(
                    key=f"{OVERDUE}:{treatment.pk}:{treatment.due.isoformat()}",
                    kind=OVERDUE,
                    to_address=address,
                    subject_ref=str(treatment.pk),
                )
            ledger.append(
                JOB,
                "risk.treatment.lapsed",
                "risk_treatment",
                str(treatment.pk),
                {
                    "owner": owner.get_username(),
                    "due": treatment.due.isoformat(),
                    "status": treatment.status,
                    "emailed": bool(address),
                },
                at=now,
            )
            outbox.emit(
                RiskTreatmentLapsed(
                    treatment=treatment.pk,
                    risk=risk.title,
                    site=risk.assessment.site.code,
                    owner=owner.get_username(),
                    due=treatment.due,
                )
            )
        count += 1
    return count


def _link(risk_id: int) -> str:
    from django.urls import reverse

    return get_settings().base_url.rstrip("/") + reverse("risk:risk_treatments", args=[risk_id])


@notify.renders(OVERDUE)
def overdue_message(ref: str) -> notify.Message:
    treatment = (
        Treatment.objects.select_related("risk__assessment__site", "owner")
        .filter(pk=int(ref))
        .first()
    )
    if treatment is None:
        raise notify.Withdrawn("the treatment is gone")
    if treatment.status not in UNFINISHED:
        raise notify.Withdrawn(f"the treatment is {treatment.status} now")
    risk = treatment.risk
    owner = treatment.owner
    name = owner.get_full_name() or owner.get_username()
    subject = f"Overdue risk treatment: {risk.title} (due {treatment.due:%d %b %Y})"
    text = (
        f"Hello {name},\n\n"
        f"You own a treatment of the risk {risk.title!r} at site {risk.assessment.site.code}, "
        f"due on {treatment.due:%d %B %Y} and still {treatment.get_status_display().lower()}:\n\n"
        f"  {treatment.get_kind_display()}: {treatment.description}\n\n"
    )
    if Actor.for_user(owner).has(*VIEW_RISK):
        text += f"Mark it done, or see its risk, at\n\n{_link(risk.pk)}\n"
    else:
        # An owner outside security management cannot open the risk pages; the managers can.
        text += "When it is done, or if it needs a new due date, tell your security manager.\n"
    return notify.Message(subject, text)
