"""Controls: what the site relies on, linked to the part of mailwarden that implements it, and
checked against live evidence; a claimed control the evidence contradicts is flagged."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F

from mailwarden.contracts.events import RiskControlContradicted
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.validation import check_text
from mailwarden.directory.models import Site
from mailwarden.directory.queries import site_by_code
from mailwarden.risk import links
from mailwarden.risk.evidence import Measure, Measurement, measures, meets
from mailwarden.risk.models import Control, ControlStatus
from mailwarden.risk.permissions import MANAGE_RISK

log = logging.getLogger(__name__)

SUBJECT = "risk_control"
JOB = Actor.job("risk-control-evidence")
# Claims the evidence can contradict: a planned control is not expected to work yet.
CLAIMS_IN_FORCE = (ControlStatus.IMPLEMENTED, ControlStatus.PARTIAL)
# The periodic job re-measures a control after this long, over the period ending now, a few
# controls per tick so one tick stays quick however many controls there are.
DUE_AFTER = timedelta(hours=1)
DUE_PERIOD = timedelta(days=30)
DUE_BATCH = 5
LONGEST_PERIOD = timedelta(days=3 * 366)
EXPECTATION_KEYS = ("min", "max")
CHANGEABLE = ("title", "description", "claimed", "link_kind", "link_ref", "measure", "expectation")


# ----------------------------------------------------------------------------- checks


def _claimed(value: str) -> str:
    if value not in ControlStatus.values:
        known = ", ".join(ControlStatus.values)
        raise ServiceError(f"unknown claimed status {value!r}; use one of {known}", "claimed")
    return value


def _measure(slug: str) -> Measure | None:
    slug = (slug or "").strip()
    if not slug:
        return None
    found = measures().get(slug)
    if found is None:
        known = ", ".join(sorted(measures()))
        raise ServiceError(f"unknown measure {slug!r}; the measures are {known}", "measure")
    return found


def _expectation(raw: Mapping[str, Any] | None, measure: Measure | None) -> dict[str, float]:
    if raw is None:
        return dict(measure.default_expectation) if measure else {}
    if not isinstance(raw, Mapping):
        raise ServiceError('give the expectation as {"min": x} and/or {"max": y}', "expectation")
    if raw and measure is None:
        raise ServiceError("an expectation needs a measure to compare with", "expectation")
    cleaned: dict[str, float] = {}
    for key, value in raw.items():
        if key not in EXPECTATION_KEYS:
            raise ServiceError(
                f"unknown bound {key!r}; an expectation has a min and/or a max",
                f"expectation.{key}",
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ServiceError("must be a number", f"expectation.{key}")
        if not math.isfinite(value):
            raise ServiceError("must be a finite number", f"expectation.{key}")
        cleaned[key] = float(value)
    if measure is not None and not cleaned:
        raise ServiceError("give a min and/or a max for the measure", "expectation")
    if cleaned.get("min", -math.inf) > cleaned.get("max", math.inf):
        raise ServiceError("the min must not be above the max", "expectation.min")
    return cleaned


def _period(start: datetime, end: datetime) -> None:
    if start >= end:
        raise ServiceError("the period must end after it starts", "end")
    if end - start > LONGEST_PERIOD:
        raise ServiceError("the period must be at most three years", "start")


def _locked(control_id: int) -> Control:
    control = (
        Control.objects.select_for_update().select_related("site").filter(pk=control_id).first()
    )
    if control is None:
        raise NotFound(f"no control {control_id}", "control")
    return control


# ----------------------------------------------------------------------------- judging


def contradicts(claimed: str, evidence: Mapping[str, Any]) -> bool:
    """Whether stored evidence contradicts the claim: a claim in force whose measured value
    falls short. No value (nothing to measure, or a failed measurement) contradicts nothing."""
    return claimed in CLAIMS_IN_FORCE and evidence.get("meets") is False


def _flag(actor: Actor, control: Control, was: bool, now: datetime) -> None:
    """Store the flag that the control's evidence and claim give, telling the ledger when it
    changes and everyone listening when it is newly raised."""
    control.contradicted = contradicts(control.claimed, control.last_evidence)
    if control.contradicted == was:
        return
    summary = str(control.last_evidence.get("summary", ""))
    data = {"claimed": control.claimed, "summary": summary}
    if not control.contradicted:
        ledger.append(actor, "risk.control.flag_cleared", SUBJECT, str(control.pk), data, at=now)
    else:
        ledger.append(actor, "risk.control.contradicted", SUBJECT, str(control.pk), data, at=now)
        outbox.emit(
            RiskControlContradicted(
                control=control.pk,
                title=control.title,
                site=control.site.code,
                measure=control.measure,
                summary=summary,
                evaluated_at=control.last_evaluated_at or now,
            )
        )


def _evidence(
    measure: Measure,
    measurement: Measurement,
    expectation: Mapping[str, float],
    period: tuple[datetime, datetime],
) -> dict[str, Any]:
    return {
        "measure": measure.slug,
        "value": measurement.value,
        "unit": measurement.unit,
        "summary": measurement.summary,
        "detail": dict(measurement.detail),
        "expectation": dict(expectation),
        "meets": meets(measurement, expectation),
        "start": period[0].isoformat(),
        "end": period[1].isoformat(),
    }


def measure_now(control: Control, start: datetime, end: datetime) -> dict[str, Any]:
    """The control's evidence over the period, as stored on the control; a measure that fails
    gives evidence with the error and no value (logged), never an exception."""
    found = _measure(control.measure)
    if found is None:
        return {}
    ref = control.link_ref if control.link_kind == found.ref_kind else ""
    try:
        # In a savepoint: on PostgreSQL a failed query would otherwise abort the caller's
        # transaction, and the control could not be saved with the error.
        with transaction.atomic():
            measurement = found.read(control.site, start, end, ref)
    except Exception:
        log.exception("measure %s failed for control %s", found.slug, control.pk)
        measurement = Measurement(None, found.unit, f"the measure {found.slug} failed")
        evidence = _evidence(found, measurement, control.expectation, (start, end))
        evidence["error"] = True
        return evidence
    return _evidence(found, measurement, control.expectation, (start, end))


# ----------------------------------------------------------------------------- services


def record_control(
    actor: Actor,
    *,
    site: str,
    title: str,
    claimed: str = "implemented",
    description: str = "",
    link_kind: str = "",
    link_ref: str = "",
    measure: str = "",
    expectation: dict[str, float] | None = None,
) -> Control:
    """A new control; the link and the measure are checked (unknown kinds, references and
    measures are refused by field). The expectation defaults to the measure's."""
    require(actor, MANAGE_RISK, "recording a control")
    at: Site = site_by_code(site)
    title = check_text(title, "title", max_length=200, required=True)
    description = check_text(description, "description", max_length=4000)
    claimed = _claimed(claimed)
    link_kind, link_ref = links.check(at, link_kind, link_ref)
    found = _measure(measure)
    wanted = _expectation(expectation, found)
    now = clock.now()
    with transaction.atomic():
        control = Control.objects.create(
            site=at,
            title=title,
            description=description,
            claimed=claimed,
            link_kind=link_kind,
            link_ref=link_ref,
            measure=found.slug if found else "",
            expectation=wanted,
            created_by=actor.label,
            created_at=now,
            updated_at=now,
        )
        ledger.append(
            actor,
            "risk.control.recorded",
            SUBJECT,
            str(control.pk),
            {
                "site": at.code,
                "title": title,
                "claimed": claimed,
                "link": [link_kind, link_ref],
                "measure": control.measure,
                "expectation": wanted,
            },
            at=now,
        )
    return control


