"""Console pages of screening: the queue, the screener's workstation, the quarantine register and
the screening policy.

Views read models and call :mod:`mailwarden.screening.services` for every change
(docs/architecture.md rule 1). The services check roles again, so a page that shows a button never
decides whether the press is allowed; a refusal is shown next to the field it names, with its status
code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.config import get_settings
from mailwarden.core import clock, media, projections
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.names import names
from mailwarden.core.roles import SCREEN, Role
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.custody import queries as custody_queries
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Site
from mailwarden.screening import imaging, queries, services
from mailwarden.screening.forms import (
    QUARANTINE,
    THREAT,
    ConfirmDecisionForm,
    DecisionForm,
    PolicyForm,
    ProposeOutcomeForm,
    ScanUploadForm,
)
from mailwarden.screening.models import (
    Decision,
    DecisionStatus,
    Indicator,
    Outcome,
    QuarantineRequest,
    RequestStatus,
    Scan,
    ScanSource,
)
from mailwarden.screening.policy import ACTION_LABELS, Action, Finding, Policy, Tier, assess

# The API words dwell times this way; the console says them the same.
from mailwarden.screening.schemas import _dwell_words as dwell_words

# Auditors see what screening did and why, but change nothing.
SCREENING_READ = (*SCREEN, Role.AUDITOR)
POLICY_READ = (*services.MANAGE_POLICY, Role.AUDITOR)

QUEUE_LIMIT = 200
WORKSTATION = "screening/workstation.html"
EVACUATE_INSTRUCTION = (
    "Do not open, move, shake or cover the item. Leave it where it is, keep everyone away, "
    "evacuate the room and wait for the security team at the assembly point."
)

TIER_TONE = {
    Tier.LOW: "ok",
    Tier.ELEVATED: "warn",
    Tier.HIGH: "danger",
    Tier.CRITICAL: "critical",
}


def _visible_item(actor: Actor, uid: str) -> MailItem:
    item = custody_queries.visible_items(actor).filter(uid=uid.strip().upper()).first()
    if item is None:
        raise Http404(f"no item {uid}")
    return item


# ----------------------------------------------------------------------------- the timer

_OPENED_SALT = "mailwarden.screening.workstation-opened"
# A page left open over a weekend says nothing about how long the item took.
MAX_SECONDS_ON_ITEM = 24 * 3600


def opened_token(uid: str, now: datetime) -> str:
    """When the workstation was opened on an item, signed, so the decision's time on the item
    comes from the server's clock rather than from whatever the browser sends."""
    return signing.dumps({"uid": uid, "at": now.timestamp()}, salt=_OPENED_SALT)


