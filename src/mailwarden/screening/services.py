"""Every change to screening data is one function here (docs/architecture.md rule 1).

Each takes an explicit actor, validates everything first, then writes, appends to the ledger and
emits its events in one transaction. Item states change only through the custody services.

Screening ledger entries are filed under the item (subject ``mailitem``), so the item's chain
of custody shows its scans, decisions and quarantine requests beside its transitions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from mailwarden.config import get_settings
from mailwarden.contracts import events
from mailwarden.core import clock, duties, ledger, media, outbox, projections
from mailwarden.core.actor import Actor
from mailwarden.core.duties import Duty
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require, require_person
from mailwarden.core.roles import SCREEN, Role
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Recipient, Site
from mailwarden.screening import decode, imaging
from mailwarden.screening.models import (
    Decision,
    DecisionStatus,
    Indicator,
    Outcome,
    QuarantineRequest,
    RequestStatus,
    Scan,
    ScanSource,
    SitePolicy,
)
from mailwarden.screening.policy import (
    ACTION_LABELS,
    DEFAULT_ACTIONS,
    DEFAULT_CONFIRM_WITHIN_MINUTES,
    DEFAULT_XRAY_TIERS,
    Action,
    Finding,
    Policy,
    Tier,
    assess,
    policy_problems,
)
from mailwarden.xray.analysis import REGION_CLASSES, Region

# Screeners and security managers screen; only a security manager confirms a quarantine outcome
# or edits the policy, so a release always has a manager's name on it.
PROPOSE_OUTCOME = SCREEN
CONFIRM_OUTCOME = (Role.SECURITY_MANAGER,)
MANAGE_POLICY = (Role.SECURITY_MANAGER,)

SCANNABLE = frozenset({State.AWAITING_SCREENING, State.QUARANTINED})
MAX_LIST = 500
MAX_CONFIRM_MINUTES = 24 * 60
TIERS = frozenset(t.value for t in Tier)
ACTIONS = frozenset(a.value for a in Action)


def limits() -> decode.Limits:
    cfg = get_settings().uploads
    return decode.Limits(max_bytes=cfg.max_bytes, max_pixels=cfg.max_pixels)


def _person(actor: Actor, what: str) -> None:
    """Two-person rules need two identifiable people, not two tokens or a job."""
    require_person(actor, what)


def _item(uid: str, *, lock: bool = False) -> MailItem:
    query = MailItem.objects.select_related("site", "location", "recipient")
    if lock:
        # Only the item's row: locking the joined site would serialise a whole mailroom.
        query = query.select_for_update(of=("self",))
    item = query.filter(uid=uid.strip().upper()).first()
    if item is None:
        raise NotFound(f"no item {uid}", "uid")
    return item


# ----------------------------------------------------------------------------- policy


def indicator_weights(site_policy: SitePolicy | None) -> dict[str, int]:
    overrides = site_policy.indicator_weights if site_policy else {}
    return {
        code: int(overrides.get(code, weight))
        for code, weight in Indicator.objects.values_list("code", "default_weight")
    }


def _policy_of(row: SitePolicy | None) -> Policy:
    if row is None:
        return Policy(indicator_weights=indicator_weights(None))
    return Policy(
        indicator_weights=indicator_weights(row),
        elevated_at=row.elevated_at,
        high_at=row.high_at,
        critical_at=row.critical_at,
        xray_tiers={**DEFAULT_XRAY_TIERS, **{k: Tier(v) for k, v in row.xray_tiers.items()}},
        xray_min_score=row.xray_min_score,
        recipient_risk_weight=row.recipient_risk_weight,
        actions={**DEFAULT_ACTIONS, **{Tier(k): Action(v) for k, v in row.actions.items()}},
    )


@dataclass(frozen=True)
class SitePolicyView:
    """A site's policy as it applies now, with the recipient-risk lists and time limit."""

    site: Site
    policy: Policy
    high_risk_employee_ids: tuple[str, ...]
    high_risk_departments: tuple[str, ...]
    confirm_within_minutes: int
    version: int
    customised: bool


