"""Console pages for custody: dashboard, intake, search, item detail, pickup, my mail.

Views only read models and call ``services`` for every change (docs/architecture.md rule 1); a
refusal from a service is shown next to the field it names.
"""

from __future__ import annotations

import json
import threading
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error, form_field
from mailwarden.core.models import LedgerEntry
from mailwarden.core.names import names
from mailwarden.core.roles import (
    HANDOVER,
    INTAKE,
    MANAGE_DIRECTORY,
    MANAGE_SECURITY,
    SCREEN,
    VIEW_ITEMS,
    Role,
)
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.custody import (
    barcodes,
    bulk,
    carriers,
    export,
    labels,
    legal_holds,
    manifests,
    pickup,
    queries,
    services,
    wording,
)
from mailwarden.custody.forms import (
    BulkForm,
    ClearReviewForm,
    HandOverForm,
    IntakeForm,
    LabelPhotoForm,
    LegalHoldForm,
    ManifestForm,
    MoveForm,
    ScanForm,
    SearchForm,
    TransitionForm,
)
from mailwarden.custody.legal_holds import holds_on
from mailwarden.custody.matching import RecipientIndex
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import OPEN_STATES, State, allowed_after
from mailwarden.directory.models import Location, Recipient, Site

PAGE_SIZE = 25
SUGGESTIONS = 5


def _status(request: HttpRequest, failed: bool, code: int = 400) -> int:
    # HTMX does not swap 4xx answers by default, and a form with its errors must be shown.
    return code if failed and not request.htmx else 200  # type: ignore[attr-defined]