def update_control(actor: Actor, control_id: int, **changes: object) -> Control:
    """Change a control's title, description, claim, link, measure or expectation. A new
    measure without an expectation takes the measure's default; a new measure or link drops the
    old evidence (and with it the flag); a new claim or expectation is judged against the stored
    evidence at once."""
    require(actor, MANAGE_RISK, "changing a control")
    for name in changes:
        if name not in CHANGEABLE:
            raise ServiceError(f"{name} cannot be changed", name)
    now = clock.now()
    with transaction.atomic():
        control = _locked(control_id)
        was = control.contradicted
        if "title" in changes:
            control.title = check_text(
                str(changes["title"]), "title", max_length=200, required=True
            )
        if "description" in changes:
            control.description = check_text(
                str(changes["description"]), "description", max_length=4000
            )
        if "claimed" in changes:
            control.claimed = _claimed(str(changes["claimed"]))
        link = (control.link_kind, control.link_ref)
        if "link_kind" in changes or "link_ref" in changes:
            control.link_kind, control.link_ref = links.check(
                control.site,
                str(changes.get("link_kind", control.link_kind)),
                str(changes.get("link_ref", control.link_ref)),
            )
        measure_changed = "measure" in changes and changes["measure"] != control.measure
        # Evidence of another door or course says nothing about the new one.
        evidence_stale = measure_changed or link != (control.link_kind, control.link_ref)
        found = _measure(str(changes.get("measure", control.measure)))
        if "expectation" in changes or measure_changed:
            raw = changes.get("expectation")
            if raw is not None and not isinstance(raw, Mapping):
                raise ServiceError(
                    'give the expectation as {"min": x} and/or {"max": y}', "expectation"
                )
            control.expectation = _expectation(raw, found)
        if measure_changed:
            control.measure = found.slug if found else ""
        if evidence_stale:
            control.last_evidence = {}
            control.last_evaluated_at = None
        elif control.last_evidence.get("value") is not None:
            control.last_evidence = {
                **control.last_evidence,
                "expectation": control.expectation,
                "meets": meets(_as_measurement(control.last_evidence), control.expectation),
            }
        control.updated_at = now
        control.save()
        ledger.append(
            actor,
            "risk.control.updated",
            SUBJECT,
            str(control.pk),
            {name: _plain(getattr(control, name)) for name in changes},
            at=now,
        )
        _flag(actor, control, was, now)
        control.save(update_fields=["contradicted"])
    return control