def site_policy(site: Site) -> SitePolicyView:
    row = SitePolicy.objects.filter(site=site).first()
    return SitePolicyView(
        site=site,
        policy=_policy_of(row),
        high_risk_employee_ids=tuple(row.high_risk_employee_ids) if row else (),
        high_risk_departments=tuple(row.high_risk_departments) if row else (),
        confirm_within_minutes=row.confirm_within_minutes
        if row
        else DEFAULT_CONFIRM_WITHIN_MINUTES,
        version=row.version if row else 0,
        customised=row is not None,
    )


@dataclass
class PolicyUpdate:
    """The parts of a policy to change; ``None`` leaves a part as it is."""

    indicator_weights: dict[str, int] | None = None
    elevated_at: int | None = None
    high_at: int | None = None
    critical_at: int | None = None
    xray_tiers: dict[str, str] | None = None
    xray_min_score: float | None = None
    recipient_risk_weight: int | None = None
    high_risk_employee_ids: list[str] | None = None
    high_risk_departments: list[str] | None = None
    actions: dict[str, str] | None = None
    confirm_within_minutes: int | None = None
    expected_version: int | None = None


def _clean_list(values: list[str], field: str, max_length: int) -> list[str]:
    if len(values) > MAX_LIST:
        raise ServiceError(f"at most {MAX_LIST} entries", field)
    cleaned: list[str] = []
    for index, value in enumerate(values):
        text = value.strip()
        if not text or len(text) > max_length:
            raise ServiceError(f"must be 1 to {max_length} characters", f"{field}.{index}")
        if text.casefold() not in {c.casefold() for c in cleaned}:
            cleaned.append(text)
    return cleaned


def update_policy(actor: Actor, site_code: str, change: PolicyUpdate) -> SitePolicyView:
    """Change a site's screening policy; the ledger records what changed and who changed it."""
    require(actor, MANAGE_POLICY, "changing the screening policy")
    site = Site.objects.filter(code=site_code).first()
    if site is None:
        raise NotFound(f"no site {site_code!r}", "code")
    defaults = dict(Indicator.objects.values_list("code", "default_weight"))
    with transaction.atomic():
        row = SitePolicy.objects.select_for_update().filter(site=site).first()
        if change.expected_version is not None and change.expected_version != (
            row.version if row else 0
        ):
            raise Conflict(
                "the policy was changed by someone else; reload and try again", "expected_version"
            )
        if row is None:
            row = SitePolicy(site=site, updated_at=clock.now(), updated_by=actor.label, version=0)
        changes: dict[str, Any] = {}
        if change.indicator_weights is not None:
            weights = dict(row.indicator_weights)
            for code, weight in change.indicator_weights.items():
                if code not in defaults:
                    raise ServiceError(f"unknown indicator {code!r}", f"indicator_weights.{code}")
                if weight == defaults[code]:
                    weights.pop(code, None)
                else:
                    weights[code] = weight
            row.indicator_weights = weights
            changes["indicator_weights"] = change.indicator_weights
        if change.xray_tiers is not None:
            tiers = dict(row.xray_tiers)
            for cls, tier in change.xray_tiers.items():
                if cls not in REGION_CLASSES:
                    raise ServiceError(
                        f"unknown X-ray class {cls!r}; classes are {', '.join(REGION_CLASSES)}",
                        f"xray_tiers.{cls}",
                    )
                if tier not in TIERS:
                    raise ServiceError(f"unknown tier {tier!r}", f"xray_tiers.{cls}")
                tiers[cls] = Tier(tier).value
            row.xray_tiers = tiers
            changes["xray_tiers"] = change.xray_tiers
        if change.actions is not None:
            actions = dict(row.actions)
            for tier, action in change.actions.items():
                if tier not in TIERS:
                    raise ServiceError(f"unknown tier {tier!r}", f"actions.{tier}")
                if action not in ACTIONS:
                    choices = ", ".join(a.value for a in Action)
                    raise ServiceError(
                        f"unknown action {action!r}; actions are {choices}", f"actions.{tier}"
                    )
                actions[Tier(tier).value] = Action(action).value
            row.actions = actions
            changes["actions"] = change.actions
        for name in (
            "elevated_at",
            "high_at",
            "critical_at",
            "xray_min_score",
            "recipient_risk_weight",
        ):
            value = getattr(change, name)
            if value is not None:
                setattr(row, name, value)
                changes[name] = value
        if change.confirm_within_minutes is not None:
            if not 1 <= change.confirm_within_minutes <= MAX_CONFIRM_MINUTES:
                raise ServiceError(
                    f"must be 1 to {MAX_CONFIRM_MINUTES} minutes", "confirm_within_minutes"
                )
            row.confirm_within_minutes = change.confirm_within_minutes
            changes["confirm_within_minutes"] = change.confirm_within_minutes
        if change.high_risk_employee_ids is not None:
            row.high_risk_employee_ids = _clean_list(
                change.high_risk_employee_ids, "high_risk_employee_ids", 40
            )
            changes["high_risk_employee_ids"] = row.high_risk_employee_ids
        if change.high_risk_departments is not None:
            row.high_risk_departments = _clean_list(
                change.high_risk_departments, "high_risk_departments", 120
            )
            changes["high_risk_departments"] = row.high_risk_departments
        problems = policy_problems(_policy_of(row))
        if problems:
            field_name, reason = problems[0]
            raise ServiceError(reason, field_name)
        if not changes:
            raise ServiceError("nothing to change", None)
        row.version += 1
        row.updated_at = clock.now()
        row.updated_by = actor.label
        row.save()
        ledger.append(
            actor,
            "screening.policy.updated",
            "site",
            site.code,
            {"version": row.version, **changes},
        )
    return site_policy(site)


