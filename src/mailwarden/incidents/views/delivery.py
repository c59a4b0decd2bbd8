"""Message delivery in the console: the dead-letter list (messages and outbox events) with
replay, single or in bulk, and each person's in-app inbox with mark-as-read.

Views read :mod:`mailwarden.incidents.queries.delivery` and call
:mod:`mailwarden.incidents.services.delivery` for every change (docs/architecture.md rule 1).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from mailwarden.core.errors import ServiceError
from mailwarden.core.views import actor_of, console_page
from mailwarden.incidents.queries import delivery as queries
from mailwarden.incidents.services import delivery as services

SHOWN = 200


def _ids(request: HttpRequest, name: str) -> list[int]:
    return [int(v) for v in request.POST.getlist(name) if v.isdigit() and len(v) < 10]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@console_page(services.VIEW_DEAD_LETTERS, "the dead letters")
@require_GET
def dead_letters(request: HttpRequest) -> HttpResponse:
    deliveries = queries.dead_deliveries()
    events = queries.dead_outbox_events()
    return render(
        request,
        "incidents/delivery/dead_letters.html",
        {
            "deliveries": list(deliveries[:SHOWN]),
            "delivery_count": deliveries.count(),
            "events": list(events[:SHOWN]),
            "event_count": events.count(),
            "can_replay": actor_of(request).has(*services.REPLAY),
        },
    )


@console_page(services.REPLAY, "replaying dead letters")
@require_POST
def replay_deliveries(request: HttpRequest) -> HttpResponse:
    ids = _ids(request, "delivery_ids")
    if not ids:
        messages.error(request, "Nothing was replayed: tick a message first.")
        return redirect("incidents:dead_letters")
    try:
        done = services.replay_deliveries(actor_of(request), ids)
    except ServiceError as exc:
        messages.error(request, f"Nothing was replayed: {exc.message}.")
    else:
        messages.success(request, f"{_plural(len(done), 'message')} queued to be sent again.")
    return redirect("incidents:dead_letters")


@console_page(services.REPLAY, "replaying dead letters")
@require_POST
def replay_events(request: HttpRequest) -> HttpResponse:
    ids = _ids(request, "event_ids")
    if not ids:
        messages.error(request, "Nothing was replayed: tick an event first.")
        return redirect("incidents:dead_letters")
    try:
        done = services.replay_outbox_events(actor_of(request), ids)
    except ServiceError as exc:
        messages.error(request, f"Nothing was replayed: {exc.message}.")
    else:
        messages.success(request, f"{_plural(len(done), 'event')} handed to their handlers again.")
    return redirect("incidents:dead_letters")


@console_page(services.INBOX, "your messages")
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user_id = actor_of(request).user_id or 0
    rows = queries.inbox(user_id)
    return render(
        request,
        "incidents/delivery/inbox.html",
        {"inbox": list(rows[:SHOWN]), "unread": queries.unread_count(user_id)},
    )


@console_page(services.INBOX, "your messages")
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    try:
        if request.POST.get("all"):
            done = services.mark_all_read(actor)
        else:
            done = services.mark_read(actor, _ids(request, "message_ids"))
    except ServiceError as exc:
        messages.error(request, f"Nothing was marked: {exc.message}.")
    else:
        messages.success(request, f"{_plural(done, 'message')} marked read.")
    return redirect("incidents:inbox")
