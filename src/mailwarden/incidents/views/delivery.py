"""Message delivery in the console: the dead-letter list (messages and outbox events) with
replay, single or in bulk; each person's in-app inbox with mark-as-read; and the webhook
endpoints, whose stored secrets are accepted and never shown.

Views read :mod:`mailwarden.incidents.queries.delivery` and call
:mod:`mailwarden.incidents.services.delivery` for every change (docs/architecture.md rule 1).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page
from mailwarden.incidents.forms.delivery import EndpointForm
from mailwarden.incidents.models import WebhookEndpoint
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


# ----------------------------------------------------------------------------- webhook endpoints


def _endpoints_page(
    request: HttpRequest, form: EndpointForm | None, status: int = 200
) -> HttpResponse:
    can_manage = actor_of(request).has(*services.MANAGE_ENDPOINTS)
    return render(
        request,
        "incidents/delivery/webhooks.html",
        {
            "endpoints": list(WebhookEndpoint.objects.all()),
            "form": form or (EndpointForm() if can_manage else None),
            "can_manage": can_manage,
        },
        status=status,
    )


@console_page(services.VIEW_DEAD_LETTERS, "webhook endpoints")
@require_GET
def webhooks(request: HttpRequest) -> HttpResponse:
    return _endpoints_page(request, None)


@console_page(services.MANAGE_ENDPOINTS, "changing webhook endpoints")
@require_POST
def webhook_new(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _endpoints_page(request, form, status=400)
    data = form.cleaned_data
    try:
        endpoint = services.create_endpoint(
            actor_of(request),
            services.EndpointRequest(
                name=data["name"],
                url=data["url"],
                secret=data["secret"] or None,
                secret_env=data["secret_env"],
                active=data["active"],
            ),
        )
    except ServiceError as exc:
        add_service_error(form, exc)
        return _endpoints_page(request, form, status=400)
    messages.success(request, f"Webhook endpoint {endpoint.name} added.")
    return redirect("incidents:webhooks")


@console_page(services.MANAGE_ENDPOINTS, "changing webhook endpoints")
@require_POST
def webhook_switch(request: HttpRequest, name: str) -> HttpResponse:
    endpoint = WebhookEndpoint.objects.filter(name=name).first()
    if endpoint is None:
        raise Http404("no such webhook endpoint")
    try:
        services.update_endpoint(
            actor_of(request),
            name,
            services.EndpointRequest(
                name=endpoint.name,
                url=endpoint.url,
                secret=None,
                secret_env=endpoint.secret_env,
                active=not endpoint.active,
            ),
        )
    except ServiceError as exc:
        messages.error(request, f"Nothing was changed: {exc.message}.")
    else:
        state = "switched off" if endpoint.active else "switched on"
        messages.success(request, f"Webhook endpoint {name} {state}.")
    return redirect("incidents:webhooks")


@console_page(services.MANAGE_ENDPOINTS, "changing webhook endpoints")
@require_POST
def webhook_delete(request: HttpRequest, name: str) -> HttpResponse:
    try:
        services.delete_endpoint(actor_of(request), name)
    except ServiceError as exc:
        messages.error(request, f"Nothing was removed: {exc.message}.")
    else:
        messages.success(request, f"Webhook endpoint {name} removed.")
    return redirect("incidents:webhooks")
