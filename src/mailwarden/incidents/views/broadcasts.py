"""Site messages in the console: the list, the send form (with its confirmation step), the live
accountability board, and the public roll-call page people reach from their message's link.

The roll-call page needs no sign-in and shows no console navigation: the signed link is what
lets someone answer, and only for themselves. Everything else checks the console roles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.core import streams
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.permissions import require
from mailwarden.core.streams import StreamSettings
from mailwarden.core.views import actor_of, console_page
from mailwarden.incidents.downloads import cap_response
from mailwarden.incidents.forms.broadcasts import AnswerDetailsForm, BroadcastForm
from mailwarden.incidents.models import Answer, Broadcast, BroadcastKind, RollCallAnswer
from mailwarden.incidents.queries import broadcasts as queries
from mailwarden.incidents.services import broadcasts as services

SHOWN = 200
CHART_WIDTH = 300


# ----------------------------------------------------------------------------- list and send


@console_page(services.VIEW_BROADCASTS, "site messages")
@require_GET
def broadcast_list(request: HttpRequest) -> HttpResponse:
    rows = list(Broadcast.objects.select_related("site")[:SHOWN])
    answered = {
        r["broadcast"]: r
        for r in RollCallAnswer.objects.filter(broadcast__in=rows)
        .values("broadcast")
        .annotate(**queries.COUNTS)
        .order_by()
    }
    context = {
        "broadcasts": [(b, answered.get(b.pk)) for b in rows],
        "can_send": actor_of(request).has(*services.SEND_BROADCASTS),
    }
    return render(request, "incidents/broadcasts/list.html", context)


@console_page(services.SEND_BROADCASTS, "sending a site message")
@require_http_methods(["GET", "POST"])
def broadcast_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial = {}
        for name in ("site", "kind", "incident"):
            if request.GET.get(name):
                initial[name] = request.GET[name][:40]
        form = BroadcastForm(initial=initial)
        return render(request, "incidents/broadcasts/new.html", {"form": form})
    form = BroadcastForm(request.POST)
    if form.is_valid():
        actor = actor_of(request)
        confirmed = request.POST.get("confirmed") == "1"
        try:
            if not confirmed:
                # Checked in full first, so the confirmation never shows a message that the
                # service would then refuse.
                services.check_request(form.request())
                reach = services.reach(form.cleaned_data["site"])
                context = {
                    "form": form,
                    "reach": reach,
                    "data": form.cleaned_data,
                    "kind_name": BroadcastKind(form.cleaned_data["kind"]).label,
                }
                return render(request, "incidents/broadcasts/confirm.html", context)
            broadcast = services.send_broadcast(actor, form.request(), confirm=True)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                f"Sent to {broadcast.recipients} people ({broadcast.messages} messages).",
            )
            return redirect("incidents:broadcast", pk=broadcast.pk)
    return render(request, "incidents/broadcasts/new.html", {"form": form}, status=400)


# ----------------------------------------------------------------------------- the board


def _bar(tally: queries.Tally, width: int = CHART_WIDTH) -> dict[str, int]:
    """Widths of the stacked bar's parts (an SVG, as the CSP refuses inline styles)."""
    if not tally.total:
        return {"safe": 0, "need_help": 0, "no_answer": width, "help_x": 0, "none_x": 0}
    safe = round(width * tally.safe / tally.total)
    help_ = round(width * tally.need_help / tally.total)
    return {
        "safe": safe,
        "need_help": help_,
        "no_answer": max(0, width - safe - help_),
        "help_x": safe,
        "none_x": safe + help_,
    }


def board_context(broadcast: Broadcast, actor: Actor) -> dict[str, Any]:
    tally = queries.tally(broadcast)
    departments = queries.by_department(broadcast)
    return {
        "broadcast": broadcast,
        "tally": tally,
        "bar": _bar(tally),
        "departments": [(d, _bar(d.tally)) for d in departments],
        "chart_width": CHART_WIDTH,
        "need_help": list(queries.need_help(broadcast)),
        "unanswered": list(queries.answers(broadcast, Answer.NONE)[:SHOWN]),
        "can_send": actor.has(*services.SEND_BROADCASTS),
        "can_close": (
            actor.has(*services.SEND_BROADCASTS)
            and broadcast.has_roll_call
            and broadcast.closed_at is None
        ),
        "can_resend": (
            actor.has(*services.SEND_BROADCASTS)
            and broadcast.has_roll_call
            and tally.no_answer > 0
            and broadcast.rounds < services.ROUND_LIMIT
        ),
    }


def _broadcast_or_404(request: HttpRequest, pk: int) -> Broadcast | HttpResponse:
    found = Broadcast.objects.select_related("site", "incident").filter(pk=pk).first()
    if found is None:
        return render(
            request,
            "incidents/broadcasts/missing.html",
            {"message": f"There is no site message {pk}."},
            status=404,
        )
    return found


@console_page(services.VIEW_BROADCASTS, "the accountability board")
@require_GET
def broadcast_board(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, pk)
    if isinstance(broadcast, HttpResponse):
        return broadcast
    context = board_context(broadcast, actor_of(request))
    context["stream_url"] = request.path + "stream"
    return render(request, "incidents/broadcasts/board.html", context)