def high_risk_reason(view: SitePolicyView, recipient: Recipient) -> str | None:
    """Why the recipient counts as high-risk under the policy, or None."""
    if recipient.employee_id in view.high_risk_employee_ids:
        return f"{recipient.display_name} ({recipient.employee_id}) is on the high-risk list"
    department = recipient.department_name.casefold()
    if department and department in {d.casefold() for d in view.high_risk_departments}:
        return f"{recipient.department_name} is a high-risk department"
    return None


# ----------------------------------------------------------------------------- scans


@dataclass(frozen=True)
class ScanUpload:
    """What a scanner delivered: one file (colour composite or DICOS), or a high/low pair."""

    image: bytes | None = None
    high: bytes | None = None
    low: bytes | None = None
    filename: str = ""


def decode_upload(upload: ScanUpload, lim: decode.Limits | None = None) -> decode.Decoded:
    """Validate and decode; raises ServiceError naming ``image``, ``high`` or ``low``."""
    lim = lim or limits()
    if upload.image is not None:
        if upload.high is not None or upload.low is not None:
            raise ServiceError(
                "send either one image, or a high and a low image; not both", "image"
            )
        return decode.single(upload.image, lim)
    if upload.high is None and upload.low is None:
        raise ServiceError("send an image, or a high and a low image", "image")
    if upload.high is None:
        raise ServiceError("the high-energy image of the pair is missing", "high")
    if upload.low is None:
        raise ServiceError("the low-energy image of the pair is missing", "low")
    return decode.pair(upload.high, upload.low, lim)


def import_scan(
    actor: Actor, uid: str, upload: ScanUpload, *, source: str = ScanSource.API
) -> Scan:
    """Store a scan of an item awaiting screening (or in quarantine), analysed and rendered."""
    require(actor, SCREEN, "importing an X-ray scan")
    item = _item(uid)
    _check_scannable(item)
    return _store_scan(actor, item.uid, upload, source, check_state=True)


def backfill_scan(actor: Actor, uid: str, upload: ScanUpload, *, source: str) -> Scan:
    """Store a scan of an item at any stage: history brought in from elsewhere (the demo's
    simulated scanner, a previous system). Administrators and jobs only."""
    require(actor, (), "back-filling scan history")
    item = _item(uid)
    return _store_scan(actor, item.uid, upload, source, check_state=False, backfilled=True)


def _check_scannable(item: MailItem) -> None:
    if item.state not in SCANNABLE:
        raise Conflict(
            f"{item.uid} is {item.state}; only items awaiting screening or in quarantine are "
            "scanned",
            "uid",
        )


# The last few images analysed, by their bytes: the same images again (an upload retried, the
# demo's pool of simulated parcels) are not analysed and rendered twice.
_RECENT: dict[tuple[bytes | None, bytes | None, bytes | None], tuple[list[Region], bytes]] = {}
RECENT_SIZE = 16