def _page(
    request: HttpRequest, full: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    htmx = request.htmx  # type: ignore[attr-defined]
    # Going back in history asks for the whole page, even though HTMX sends the request.
    template = partial if htmx and not htmx.history_restore_request else full
    return render(request, template, context, status=status)


def _visible_item(actor: Actor, uid: str) -> MailItem:
    item = queries.visible_items(actor).filter(uid=uid.strip().upper()).first()
    if item is None:
        raise Http404(f"no item {uid}")
    return item


def _local(moment: datetime, site: Site) -> datetime:
    return timezone.localtime(moment, zoneinfo.ZoneInfo(site.timezone))


# ----------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class Bar:
    state: str
    label: str
    count: int
    percent: float


@console_page(None, "the dashboard")
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not actor.has(*VIEW_ITEMS):
        if Role.RECIPIENT in actor.roles:
            return redirect("my_mail")
        return forbidden(request, "your account has no role in the mailroom yet; ask an admin")
    board = queries.dashboard()
    top = max(board.by_state.values(), default=0) or 1
    bars = [
        Bar(
            state.value,
            state.label,
            board.by_state[state.value],
            round(100 * board.by_state[state.value] / top, 1),
        )
        for state in State
    ]
    context = {
        "board": board,
        "bars": bars,
        "latest": queries.search_items(actor, limit=8),
        "updated": clock.now(),
    }
    return _page(request, "custody/dashboard.html", "custody/_dashboard_panel.html", context)


# ----------------------------------------------------------------------------- intake


class _RecipientSuggester:
    """One fuzzy index of active recipients per process, rebuilt when the directory changes.

    Every directory change appends a ``recipient`` ledger entry, so the newest such entry is a
    cheap, exact version stamp; building the index costs far more than asking for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[str | None, int] | None = None
        self._index: RecipientIndex | None = None

    def index(self) -> RecipientIndex:
        newest = LedgerEntry.objects.filter(subject_type="recipient").aggregate(m=Max("seq"))["m"]
        # The entry's hash, not just its number: after a restore the same number may be reused.
        version = (
            LedgerEntry.objects.filter(seq=newest).values_list("hash", flat=True).first(),
            Recipient.objects.filter(active=True).count(),
        )
        with self._lock:
            if self._index is None or version != self._version:
                self._index = RecipientIndex(queries.recipient_candidates())
                self._version = version
            return self._index


_suggester = _RecipientSuggester()


@console_page(INTAKE, "the intake screen")
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "custody/intake.html", {"form": _fresh_intake_form(request)})
    form = IntakeForm(request.POST, request.FILES)
    context: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        photo = data["photo"].read() if data["photo"] else None
        request.session["mw_site"] = data["site"]
        try:
            item = services.intake(
                actor_of(request),
                services.IntakeRequest(
                    site=data["site"],
                    recipient_id=data["recipient_id"],
                    kind=data["kind"],
                    tracking_number=data["tracking_number"],
                    sender=data["sender"],
                    accountable=data["accountable"],
                    suspicious=data["suspicious"],
                    length_mm=data["length_mm"],
                    width_mm=data["width_mm"],
                    height_mm=data["height_mm"],
                    weight_g=data["weight_g"],
                    photo=photo,
                    confirm_duplicate=data["confirm_duplicate"],
                    unverified_reason=data["unverified_reason"],
                ),
            )
        except services.PossibleDuplicate as exc:
            context["duplicate"] = exc.previous
        except services.UnverifiedTrackingNumber as exc:
            context["unverified"] = exc.problem
            # The carrier check under the field already names the rule; the box below asks why.
            form.add_error("tracking_number", "No carrier's rule accepts this number.")
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            context["created"] = item
            form = _fresh_intake_form(request)
    if "created" not in context:
        # The form comes back as typed: show again what the number and the chosen person are.
        context["check"] = _check_number(form.data.get("tracking_number", ""))
        context["chosen"] = _chosen_recipient(form.data.get("recipient_id", ""))
    context["ask_reason"] = "unverified" in context or bool(
        form.errors.get("unverified_reason") or form.data.get("unverified_reason")
    )
    failed = bool(form.errors) or "duplicate" in context
    return _page(
        request,
        "custody/intake.html",
        "custody/_intake_panel.html",
        {"form": form, **context},
        status=_status(request, failed),
    )


def _chosen_recipient(raw: str) -> Recipient | None:
    return Recipient.objects.filter(pk=int(raw), active=True).first() if raw.isdigit() else None


def _fresh_intake_form(request: HttpRequest) -> IntakeForm:
    form = IntakeForm()
    site = request.session.get("mw_site")
    field = form_field(form, "site", forms.ChoiceField)
    if site and field.valid_value(site):
        field.initial = site
    return form


@dataclass(frozen=True)
class CarrierCheck:
    number: str
    detection: carriers.Detection | None
    problem: str


def _check_number(raw: str) -> CarrierCheck | None:
    number = carriers.normalise(raw)
    if not number:
        return None
    try:
        return CarrierCheck(number, carriers.validate(number), "")
    except carriers.InvalidTrackingNumber as exc:
        return CarrierCheck(number, None, exc.reason)


@console_page(INTAKE, "the intake screen")
@require_GET
def intake_detect(request: HttpRequest) -> HttpResponse:
    check = _check_number(request.GET.get("tracking_number", ""))
    return render(request, "custody/_carrier.html", {"check": check})


@console_page(INTAKE, "the intake screen")
@require_GET
def intake_recipients(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("recipient_query", "")[:120]
    matches = _suggester.index().match(query, limit=SUGGESTIONS) if query.strip() else []
    return render(request, "custody/_suggestions.html", {"matches": matches, "query": query})


@console_page(INTAKE, "the intake screen")
@require_POST
def intake_decode(request: HttpRequest) -> HttpResponse:
    form = LabelPhotoForm(request.POST, request.FILES)
    context: dict[str, Any] = {"value": request.POST.get("tracking_number", "")}
    if form.is_valid():
        try:
            codes = barcodes.decode_label(
                form.cleaned_data["label_photo"].read(), get_settings().uploads.max_pixels
            )
        except barcodes.ImageRejected as exc:
            # The reason is a sentence of its own, which may hold a colon already.
            reason = exc.reason[:1].upper() + exc.reason[1:]
            context["decode_error"] = f"That photo cannot be read. {reason}."
        else:
            if codes:
                context["value"] = barcodes.tracking_number_among(codes)
                context["decoded"] = codes
            else:
                context["decode_error"] = "No barcode found in that photo; scan or type it."
    else:
        # An ErrorList yields each message as text (the stubs type its items as the ValidationErrors
        # it holds).
        context["decode_error"] = "; ".join(str(m) for errs in form.errors.values() for m in errs)
    context["check"] = _check_number(context["value"])
    return render(request, "custody/_barcode_block.html", context)


@console_page(VIEW_ITEMS, "item labels")
@require_GET
def item_label(request: HttpRequest, uid: str, fmt: str) -> HttpResponse:
    item = _visible_item(actor_of(request), uid)
    if fmt == "pdf":
        body, content_type = labels.label_pdf(bulk.label_data(item)), "application/pdf"
    else:
        body, content_type = labels.label_png(bulk.label_data(item)), "image/png"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{item.uid}-label.{fmt}"'
    return response


# ----------------------------------------------------------------------------- search


def _list_filters(request: HttpRequest) -> tuple[SearchForm, queries.ItemFilters | None, str]:
    """The list's form, its filters and search text; no filters when the form is refused."""
    form = SearchForm(request.GET or None)
    if not form.is_bound:
        return form, queries.ItemFilters(), ""
    if not form.is_valid():
        return form, None, ""
    return form, form.filters(), form.cleaned_data.get("q", "")


@console_page(VIEW_ITEMS, "item search")
@require_GET
def items(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form, filters, q = _list_filters(request)
    data = form.cleaned_data if filters is not None and form.is_bound else {}
    page = data.get("page") or 1
    found: list[MailItem] = []
    total = 0
    if filters is not None:
        # search_items takes a limit only; asking for one row past this page tells us if there
        # is a next one. A refused filter shows its error and no rows, never unfiltered ones.
        try:
            found = queries.search_items(actor, q, filters=filters, limit=page * PAGE_SIZE + 1)
            total = queries.count_items(actor, q, filters)
        except ServiceError as exc:
            add_service_error(form, exc, aliases={"site_code": "site", "recipient_id": "recipient"})
            filters = None
    rows = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    params = {k: v for k, v in data.items() if k != "page" and v}
    query = urlencode(params)
    context = {
        "form": form,
        "rows": rows,
        "total": total,
        "refused": filters is None,
        "page": page,
        "has_next": len(found) > page * PAGE_SIZE,
        "prev_query": urlencode({**params, "page": page - 1}),
        "next_query": urlencode({**params, "page": page + 1}),
        "export_query": query,
        "list_query": query,
        "bulk_form": BulkForm(uids=[], actions=bulk.actions_for(actor)),
    }
    return _page(request, "custody/items.html", "custody/_results.html", context)


# console_page is typed for HttpResponse; a streamed CSV passes through it untouched.
@console_page(VIEW_ITEMS, "exporting items")  # type: ignore[arg-type]
@require_GET
def items_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    # Imported here: most pages never write a spreadsheet.
    from mailwarden.custody import item_export

    actor = actor_of(request)
    form, filters, q = _list_filters(request)
    if filters is None:
        return HttpResponse(
            "The filters were refused: " + _form_problems(form),
            status=400,
            content_type="text/plain",
        )
    try:
        matching = queries.matching_items(actor, q, filters)
    except ServiceError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        response: HttpResponse | StreamingHttpResponse = HttpResponse(
            item_export.xlsx_bytes(matching),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(
            item_export.csv_lines(matching), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="items-{stamp}.{fmt}"'
    return response


def _form_problems(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else name}: {message}"
        for name, errors in form.errors.items()
        for message in errors
    )


@console_page(VIEW_ITEMS, "bulk actions on items")
@require_POST
def items_bulk(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    ticked = [u.strip().upper() for u in request.POST.getlist("uid") if u.strip()][
        : bulk.MAX_SELECTION + 1
    ]
    known = list(queries.visible_items(actor).filter(uid__in=ticked).values_list("uid", flat=True))
    form = BulkForm(request.POST, uids=known, actions=bulk.actions_for(actor))
    back = request.POST.get("back", "")
    back_url = reverse("items") + ("?" + back if back and not back.startswith(("/", "?")) else "")
    context: dict[str, Any] = {"form": form, "back_url": back_url, "back": back}
    if not form.is_valid():
        context["problems"] = _form_problems(form)
        return render(request, "custody/bulk.html", context, status=400)
    data = form.cleaned_data
    uids = data["uid"]
    wanted = data["action"]
    try:
        if wanted == "labels":
            sheet = bulk.print_labels(actor, uids)
            response = HttpResponse(sheet.pdf, content_type="application/pdf")
            response["Content-Disposition"] = (
                f'inline; filename="labels-{len(sheet.printed)}-items.pdf"'
            )
            return response
        chosen = bulk.BulkAction(wanted)
        if not data["confirmed"]:
            # Acting on a shelf of items is not undone with a click: say what will happen first.
            rows = list(
                queries.visible_items(actor).filter(uid__in=uids).order_by(*queries.NEWEST_FIRST)
            )
            context |= {
                "confirm": True,
                "rows": rows,
                "action_label": bulk.ACTION_LABELS[chosen],
                "location_name": form.place_names.get(data["location_code"], ""),
            }
            return render(request, "custody/bulk.html", context)
        result = bulk.run(
            actor, chosen, uids, location_code=data["location_code"], reason=data["reason"]
        )
    except ServiceError as exc:
        context["problems"] = exc.message
        return render(request, "custody/bulk.html", context, status=exc.status)
    context |= {
        "result": result,
        "action_label": bulk.ACTION_LABELS[result.action],
        "done_rows": list(
            queries.visible_items(actor).filter(uid__in=result.done).order_by(*queries.NEWEST_FIRST)
        ),
    }
    return render(request, "custody/bulk.html", context)


# ----------------------------------------------------------------------------- item detail


@dataclass(frozen=True)
class ItemAction:
    target: State
    label: str
    roles: tuple[Role, ...]
    # plain: one press; reason: asks why first; confirm: asks "are you sure" (irreversible)
    style: str = "plain"
    tone: str = "primary"


ACTIONS = (
    ItemAction(State.AWAITING_SCREENING, "Send to screening", HANDOVER),
    ItemAction(State.READY_FOR_PICKUP, "Ready for pickup", HANDOVER),
    ItemAction(State.OUT_FOR_DELIVERY, "Out for delivery", HANDOVER, tone="secondary"),
    ItemAction(State.RETURNED, "Return to sender", HANDOVER, style="confirm", tone="danger"),
)

SCREENING_OUTCOMES = frozenset({State.CLEARED, State.QUARANTINED})

# By current action name (``ledger.current_action``): older entries carry legacy names.


@dataclass(frozen=True)
class Step:
    seq: int
    at: datetime
    actor: str
    title: str
    state: str
    location: str
    reason: str
    details: list[tuple[str, str]]
    hash: str
    signature: str = ""
    collected_by: str = ""


def _timeline(item: MailItem) -> list[Step]:
    places = dict(Location.objects.filter(site_id=item.site_id).values_list("code", "name"))
    steps = []
    entries = ledger.entries_for("mailitem", item.uid)
    people = names(
        [e.actor for e in entries]
        + [str(ledger.entry_data(e).get("proposed_by", "")) for e in entries]
    )
    for entry in entries:
        data = ledger.entry_data(entry)
        action = ledger.current_action(entry.action)
        state = str(data.get("to", "")) or (
            State.RECEIVED.value if action == "custody.item.received" else ""
        )
        title = wording.action_title(action) or (
            State(state).label if state in State.values else wording.plain(action)
        )
        details = [
            (label, people.get(str(data[key]), "") if key == "proposed_by" else str(data[key]))
            for key, label in (
                ("tracking_number", "Tracking"),
                ("tier", "Tier"),
                ("outcome", "Outcome"),
                ("proposed_by", "Proposed by"),
                ("method", "Proof"),
                ("collected_by", "Collected by"),
                ("signature_sha256", "Signature"),
                ("photo_sha256", "Photo"),
            )
            if data.get(key)
        ]
        unverified = data.get("unverified_tracking_number")
        if isinstance(unverified, dict):
            details.append(("Logged unchecked", str(unverified.get("reason", ""))))
        location = str(data.get("location", ""))
        steps.append(
            Step(
                seq=entry.seq,
                at=entry.created_at,
                actor=people.get(entry.actor, entry.actor),
                title=title,
                state=state,
                location=places.get(location, location),
                reason=str(data.get("reason", "")),
                details=[(k, v[:12] + "…" if len(v) == 64 else v) for k, v in details],
                hash=entry.hash,
                # A purged signature is named (its hash, above) but no longer shown.
                signature="" if item.content_purged_at else str(data.get("signature_sha256", "")),
                collected_by=str(data.get("collected_by", "")),
            )
        )
    return steps


def _detail_context(request: HttpRequest, item: MailItem, **extra: Any) -> dict[str, Any]:
    actor = actor_of(request)
    state = State(item.state)
    nexts = allowed_after(state)
    actions = [a for a in ACTIONS if a.target in nexts and actor.has(*a.roles)]
    can_hand_over = actor.has(*HANDOVER) and (State.PICKED_UP in nexts or State.DELIVERED in nexts)
    can_move = state in OPEN_STATES and actor.has(*HANDOVER, *SCREEN)
    return {
        "item": item,
        "steps": _timeline(item),
        "actions": actions,
        "can_screen": state == State.AWAITING_SCREENING and actor.has(*SCREEN),
        "can_hand_over": can_hand_over,
        "move_form": MoveForm(site=item.site, initial={"location_code": item.location.code})
        if can_move
        else None,
        "quarantine_note": state == State.QUARANTINED,
        "can_clear_review": bool(item.review_reason) and actor.has(*MANAGE_DIRECTORY),
        "review_form": ClearReviewForm(),
        "legal_hold": holds_on([item]).get(item.uid),
        "can_hold": actor.has(*MANAGE_SECURITY),
        "hold_form": LegalHoldForm(),
        "purged": export.purge_notes(
            ledger.entries_for("mailitem", item.uid), zoneinfo.ZoneInfo(item.site.timezone)
        ),
        **extra,
    }


@console_page(VIEW_ITEMS, "item details")
@require_GET
def item_detail(request: HttpRequest, uid: str) -> HttpResponse:
    item = _visible_item(actor_of(request), uid)
    return render(request, "custody/item_detail.html", _detail_context(request, item))


def _refused(request: HttpRequest, item: MailItem, exc: ServiceError) -> HttpResponse:
    item.refresh_from_db()
    return render(
        request,
        "custody/item_detail.html",
        _detail_context(request, item, action_error=exc.message),
        status=exc.status,
    )


def _first_error(form: forms.Form) -> ServiceError:
    field, errors = next(iter(form.errors.items()))
    return ServiceError(str(errors[0]), field)


@console_page(VIEW_ITEMS, "changing an item")
@require_POST
def item_transition(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return _refused(request, item, _first_error(form))
    data = form.cleaned_data
    if data["target"] in SCREENING_OUTCOMES:
        # Clearing or quarantining here would skip the screening policy, the second screener
        # and the alarm; the workstation decides through the screening services.
        return _refused(
            request,
            item,
            ServiceError(
                f"{State(data['target']).label.lower()} is a screening decision; screen the item "
                "at the screening workstation",
                "target",
            ),
        )
    try:
        services.transition(
            actor,
            item.uid,
            data["target"],
            reason=data["reason"],
            expected_version=data["expected_version"],
        )
    except ServiceError as exc:
        return _refused(request, item, exc)
    messages.success(request, f"{item.uid} is now {State(data['target']).label.lower()}.")
    return redirect("item_detail", uid=item.uid)


@console_page(VIEW_ITEMS, "moving an item")
@require_POST
def item_move(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = MoveForm(request.POST, site=item.site)
    if not form.is_valid():
        return _refused(request, item, _first_error(form))
    try:
        moved = services.move(
            actor, item.uid, form.cleaned_data["location_code"], form.cleaned_data["reason"]
        )
    except ServiceError as exc:
        return _refused(request, item, exc)
    messages.success(request, f"{item.uid} moved to {moved.location.name}.")
    return redirect("item_detail", uid=item.uid)


@console_page(MANAGE_SECURITY, "legal holds")
@require_POST
def item_legal_hold(request: HttpRequest, uid: str) -> HttpResponse:
    """Place the item's legal hold, or release it (``release`` in the form)."""
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = LegalHoldForm(request.POST)
    if not form.is_valid():
        return _refused(request, item, _first_error(form))
    releasing = "release" in request.POST
    change = legal_holds.release_legal_hold if releasing else legal_holds.place_legal_hold
    try:
        change(actor, item.uid, form.cleaned_data["reason"])
    except ServiceError as exc:
        return _refused(request, item, exc)
    messages.success(request, f"{item.uid}: legal hold {'released' if releasing else 'placed'}.")
    return redirect("item_detail", uid=item.uid)


@console_page(VIEW_ITEMS, "clearing a review flag")
@require_POST
def item_clear_review(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    form = ClearReviewForm(request.POST)
    if not form.is_valid():
        return _refused(request, item, _first_error(form))
    try:
        services.clear_review(actor, item.uid, form.cleaned_data["note"])
    except ServiceError as exc:
        return _refused(request, item, exc)
    messages.success(request, f"{item.uid} is no longer flagged for review.")
    return redirect("item_detail", uid=item.uid)


@console_page(VIEW_ITEMS, "item photos")
@require_GET
def item_photo(request: HttpRequest, uid: str) -> HttpResponse:
    photo = queries.item_photo(_visible_item(actor_of(request), uid))
    if photo is None:
        raise Http404("this item has no photo")
    return HttpResponse(photo.data, content_type=photo.content_type)


@console_page(VIEW_ITEMS, "hand-over signatures")
@require_GET
def item_signature(request: HttpRequest, uid: str, digest: str) -> HttpResponse:
    data = queries.item_signature(_visible_item(actor_of(request), uid), digest)
    if data is None:
        raise Http404("this item has no such signature")
    return HttpResponse(data, content_type="image/png")


@console_page(VIEW_ITEMS, "custody records")
@require_GET
def item_custody(request: HttpRequest, uid: str, fmt: str) -> HttpResponse:
    # Imported here: the export module pulls in PDF rendering, which most pages never need.
    from mailwarden.custody import export

    item = _visible_item(actor_of(request), uid)
    if fmt == "pdf":
        response = HttpResponse(export.custody_pdf(item), content_type="application/pdf")
    else:
        response = HttpResponse(
            json.dumps(export.custody_json(item), indent=2, default=str),
            content_type="application/json",
        )
    response["Content-Disposition"] = f'attachment; filename="{item.uid}-custody.{fmt}"'
    return response


# ----------------------------------------------------------------------------- pickup


_QR_SESSION_KEY = "mw_pickup_qr"


def _scanned_uid(text: str) -> tuple[str, str]:
    """(item uid, recipient QR token or "") from whatever was scanned or typed."""
    text = text.strip()
    from_qr = pickup.qr_uid(text)
    if from_qr:
        return from_qr, text
    return text.upper().replace(" ", ""), ""


@console_page(HANDOVER, "the pickup screen")
@require_GET
def pickup_scan(request: HttpRequest) -> HttpResponse:
    form = ScanForm(request.GET if "scan" in request.GET else None)
    if form.is_valid():
        uid, token = _scanned_uid(form.cleaned_data["scan"])
        if queries.visible_items(actor_of(request)).filter(uid=uid).exists():
            # Kept in the session, not the URL: the token is the proof and URLs end up in logs.
            request.session[_QR_SESSION_KEY] = token
            return redirect("pickup_item", uid=uid)
        form.add_error("scan", f"no item {uid}; check the label or type the ID")
    return render(
        request,
        "custody/pickup.html",
        {"form": form},
        status=_status(request, bool(form.errors), 404),
    )


@console_page(HANDOVER, "the pickup screen")
@require_http_methods(["GET", "POST"])
def pickup_item(request: HttpRequest, uid: str) -> HttpResponse:
    actor = actor_of(request)
    item = _visible_item(actor, uid)
    token = request.session.pop(_QR_SESSION_KEY, "")
    if pickup.qr_uid(token) != item.uid:
        token = ""
    initial = {"method": "qr", "qr": token} if token else {"method": "code"}
    form = HandOverForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.hand_over(
                actor,
                item.uid,
                method=data["method"],
                proof=form.proof(),
                collected_by=data["collected_by"],
                delivered=item.state == State.OUT_FOR_DELIVERY,
            )
        except ServiceError as exc:
            add_service_error(form, exc, aliases={"proof": data["method"]})
            item.refresh_from_db()
        else:
            messages.success(request, f"{item.uid} handed over to {item.recipient.display_name}.")
            return redirect(f"{reverse('pickup')}?done={item.uid}")
    state = State(item.state)
    context = {
        "item": item,
        "form": form,
        "scan_form": ScanForm(),
        "ready": State.PICKED_UP in allowed_after(state) or State.DELIVERED in allowed_after(state),
        "tries_left": max(0, pickup.MAX_CODE_FAILURES - item.pickup_failures),
    }
    return render(
        request, "custody/pickup_item.html", context, status=_status(request, bool(form.errors))
    )


# ----------------------------------------------------------------------------- recipient's own view


@dataclass(frozen=True)
class MyItem:
    item: MailItem
    code: str
    qr: str


@console_page((Role.RECIPIENT,), "your mail")
@require_GET
def my_mail(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    rows = [
        MyItem(
            item=row.item,
            code=row.pickup_code or "",
            qr=segno.make(row.qr_token, error="m").svg_inline(scale=3, border=2, svgclass="qr")
            if row.qr_token
            else "",
        )
        for row in queries.my_items(actor)
    ]
    return render(request, "custody/my_mail.html", {"rows": rows})


# ----------------------------------------------------------------------------- manifests


@console_page(VIEW_ITEMS, "expected parcels")
@require_http_methods(["GET", "POST"])
def expected(request: HttpRequest) -> HttpResponse:
    """Import a carrier's manifest (intake roles), and what was expected but has not arrived."""
    actor = actor_of(request)
    may_import = actor.has(*INTAKE)
    if request.method == "POST" and not may_import:
        return forbidden(request, "importing a manifest")
    form = ManifestForm(request.POST or None, request.FILES or None)
    site_code = request.GET.get("site", "")[:40]
    context: dict[str, Any] = {
        "form": form,
        "may_import": may_import,
        "columns": manifests.COLUMNS,
        "required": manifests.REQUIRED,
        "max_bytes": manifests.MAX_BYTES,
        "sites": list(Site.objects.order_by("name").values_list("code", "name")),
        "site_code": site_code,
    }
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = manifests.import_manifest(
                    actor, form.cleaned_data["site"], upload.name or "", upload.read()
                )
            except ServiceError as exc:
                add_service_error(form, exc)
                status = 400
            else:
                context["result"] = result
                if result.errors:
                    status = 400
                else:
                    messages.success(
                        request,
                        f"Imported {result.manifest}: {result.expected} parcel"
                        f"{'' if result.expected == 1 else 's'} expected.",
                    )
                    return redirect("expected")
        else:
            status = 400
    context["parcels"] = list(manifests.not_arrived(actor, site_code or None)[:500])
    return render(request, "custody/expected.html", context, status=status)


@console_page(INTAKE, "the intake screen")
@require_GET
def intake_expected(request: HttpRequest) -> HttpResponse:
    """The manifest's recipient for a scanned number, swapped into the intake form."""
    parcel = manifests.expected_for(actor_of(request), request.GET.get("tracking_number", ""))
    return render(request, "custody/_expected_match.html", {"parcel": parcel})