def _as_measurement(evidence: Mapping[str, Any]) -> Measurement:
    value = evidence.get("value")
    return Measurement(
        float(value) if value is not None else None,
        str(evidence.get("unit", "")),
        str(evidence.get("summary", "")),
    )


def _plain(value: object) -> object:
    return value if isinstance(value, str | int | float | dict | list) else str(value)


def _evaluate(actor: Actor, control_id: int, start: datetime, end: datetime) -> Control:
    now = clock.now()
    with transaction.atomic():
        control = _locked(control_id)
        if not control.measure:
            raise ServiceError("this control has no measure: choose one to evaluate it", "measure")
        was = control.contradicted
        evidence = measure_now(control, start, end)
        control.last_evidence = evidence
        control.last_evaluated_at = now
        if evidence.get("error"):
            # A failed measurement says nothing either way: the flag stays as it was.
            control.save(update_fields=["last_evidence", "last_evaluated_at"])
            return control
        # A person's check is on the record; the job's hourly re-measurements only when the
        # flag changes.
        if actor.kind != "job":
            ledger.append(
                actor,
                "risk.control.evaluated",
                SUBJECT,
                str(control.pk),
                {k: evidence[k] for k in ("value", "summary", "meets", "start", "end")},
                at=now,
            )
        _flag(actor, control, was, now)
        control.save(update_fields=["last_evidence", "last_evaluated_at", "contradicted"])
    return control


def evaluate(actor: Actor, control_id: int, start: datetime, end: datetime) -> Control:
    """Measure the control's evidence over the period, store it, and flag it when an
    implemented (or partly implemented) control's evidence falls short; a newly contradicted
    control sends ``risk.control.contradicted``."""
    require(actor, MANAGE_RISK, "evaluating a control")
    _period(start, end)
    return _evaluate(actor, control_id, start, end)


def evaluate_site(actor: Actor, site: str, start: datetime, end: datetime) -> list[Control]:
    """Evaluate every control of the site that has a measure, over the period."""
    require(actor, MANAGE_RISK, "evaluating controls")
    at = site_by_code(site)
    _period(start, end)
    ids = Control.objects.filter(site=at).exclude(measure="").values_list("pk", flat=True)
    return [_evaluate(actor, pk, start, end) for pk in ids]


def evaluate_due(now: datetime) -> int:
    """Re-measure the controls not measured in the last hour (the periodic job: at most a few per
    call, so a tick stays quick); returns how many were measured."""
    due = list(
        Control.objects.exclude(measure="")
        .exclude(last_evaluated_at__gt=now - DUE_AFTER)
        .order_by(F("last_evaluated_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:DUE_BATCH]
    )
    done = 0
    for pk in due:
        try:
            _evaluate(JOB, pk, now - DUE_PERIOD, now)
        except Exception:
            # One control that cannot be measured must not hold up the others.
            log.exception("evaluating control %s failed", pk)
            continue
        done += 1
    return done


def delete_control(actor: Actor, control_id: int) -> None:
    """Remove a control; a treatment that named it keeps its description, without the link."""
    require(actor, MANAGE_RISK, "removing a control")
    with transaction.atomic():
        control = _locked(control_id)
        ledger.append(
            actor,
            "risk.control.deleted",
            SUBJECT,
            str(control.pk),
            {"site": control.site.code, "title": control.title},
        )
        control.delete()