def _analysed(upload: ScanUpload, decoded: decode.Decoded) -> tuple[list[Region], bytes]:
    key = (upload.image, upload.high, upload.low)
    known = _RECENT.get(key)
    if known is not None:
        return known
    try:
        found = (imaging.regions(decoded), imaging.render(decoded))
    except ValueError as exc:
        raise ServiceError(f"the image could not be analysed ({exc})", "image") from exc
    if len(_RECENT) >= RECENT_SIZE:
        _RECENT.pop(next(iter(_RECENT)), None)
    _RECENT[key] = found
    return found


def _store_scan(
    actor: Actor,
    uid: str,
    upload: ScanUpload,
    source: str,
    *,
    check_state: bool,
    backfilled: bool = False,
) -> Scan:
    if source not in ScanSource.values:
        raise ServiceError(f"unknown scan source {source!r}", "source")
    decoded = decode_upload(upload)
    found, rendered = _analysed(upload, decoded)
    regions = [imaging.region_json(r) for r in found]
    width, height = decoded.size
    filename = upload.filename.strip()[:200]
    with transaction.atomic():
        item = _item(uid, lock=True)
        if check_state:
            _check_scannable(item)
        # Stored only now that every check has passed.
        file_hash = media.put(upload.image) if upload.image is not None else ""
        high_hash = media.put(upload.high) if upload.high is not None else ""
        low_hash = media.put(upload.low) if upload.low is not None else ""
        rendered_hash = media.put(rendered)
        scan = Scan.objects.create(
            item=item,
            kind=decoded.kind,
            format=decoded.format,
            source=source,
            high_sha256=high_hash,
            low_sha256=low_hash,
            file_sha256=file_hash,
            rendered_sha256=rendered_hash,
            filename=filename,
            width=width,
            height=height,
            regions=regions,
            max_score=max((r["score"] for r in regions), default=0.0),
            taken_by=actor.label,
            created_at=clock.now(),
        )
        ledger.append(
            actor,
            "screening.scan.stored",
            "mailitem",
            item.uid,
            {
                "scan": scan.pk,
                "kind": scan.kind,
                "format": scan.format,
                "source": source,
                "sha256": scan.hashes,
                "rendered_sha256": rendered_hash,
                "regions": [{"cls": r["cls"], "score": r["score"]} for r in regions],
                **({"backfilled": True} if backfilled else {}),
            },
        )
    return scan


def scan_decoded(scan: Scan) -> decode.Decoded:
    """The scan's images read back from the media store (they were checked on import)."""
    generous = decode.Limits(max_bytes=2**40, max_pixels=2**40)
    if scan.file_sha256:
        return decode.single(media.get(scan.file_sha256), generous)
    return decode.pair(media.get(scan.high_sha256), media.get(scan.low_sha256), generous)


# ----------------------------------------------------------------------------- decisions


def _findings(scans: Iterable[Scan]) -> list[Finding]:
    return [
        Finding(r["cls"], float(r["score"]), r.get("reason", ""), scan.pk)
        for scan in scans
        for r in scan.regions
    ]


# A finding at these tiers is one a screener must say they have seen before clearing the item.
ALERT_TIERS = frozenset({Tier.HIGH, Tier.CRITICAL})


@dataclass(frozen=True)
class WorstFinding:
    """The X-ray finding that alone gives an item its highest tier, and what that tier requires."""

    tier: Tier
    action: Action
    finding: Finding

    @property
    def alert(self) -> bool:
        return self.tier in ALERT_TIERS

    @property
    def summary(self) -> str:
        return f"{self.finding.cls} (score {self.finding.score:.2f})"

    @property
    def requires(self) -> str:
        return ACTION_LABELS[self.action]


def worst_finding(policy: Policy, scans: Iterable[Scan]) -> WorstFinding | None:
    """The scans' finding with the highest tier by itself (the highest score among equals)."""
    worst: WorstFinding | None = None
    for finding in _findings(scans):
        alone = assess(policy, [], [finding])
        if (
            worst is None
            or alone.tier.rank > worst.tier.rank
            or (alone.tier == worst.tier and finding.score > worst.finding.score)
        ):
            worst = WorstFinding(alone.tier, alone.action, finding)
    return worst