@console_page(services.VIEW_BROADCASTS, "site messages")
@require_GET
def broadcast_cap(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, pk)
    if isinstance(broadcast, HttpResponse):
        return broadcast
    return cap_response(broadcast, attachment=True)


@console_page(services.SEND_BROADCASTS, "re-sending a site message")
@require_POST
def broadcast_resend(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        broadcast = services.resend_unanswered(actor_of(request), pk)
    except ServiceError as exc:
        messages.error(request, f"Not re-sent: {exc.message}.")
    else:
        messages.success(
            request, f"Re-sent (round {broadcast.rounds}) to everyone who has not answered."
        )
    return redirect("incidents:broadcast", pk=pk)


@console_page(services.SEND_BROADCASTS, "closing a roll call")
@require_POST
def broadcast_close(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.close_roll_call(actor_of(request), pk)
    except ServiceError as exc:
        messages.error(request, f"Not stopped: {exc.message}.")
    else:
        messages.success(request, "Re-sending stopped; answers are still taken.")
    return redirect("incidents:broadcast", pk=pk)


STREAM = StreamSettings()


def _poll(
    pk: int, actor: Actor, previous: tuple[Any, ...] | None
) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    now = queries.board_signature(pk)
    if now == previous:
        return now, None
    broadcast = Broadcast.objects.select_related("site", "incident").get(pk=pk)
    context = board_context(broadcast, actor)
    html = render_to_string("incidents/broadcasts/_board.html", context)
    t = context["tally"]
    return now, {
        "html": html,
        "safe": t.safe,
        "need_help": t.need_help,
        "no_answer": t.no_answer,
    }


def board_events(
    pk: int, actor: Actor, *, live: bool, settings: StreamSettings
) -> AsyncIterator[str]:
    """The board on connecting, then again whenever an answer (or a round) changes it."""
    poll = sync_to_async(_poll)
    return streams.events(
        "board", lambda previous: poll(pk, actor, previous), live=live, settings=settings
    )


async def board_stream(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Server-sent events for one accountability board."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("sign in first", status=401, content_type="text/plain")
    actor = await sync_to_async(Actor.for_user)(user)
    try:
        require(actor, services.VIEW_BROADCASTS, "the accountability board")
    except Forbidden as exc:
        return HttpResponse(exc.message, status=403, content_type="text/plain")
    if not await Broadcast.objects.filter(pk=pk).aexists():
        return HttpResponse(f"no site message {pk}", status=404, content_type="text/plain")
    response = StreamingHttpResponse(
        board_events(pk, actor, live=isinstance(request, ASGIRequest), settings=STREAM),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# ----------------------------------------------------------------------------- the public page


def _refused(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    expired = isinstance(exc, services.LinkRefused) and exc.expired
    context = {"expired": expired, "message": exc.message}
    return render(request, "incidents/broadcasts/answer_refused.html", context, status=exc.status)


def _answered(
    request: HttpRequest, token: str, row: RollCallAnswer, form: AnswerDetailsForm | None = None
) -> HttpResponse:
    form = form or AnswerDetailsForm(
        initial={"answer": row.answer, "note": row.note, "location": row.location}
    )
    context = {"row": row, "broadcast": row.broadcast, "token": token, "form": form}
    return render(
        request,
        "incidents/broadcasts/answered.html",
        context,
        status=400 if form.errors else 200,
    )


@never_cache
@require_GET
def roll_call_answer(request: HttpRequest, token: str, answer: str) -> HttpResponse:
    """The one-click link: records the answer and thanks (no sign-in, no navigation)."""
    chosen = services.ANSWER_SLUGS.get(answer)
    if chosen is None:
        return _refused(request, services.LinkRefused("this link is not valid"))
    try:
        row = services.answer_roll_call(token, chosen)
    except ServiceError as exc:
        return _refused(request, exc)
    return _answered(request, token, row)


def _row_for(token: str) -> RollCallAnswer:
    claim = services.read_token(token)
    row = (
        RollCallAnswer.objects.select_related("broadcast__site", "recipient")
        .filter(broadcast_id=claim.broadcast_id, recipient_id=claim.recipient_id)
        .first()
    )
    if row is None:
        raise services.LinkRefused("this link does not belong to a roll call any more")
    return row


@never_cache
@require_POST
def roll_call_details(request: HttpRequest, token: str) -> HttpResponse:
    """The thanks page's form: change the answer, add a note or where one is."""
    form = AnswerDetailsForm(request.POST)
    try:
        if not form.is_valid():
            return _answered(request, token, _row_for(token), form)
        data = form.cleaned_data
        try:
            row = services.answer_roll_call(
                token, data["answer"], note=data["note"], location=data["location"]
            )
        except ServiceError as exc:
            if exc.field not in ("note", "location"):
                raise
            add_service_error(form, exc)
            return _answered(request, token, _row_for(token), form)
    except ServiceError as exc:
        return _refused(request, exc)
    return _answered(request, token, row)