def seconds_on_item(token: str, uid: str, now: datetime) -> int | None:
    try:
        data = signing.loads(token, salt=_OPENED_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("uid") != uid:
        return None
    at = data.get("at")
    if not isinstance(at, int | float):
        return None
    return min(MAX_SECONDS_ON_ITEM, max(0, int(now.timestamp() - at)))


# ----------------------------------------------------------------------------- queue


@dataclass(frozen=True)
class QueueRow:
    item: MailItem
    dwell: str
    dwell_seconds: int
    pending: Decision | None
    pending_mine: bool
    scan: Scan | None
    worst: services.WorstFinding | None = None

    @property
    def alert(self) -> bool:
        return self.worst is not None and self.worst.alert

    @property
    def alert_tone(self) -> str:
        return TIER_TONE[self.worst.tier] if self.worst is not None else ""

    @property
    def alert_rank(self) -> int:
        """Sorts critical findings first, then high, then the rest in waiting order."""
        return -self.worst.tier.rank if self.worst is not None and self.worst.alert else 0


@console_page(SCREENING_READ, "the screening queue")
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    now = clock.now()
    waiting = custody_queries.visible_items(actor).filter(state=State.AWAITING_SCREENING)
    total = waiting.count()
    items = list(waiting.order_by("state_changed_at", "uid")[:QUEUE_LIMIT])
    ids = [i.pk for i in items]
    pending: dict[int, Decision] = {}
    for decision in Decision.objects.filter(
        item_id__in=ids, status=DecisionStatus.PENDING
    ).order_by("decided_at", "id"):
        pending[decision.item_id] = decision
    latest: dict[int, Scan] = {}
    scans: dict[int, list[Scan]] = {}
    for scan in Scan.objects.filter(item_id__in=ids).order_by("created_at", "id"):
        latest[scan.item_id] = scan
        scans.setdefault(scan.item_id, []).append(scan)
    policies: dict[int, Policy] = {}
    for item in items:
        if item.site_id not in policies:
            policies[item.site_id] = services.site_policy(item.site).policy
    rows = [
        QueueRow(
            item=item,
            dwell=dwell_words(now - item.state_changed_at),
            dwell_seconds=max(0, int((now - item.state_changed_at).total_seconds())),
            pending=pending.get(item.pk),
            pending_mine=item.pk in pending and pending[item.pk].screener_user_id == actor.user_id,
            scan=latest.get(item.pk),
            worst=services.worst_finding(policies[item.site_id], scans.get(item.pk, [])),
        )
        for item in items
    ]
    # Items with a critical or high X-ray finding first, then those the clerk flagged at intake
    # (stable: each keeps its waiting order).
    rows.sort(key=lambda row: (row.alert_rank, not row.item.flagged))
    context = {
        "alerts": sum(1 for r in rows if r.alert),
        "second": [r for r in rows if r.pending],
        "first": [r for r in rows if not r.pending],
        "total": total,
        "shown": len(rows),
        "updated": now,
        "can_screen": actor.has(*SCREEN),
    }
    return render(request, "screening/queue.html", context)


# ----------------------------------------------------------------------------- workstation


@dataclass(frozen=True)
class ViewButton:
    key: str
    name: str
    label: str
    title: str
    url: str
    available: bool
    note: str = ""


# key, view, the button's short label, its full name
VIEW_BUTTONS = (
    ("1", imaging.View.PSEUDO, "Colour", "Pseudo-colour"),
    ("2", imaging.View.ORGANIC, "Organic", "Organic only"),
    ("3", imaging.View.INORGANIC, "Inorganic", "Inorganic only"),
    ("4", imaging.View.HIGH_PENETRATION, "High pen.", "High penetration"),
    ("5", imaging.View.EDGE, "Edge", "Edge enhanced"),
    ("6", imaging.View.NEGATIVE, "Negative", "Negative"),
    ("7", imaging.View.VARIABLE_DENSITY, "Density", "Variable density"),
    ("8", imaging.View.GREY, "Grey", "Greyscale"),
)


@dataclass(frozen=True)
class RegionView:
    number: int
    cls: str
    score: float
    reason: str
    tier: str
    tone: str
    x: int
    y: int
    width: int
    height: int
    label_y: int


@dataclass(frozen=True)
class DecisionView:
    decision: Decision
    tier: Tier
    tone: str
    requires: str
    status: str
    screener: str
    confirmed_by: str
    evacuate: bool


def _who(label: str) -> str:
    return label.split(":", 1)[-1]


def _decision_view(decision: Decision) -> DecisionView:
    tier = Tier(decision.tier)
    action = Action(decision.action)
    return DecisionView(
        decision=decision,
        tier=tier,
        tone=TIER_TONE[tier],
        requires=ACTION_LABELS[action],
        status=decision.get_status_display(),
        screener=_who(decision.screener),
        confirmed_by=_who(decision.confirmed_by),
        evacuate=action == Action.EVACUATE,
    )


def _view_buttons(
    scan: Scan, projected: projections.ProjectedImage | None, *, deciding: bool
) -> list[ViewButton]:
    buttons = []
    for key, view, label, title in VIEW_BUTTONS:
        note = ""
        if view == imaging.View.PSEUDO and deciding:
            # A screener about to decide always gets the image from this one address, whether it
            # is a test image or the scan's own, so the page's source never tells them apart.
            url = reverse(
                "screening:shown_image", kwargs={"uid": scan.item.uid, "scan_id": scan.pk}
            )
        elif view == imaging.View.PSEUDO:
            # The stored rendering: no work for the server, and cached by the browser.
            url = reverse("api:scan_image", kwargs={"scan_id": scan.pk})
        else:
            url = reverse("api:scan_view", kwargs={"scan_id": scan.pk, "name": view.value})
        available = scan.kind != "colour" or view in imaging.COLOUR_VIEWS
        if not available:
            note = f"{title} needs a high/low energy pair; this scan is a colour composite"
        elif projected is not None and view != imaging.View.PSEUDO:
            # The other views are drawn from the scan's own files, which hold no test image.
            available = False
            note = f"{title} is not available for this image until you answer it"
        buttons.append(ViewButton(key, view.value, label, title, url, available, note))
    return buttons


def _regions(scan: Scan, policy: Policy) -> list[RegionView]:
    found = []
    for number, region in enumerate(scan.regions, start=1):
        # The tier this finding alone gives, worked out by the same rule the decision uses.
        alone = assess(policy, [], [Finding(region["cls"], float(region["score"]))])
        row0, col0, row1, col1 = region["bbox"]
        found.append(
            RegionView(
                number=number,
                cls=region["cls"],
                score=float(region["score"]),
                reason=region.get("reason", ""),
                tier=alone.tier.value,
                tone=TIER_TONE[alone.tier],
                x=col0,
                y=row0,
                width=max(1, col1 - col0),
                height=max(1, row1 - row0),
                # Above the box when there is room, inside it when the box touches the top.
                label_y=row0 - 4 if row0 > 24 else row0 + 18,
            )
        )
    return found


def tier_requiring(policy: Policy, action: Action) -> Tier:
    """The lowest tier whose requirement is ``action``, or failing that, the lowest that requires
    more: the screener's button then asks for no more than it says."""
    for tier in Tier:
        if policy.actions[tier] == action:
            return tier
    for tier in Tier:
        if policy.actions[tier].rank >= action.rank:
            return tier
    return Tier.CRITICAL


def _workstation_context(
    request: HttpRequest,
    item: MailItem,
    *,
    decision_form: DecisionForm | None = None,
    upload_form: ScanUploadForm | None = None,
    error: str = "",
    opened: str = "",
) -> dict[str, Any]:
    actor = actor_of(request)
    now = clock.now()
    site_view = services.site_policy(item.site)
    policy = site_view.policy
    scans = list(queries.scans_of(item))
    wanted = request.GET.get("scan", "")
    scan = next((s for s in scans if str(s.pk) == wanted), scans[-1] if scans else None)
    decisions = [_decision_view(d) for d in queries.decisions_of(item)]
    pending = next(
        (d for d in reversed(decisions) if d.decision.status == DecisionStatus.PENDING), None
    )
    can_decide = actor.has(*SCREEN) and item.state == State.AWAITING_SCREENING
    # A test image only for a first screening: a second screener's "confirm" is no answer to it.
    projected = (
        projections.project(actor, item.uid, scan.pk)
        if scan is not None and can_decide and pending is None
        else None
    )
    indicators = list(Indicator.objects.all())
    token = opened if seconds_on_item(opened, item.uid, now) is not None else ""
    token = token or opened_token(item.uid, now)
    evacuated = next(
        (
            d
            for d in reversed(decisions)
            if d.evacuate and d.decision.status == DecisionStatus.QUARANTINED
        ),
        None,
    )
    return {
        "item": item,
        "scans": scans,
        "scan": scan,
        "views": (
            _view_buttons(scan, projected, deciding=can_decide and pending is None) if scan else []
        ),
        "projected": projected is not None,
        "regions": _regions(scan, policy) if scan else [],
        "label_size": max(12, round(scan.width / 40)) if scan else 12,
        "decisions": list(reversed(decisions)),
        "latest": decisions[-1] if decisions else None,
        "pending": pending,
        "pending_mine": pending is not None and pending.decision.screener_user_id == actor.user_id,
        "can_decide": can_decide,
        "can_scan": actor.has(*SCREEN) and item.state in services.SCANNABLE,
        "form": decision_form or DecisionForm(indicators=indicators, initial={"opened": token}),
        "upload_form": upload_form or ScanUploadForm(),
        "elapsed": seconds_on_item(token, item.uid, now) or 0,
        "quarantine_tier": tier_requiring(policy, Action.QUARANTINE),
        "threat_tier": tier_requiring(policy, Action.EVACUATE),
        "tiers": [(t.value, ACTION_LABELS[policy.actions[t]], TIER_TONE[t]) for t in Tier],
        "evacuated": evacuated,
        "worst": services.worst_finding(policy, scans),
        "evacuate_instruction": EVACUATE_INSTRUCTION,
        "error": error,
    }


def _workstation_page(
    request: HttpRequest, item: MailItem, status: int = 200, **extra: Any
) -> HttpResponse:
    item.refresh_from_db()
    return render(request, WORKSTATION, _workstation_context(request, item, **extra), status=status)


def _back(item: MailItem) -> HttpResponse:
    return redirect("screening:workstation", uid=item.uid)


@console_page(SCREENING_READ, "the screening workstation")
@require_GET
def workstation(request: HttpRequest, uid: str) -> HttpResponse:
    item = _visible_item(actor_of(request), uid)
    return render(request, WORKSTATION, _workstation_context(request, item))


def _announce(request: HttpRequest, decision: Decision) -> None:
    uid = decision.item.uid
    tier = decision.tier
    action = Action(decision.action)
    if action == Action.CLEAR:
        messages.success(request, f"{uid} is cleared ({tier} tier).")
    elif action == Action.SECOND_SCREENER:
        messages.warning(
            request,
            f"{uid} is at the {tier} tier: second screener needed. It stays in screening until "
            "a different screener confirms or screens it again.",
        )
    elif action == Action.QUARANTINE:
        messages.error(
            request,
            f"{uid} is at the {tier} tier and goes to quarantine. Take it to the quarantine room.",
        )
    else:
        messages.error(
            request,
            f"{uid} is at the {tier} tier: DO NOT OPEN. {EVACUATE_INSTRUCTION} "
            "The alarm is raised.",
        )


@console_page(SCREEN, "viewing an X-ray image")
@require_GET
@never_cache
def shown_image(request: HttpRequest, uid: str, scan_id: int) -> HttpResponse:
    """The test image the workstation shows this screener in place of the scan's rendering."""
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    projected = projections.project(actor, item.uid, scan_id)
    if projected is not None:
        return HttpResponse(media.get(projected.image_sha256), content_type="image/png")
    scan = Scan.objects.filter(pk=scan_id, item=item).first()
    if scan is None:
        raise Http404("no such image")
    if scan.images_purged_at is not None:
        raise Http404(f"the images were purged under the rule {scan.images_purged_rule!r}")
    return HttpResponse(media.get(scan.rendered_sha256), content_type="image/png")


def _mark(raw: str) -> tuple[float, float] | None:
    """Where the screener marked the image, as fractions; anything unreadable is no mark."""
    parts = raw.split(",")
    if len(parts) != 2:
        return None
    try:
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        return None
    return x, y


@console_page(SCREEN, "screening an item")
@require_POST
def decide(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = DecisionForm(request.POST, indicators=Indicator.objects.all())
    opened = request.POST.get("opened", "")
    if not form.is_valid():
        return _workstation_page(request, item, 400, decision_form=form, opened=opened)
    data = form.cleaned_data
    policy = services.site_policy(item.site).policy
    raise_to: Tier | None = None
    reason = ""
    if data["decision"] == QUARANTINE:
        raise_to, reason = tier_requiring(policy, Action.QUARANTINE), data["quarantine_reason"]
    elif data["decision"] == THREAT:
        raise_to, reason = tier_requiring(policy, Action.EVACUATE), data["threat_note"]
    notes = "\n".join(p for p in (reason.strip(), data["notes"].strip()) if p)
    # A test image shown in place of the scan is answered first, and no decision comes of it.
    mark = _mark(request.POST.get("mark", ""))
    answered = projections.answer(
        actor, item.uid, threat=raise_to is not None or mark is not None, mark=mark
    )
    if answered is not None:
        (messages.success if answered.hit else messages.warning)(request, answered.message)
        return _back(item)
    try:
        decision = services.screen_item(
            actor,
            item.uid,
            services.Checklist(
                indicators=list(data["indicators"]),
                notes=notes,
                raise_to=raise_to.value if raise_to else None,
                seconds_on_item=seconds_on_item(opened, item.uid, clock.now()),
                confirm_findings=data["confirm_findings"],
            ),
        )
    except ServiceError as exc:
        field = "decision" if exc.field in ("raise_to", "confirm_findings") else exc.field
        if field in form.fields:
            form.add_error(field, exc.message)
            error = ""
        else:
            # Refusals about the item itself, shown even when the item no longer takes a form.
            error = exc.message
        return _workstation_page(
            request, item, exc.status, decision_form=form, opened=opened, error=error
        )
    _announce(request, decision)
    return _back(item)


@console_page(SCREEN, "confirming a screening decision")
@require_POST
def confirm(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = ConfirmDecisionForm(request.POST)
    if not form.is_valid():
        return _workstation_page(request, item, 400, error="choose the decision to confirm")
    decision_id = form.cleaned_data["decision_id"]
    if not Decision.objects.filter(pk=decision_id, item=item).exists():
        return _workstation_page(
            request, item, 404, error=f"{item.uid} has no decision {decision_id}"
        )
    try:
        services.confirm_decision(actor, decision_id)
    except ServiceError as exc:
        return _workstation_page(request, item, exc.status, error=exc.message)
    messages.success(
        request, f"{item.uid} is cleared: you confirmed decision {decision_id} as second screener."
    )
    return _back(item)


def _upload_bytes(form: forms.Form, name: str) -> bytes | None:
    upload = form.cleaned_data.get(name)
    if not upload:
        return None
    limit = get_settings().uploads.max_bytes
    # Checked before reading, so an oversized file never comes into memory.
    if upload.size is not None and upload.size > limit:
        raise ServiceError(f"the file is {upload.size} bytes; the limit is {limit}", name)
    return upload.read()


@console_page(SCREEN, "importing an X-ray scan")
@require_POST
def upload_scan(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = ScanUploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            names = [f.name for f in (form.cleaned_data["image"], form.cleaned_data["high"]) if f]
            upload = services.ScanUpload(
                image=_upload_bytes(form, "image"),
                high=_upload_bytes(form, "high"),
                low=_upload_bytes(form, "low"),
                filename=names[0] if names else "",
            )
            scan = services.import_scan(actor, item.uid, upload, source=ScanSource.CONSOLE)
        except ServiceError as exc:
            add_service_error(form, exc)
            status = exc.status
        else:
            count = len(scan.regions)
            found = f"{count} region{'s' if count != 1 else ''} to look at" if count else "nothing"
            messages.success(request, f"Scan {scan.pk} imported; the analysis found {found}.")
            return _back(item)
    return _workstation_page(request, item, status, upload_form=form)


# ----------------------------------------------------------------------------- quarantine


def time_left(delta: timedelta) -> str:
    """Whole minutes, rounded up: a request with seconds to go has not run out."""
    minutes = max(0, math.ceil(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@dataclass(frozen=True)
class RegisterView:
    row: queries.RegisterRow
    dwell: str
    tier: Tier | None
    tone: str
    pending: QuarantineRequest | None
    time_left: str
    mine: bool
    lapsed: QuarantineRequest | None
    note: str
    screener: str
    proposed_by: str
    lapsed_by: str


def _register_rows(actor: Actor, now: datetime) -> list[RegisterView]:
    rows = []
    register = queries.quarantine_register(now=now)
    people = names(
        label
        for row in register
        for label in (
            row.decision.screener if row.decision else "",
            row.request.proposed_by if row.request else "",
        )
    )
    for row in register:
        request = row.request
        pending = request if row.request_status == RequestStatus.PENDING else None
        lapsed = request if row.request_status == RequestStatus.EXPIRED else None
        tier = Tier(row.decision.tier) if row.decision else None
        rows.append(
            RegisterView(
                row=row,
                dwell=dwell_words(row.dwell),
                tier=tier,
                tone=TIER_TONE[tier] if tier else "",
                pending=pending,
                time_left=time_left(pending.expires_at - now) if pending else "",
                mine=pending is not None and pending.proposed_by_user_id == actor.user_id,
                lapsed=lapsed,
                note=row.decision.notes if row.decision else "",
                screener=people.get(row.decision.screener, "") if row.decision else "",
                proposed_by=people.get(pending.proposed_by, "") if pending else "",
                lapsed_by=people.get(lapsed.proposed_by, "") if lapsed else "",
            )
        )
    return rows


@dataclass(frozen=True)
class RecentOutcome:
    request: QuarantineRequest
    proposed_by: str
    confirmed_by: str


def _recent_outcomes(now: datetime) -> list[RecentOutcome]:
    recent = [r for r, _ in queries.quarantine_requests(RequestStatus.CONFIRMED, now)[:8]]
    people = names(label for r in recent for label in (r.proposed_by, r.confirmed_by))
    return [
        RecentOutcome(r, people.get(r.proposed_by, ""), people.get(r.confirmed_by, ""))
        for r in recent
    ]


def _register_page(
    request: HttpRequest,
    status: int = 200,
    *,
    propose_uid: str = "",
    propose_form: ProposeOutcomeForm | None = None,
    error: str = "",
) -> HttpResponse:
    actor = actor_of(request)
    now = clock.now()
    rows = _register_rows(actor, now)
    context = {
        "rows": rows,
        "pending_count": sum(1 for r in rows if r.pending),
        "recent": _recent_outcomes(now),
        "can_propose": actor.has(*services.PROPOSE_OUTCOME),
        "can_confirm": actor.has(*services.CONFIRM_OUTCOME),
        "outcomes": Outcome.choices,
        "propose_uid": propose_uid,
        "propose_form": propose_form,
        "new_form": ProposeOutcomeForm(),
        "error": error,
        "updated": now,
    }
    return render(request, "screening/quarantine.html", context, status=status)


@console_page(SCREENING_READ, "the quarantine register")
@require_GET
def quarantine(request: HttpRequest) -> HttpResponse:
    return _register_page(request)


@console_page(services.PROPOSE_OUTCOME, "proposing a quarantine outcome")
@require_POST
def propose(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = ProposeOutcomeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            proposal = services.propose_quarantine_outcome(
                actor, item.uid, data["outcome"], data["reason"]
            )
        except ServiceError as exc:
            add_service_error(form, exc, aliases={"uid": ""})
            return _register_page(request, exc.status, propose_uid=item.uid, propose_form=form)
        minutes = services.site_policy(item.site).confirm_within_minutes
        messages.success(
            request,
            f"Proposed: {proposal.get_outcome_display().lower()} {item.uid}. A security manager "
            f"other than you must confirm within {minutes} minutes.",
        )
        return redirect("screening:quarantine")
    return _register_page(request, 400, propose_uid=item.uid, propose_form=form)


@console_page(services.CONFIRM_OUTCOME, "confirming a quarantine outcome")
@require_POST
def confirm_outcome(request: HttpRequest, request_id: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        confirmed = services.confirm_quarantine_outcome(actor, request_id)
    except ServiceError as exc:
        return _register_page(request, exc.status, error=exc.message)
    state = State(confirmed.outcome)
    messages.success(
        request,
        f"{confirmed.item.uid}: {state.label.lower()}. Proposed by "
        f"{_who(confirmed.proposed_by)}, confirmed by you.",
    )
    return redirect("screening:quarantine")


# ----------------------------------------------------------------------------- policy


@console_page(POLICY_READ, "the screening policy")
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_edit = actor.has(*services.MANAGE_POLICY)
    if request.method == "POST" and not can_edit:
        return forbidden(request, "changing the screening policy needs the security manager role")
    sites = list(Site.objects.order_by("code"))
    code = request.POST.get("site") or request.GET.get("site") or ""
    site = next((s for s in sites if s.code == code), sites[0] if sites else None)
    if site is None:
        return render(request, "screening/policy.html", {"site": None, "sites": []})
    view = services.site_policy(site)
    indicators = list(Indicator.objects.all())
    form = PolicyForm(
        request.POST if request.method == "POST" else None,
        view=view,
        indicators=indicators,
        read_only=not can_edit,
    )
    actions_error = ""
    status = 400 if form.errors else 200
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "Nothing changed; the policy is as it was.")
            return redirect(f"{reverse('screening:policy')}?{urlencode({'site': site.code})}")
        try:
            saved = services.update_policy(
                actor,
                site.code,
                services.PolicyUpdate(
                    **changes, expected_version=form.cleaned_data["expected_version"]
                ),
            )
        except ServiceError as exc:
            field = form.field_for(exc.field)
            form.add_error(field, exc.message)
            if exc.field == "actions":
                actions_error = exc.message
            status = exc.status
        else:
            messages.success(
                request, f"Screening policy of {site.name} saved (version {saved.version})."
            )
            return redirect(f"{reverse('screening:policy')}?{urlencode({'site': site.code})}")
    context = {
        "site": site,
        "sites": sites,
        "view": view,
        "form": form,
        "can_edit": can_edit,
        "actions_error": actions_error,
        "updated_by": _who(site.screening_policy.updated_by) if view.customised else "",
        "updated_at": site.screening_policy.updated_at if view.customised else None,
    }
    return render(request, "screening/policy.html", context, status=status)