@dataclass
class Checklist:
    """A screener's checklist for one item."""

    indicators: list[str] = field(default_factory=list)
    notes: str = ""
    raise_to: str | None = None  # the screener may raise the tier, never lower it
    seconds_on_item: int | None = None
    # Clearing (raising nothing) an item with a high or critical X-ray finding needs this: the
    # screener has been shown the finding and what clearing it will do.
    confirm_findings: bool = False


def screen_item(actor: Actor, uid: str, checklist: Checklist) -> Decision:
    """Decide on an item awaiting screening, from its checklist, its scans and its recipient.

    What the tier requires happens at once: clearance (low), a pending decision that a second
    screener must confirm (elevated), quarantine (high), or do-not-open with the alarm raised
    (critical). A new decision on an item with a pending one replaces it, at no lower a tier.
    """
    require(actor, SCREEN, "screening an item")
    # A scanner's device token may deliver images but never decide what is safe.
    _person(actor, "a screening decision")
    # The training app refuses a screener whose screener certificate is not current.
    duties.check(actor, Duty.SCREEN, item_uid=uid.strip().upper())
    if projections.unanswered(actor, uid.strip().upper()):
        raise Conflict(
            "answer the image on the workstation first: mark the threat or clear it, and the "
            "item's own image follows",
            "uid",
        )
    codes = [c.strip() for c in checklist.indicators]
    known = set(Indicator.objects.values_list("code", flat=True))
    for index, code in enumerate(codes):
        if code not in known:
            raise ServiceError(f"unknown indicator {code!r}", f"indicators.{index}")
    floor: Tier | None = None
    if checklist.raise_to:
        if checklist.raise_to not in TIERS:
            raise ServiceError(
                f"unknown tier {checklist.raise_to!r}; tiers are "
                + ", ".join(t.value for t in Tier),
                "raise_to",
            )
        floor = Tier(checklist.raise_to)
    notes = checklist.notes.strip()
    now = clock.now()
    with transaction.atomic():
        item = _item(uid, lock=True)
        if item.state != State.AWAITING_SCREENING:
            raise Conflict(
                f"{item.uid} is {item.state}; only items awaiting screening are screened", "uid"
            )
        view = site_policy(item.site)
        scans = list(Scan.objects.filter(item=item).order_by("id"))
        worst = worst_finding(view.policy, scans)
        if checklist.raise_to is None and not checklist.confirm_findings and worst and worst.alert:
            raise ServiceError(
                f"the X-ray shows a {worst.tier.value} finding: {worst.summary}. Clearing does "
                f"not lower it: the item {worst.requires}. Look at the finding, then confirm "
                "that you have seen it, or choose quarantine or threat",
                "confirm_findings",
            )
        pending = list(
            Decision.objects.select_for_update().filter(item=item, status=DecisionStatus.PENDING)
        )
        floor_reason = "the screener's call" if floor else ""
        for earlier in pending:
            earlier_tier = Tier(earlier.tier)
            if floor is None or earlier_tier.rank > floor.rank:
                floor, floor_reason = earlier_tier, f"not lower than decision {earlier.pk}"
        risk = high_risk_reason(view, item.recipient)
        result = assess(
            view.policy,
            codes,
            _findings(scans),
            high_risk_recipient=risk,
            floor=floor,
            floor_reason=floor_reason,
        )
        status = {
            Action.CLEAR: DecisionStatus.CLEARED,
            Action.SECOND_SCREENER: DecisionStatus.PENDING,
            Action.QUARANTINE: DecisionStatus.QUARANTINED,
            Action.EVACUATE: DecisionStatus.QUARANTINED,
        }[result.action]
        hashes = [h for scan in scans for h in scan.hashes]
        decision = Decision.objects.create(
            item=item,
            tier=result.tier.value,
            action=result.action.value,
            status=status,
            points=result.points,
            indicators=sorted(set(codes)),
            reasons=list(result.reasons),
            scan_ids=[s.pk for s in scans],
            image_hashes=hashes,
            high_risk_recipient=(risk or "")[:200],
            raised_to=checklist.raise_to or "",
            notes=notes,
            seconds_on_item=checklist.seconds_on_item,
            screener=actor.label,
            screener_user_id=actor.user_id,
            decided_at=now,
        )
        for earlier in pending:
            earlier.status = DecisionStatus.SUPERSEDED
            earlier.save(update_fields=["status"])
        ledger.append(
            actor,
            "screening.decision.recorded",
            "mailitem",
            item.uid,
            {
                "decision": decision.pk,
                "tier": decision.tier,
                "action": decision.action,
                "status": decision.status,
                "points": decision.points,
                "indicators": decision.indicators,
                "reasons": decision.reasons,
                "reason": result.reasons[-1],
                "scans": decision.scan_ids,
                "image_sha256": hashes,
                "supersedes": [d.pk for d in pending],
                "notes": notes,
                "seconds_on_item": checklist.seconds_on_item,
            },
            at=now,
        )
        outbox.emit(
            events.ScreeningDecisionRecorded(
                uid=item.uid,
                decision=decision.pk,
                tier=decision.tier,
                action=decision.action,
                status=decision.status,
                indicators=decision.indicators,
                screener=actor.label,
                screener_user_id=actor.user_id,
                seconds_on_item=checklist.seconds_on_item,
                site=item.site.code,
                decided_at=now,
            )
        )
        summary = f"screening decision {decision.pk}: {decision.tier} tier"
        if result.action == Action.CLEAR:
            custody.transition(actor, item.uid, State.CLEARED.value, reason=summary)
        elif result.action == Action.QUARANTINE:
            custody.transition(actor, item.uid, State.QUARANTINED.value, reason=summary)
        elif result.action == Action.EVACUATE:
            # A suspected device is not carried anywhere: it stays where it was found.
            custody.transition(
                actor,
                item.uid,
                State.QUARANTINED.value,
                reason=f"{summary}: do not open, evacuate",
                location_code=item.location.code,
            )
            outbox.emit(
                events.ScreeningAlarm(
                    uid=item.uid,
                    tier=decision.tier,
                    reasons=decision.reasons,
                    screener=actor.label,
                    decision=decision.pk,
                    site=item.site.code,
                    location=item.location.code,
                )
            )
    decision.refresh_from_db()
    return decision


def confirm_decision(actor: Actor, decision_id: int) -> Decision:
    """A second, different screener confirms an elevated-tier decision: the item is cleared.

    A second screener who disagrees screens the item again instead (:func:`screen_item`); that
    decision replaces this one at no lower a tier.
    """
    require(actor, SCREEN, "confirming a screening decision")
    _person(actor, "a second screener's confirmation")
    now = clock.now()
    with transaction.atomic():
        decision = (
            Decision.objects.select_for_update()
            .select_related("item")
            .filter(pk=decision_id)
            .first()
        )
        if decision is None:
            raise NotFound(f"no decision {decision_id}", "decision_id")
        if decision.status != DecisionStatus.PENDING:
            raise Conflict(
                f"decision {decision.pk} is {decision.status}; only a pending decision is "
                "confirmed",
                "decision_id",
            )
        # By person, not by label: the screener's own tokens are the screener (core.permissions).
        if decision.screener_user_id == actor.person_id or decision.screener == actor.label:
            raise Forbidden(
                "the screener who made the decision cannot confirm it; a second screener must",
                "decision_id",
            )
        if Scan.objects.filter(item=decision.item).exclude(pk__in=decision.scan_ids).exists():
            raise Conflict(
                f"{decision.item.uid} was scanned again after decision {decision.pk}; screen it "
                "again",
                "decision_id",
            )
        _record_confirmation(decision, DecisionStatus.CLEARED, actor, now)
        uid = decision.item.uid
        ledger.append(
            actor,
            "screening.decision.confirmed",
            "mailitem",
            uid,
            {
                "decision": decision.pk,
                "tier": decision.tier,
                "screener": decision.screener,
                "reason": f"second screener confirmed decision {decision.pk}",
            },
            at=now,
        )
        custody.transition(
            actor,
            uid,
            State.CLEARED.value,
            reason=f"screening decision {decision.pk}: {decision.tier} tier, confirmed by a "
            "second screener",
        )
    return decision


# ----------------------------------------------------------------------------- quarantine


def propose_quarantine_outcome(
    actor: Actor, uid: str, outcome: str, reason: str
) -> QuarantineRequest:
    """The first of two people proposes releasing, destroying or handing over an item."""
    require(actor, PROPOSE_OUTCOME, "proposing a quarantine outcome")
    _person(actor, "a quarantine outcome")
    if outcome not in Outcome.values:
        raise ServiceError(
            f"unknown outcome {outcome!r}; outcomes are {', '.join(Outcome.values)}", "outcome"
        )
    reason = reason.strip()
    if not reason:
        raise ServiceError("say why", "reason")
    now = clock.now()
    with transaction.atomic():
        item = _item(uid, lock=True)
        if item.state != State.QUARANTINED:
            raise Conflict(f"{item.uid} is {item.state}, not in quarantine", "uid")
        lapsed: list[int] = []
        for open_request in QuarantineRequest.objects.select_for_update().filter(
            item=item, status=RequestStatus.PENDING
        ):
            if open_request.status_at(now) == RequestStatus.PENDING:
                raise Conflict(
                    f"request {open_request.pk} ({open_request.outcome}) awaits confirmation "
                    f"until {open_request.expires_at:%H:%M} UTC; confirm it or let it expire",
                    "uid",
                )
            open_request.status = RequestStatus.EXPIRED
            open_request.save(update_fields=["status"])
            lapsed.append(open_request.pk)
        minutes = site_policy(item.site).confirm_within_minutes
        request = QuarantineRequest.objects.create(
            item=item,
            outcome=outcome,
            reason=reason,
            status=RequestStatus.PENDING,
            proposed_by=actor.label,
            proposed_by_user_id=actor.user_id,
            proposed_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        ledger.append(
            actor,
            "screening.quarantine_outcome.proposed",
            "mailitem",
            item.uid,
            {
                "request": request.pk,
                "outcome": outcome,
                "reason": reason,
                "expires_at": request.expires_at.isoformat(),
                "replaces_expired": lapsed,
            },
            at=now,
        )
    return request


def confirm_quarantine_outcome(actor: Actor, request_id: int) -> QuarantineRequest:
    """A second, different person (a security manager) confirms in time; the outcome applies."""
    require(actor, CONFIRM_OUTCOME, "confirming a quarantine outcome")
    _person(actor, "a quarantine outcome")
    now = clock.now()
    with transaction.atomic():
        request = (
            QuarantineRequest.objects.select_for_update()
            .select_related("item")
            .filter(pk=request_id)
            .first()
        )
        if request is None:
            raise NotFound(f"no quarantine request {request_id}", "request_id")
        status = request.status_at(now)
        if status == RequestStatus.EXPIRED:
            raise Conflict(
                f"request {request.pk} expired at {request.expires_at:%Y-%m-%d %H:%M} UTC; "
                "propose the outcome again",
                "request_id",
            )
        if status != RequestStatus.PENDING:
            raise Conflict(f"request {request.pk} is {status.value} already", "request_id")
        # By person, not by label: the proposer's own tokens are the proposer (core.permissions).
        if request.proposed_by_user_id == actor.person_id or request.proposed_by == actor.label:
            raise Forbidden(
                "the person who proposed the outcome cannot confirm it; a second person must",
                "request_id",
            )
        _record_confirmation(request, RequestStatus.CONFIRMED, actor, now)
        uid = request.item.uid
        ledger.append(
            actor,
            "screening.quarantine_outcome.confirmed",
            "mailitem",
            uid,
            {
                "request": request.pk,
                "outcome": request.outcome,
                "proposed_by": request.proposed_by,
                "reason": request.reason,
            },
            at=now,
        )
        custody.two_person_quarantine_outcome(
            actor, uid, request.outcome, reason=request.reason, proposed_by=request.proposed_by
        )
    return request


def _record_confirmation(
    record: Decision | QuarantineRequest, status: str, actor: Actor, now: datetime
) -> None:
    """The second person's confirmation, on a decision or a quarantine request alike."""
    record.status = status
    record.confirmed_by = actor.label
    record.confirmed_by_user_id = actor.user_id
    record.confirmed_at = now
    record.save(update_fields=["status", "confirmed_by", "confirmed_by_user_id", "confirmed_at"])
