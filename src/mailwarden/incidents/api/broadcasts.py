"""Site messages with a roll call (``/api/broadcasts``): send one (confirmed), list them, read
one with its counts by department and its answers, re-send to those who have not answered, and
stop the re-sending, and read one as a CAP 1.2 alert.
The answers themselves come from the one-click links in the messages, a console page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.core.permissions import require
from mailwarden.directory.queries import site_by_code
from mailwarden.incidents.downloads import cap_response
from mailwarden.incidents.models import Answer, Broadcast
from mailwarden.incidents.queries import broadcasts as queries
from mailwarden.incidents.schemas.broadcasts import (
    AnswerOut,
    AnswersQuery,
    BroadcastDetailOut,
    BroadcastId,
    BroadcastIn,
    BroadcastOut,
    ListQuery,
    answer_out,
    broadcast_out,
    detail_out,
)
from mailwarden.incidents.services import broadcasts as services

router = Router()


def _broadcast(broadcast_id: int) -> Broadcast:
    found = Broadcast.objects.select_related("site").filter(pk=broadcast_id).first()
    if found is None:
        raise NotFound(f"no site message {broadcast_id}", "broadcast_id")
    return found


def _detail(broadcast: Broadcast) -> BroadcastDetailOut:
    return detail_out(broadcast, queries.tally(broadcast), queries.by_department(broadcast))


@router.post(
    "/broadcasts",
    response={201: BroadcastDetailOut, **ERRORS},
    summary="Send a site message to everyone at a site, with a roll call",
)
@allow(services.SEND_BROADCASTS, "sending a site message")
def send(request: HttpRequest, payload: BroadcastIn) -> Status[BroadcastDetailOut]:
    actor = actor_of(request)
    require(actor, services.SEND_BROADCASTS, "sending a site message")
    data = payload.model_dump()
    confirm = data.pop("confirm")
    broadcast = services.send_broadcast(actor, services.BroadcastRequest(**data), confirm=confirm)
    return Status(201, _detail(broadcast))


@router.get("/broadcasts", response={200: list[BroadcastOut], **ERRORS}, summary="Site messages")
@allow(services.VIEW_BROADCASTS, "reading site messages")
def list_broadcasts(request: HttpRequest, filters: Query[ListQuery]) -> list[BroadcastOut]:
    require(actor_of(request), services.VIEW_BROADCASTS, "reading site messages")
    rows = Broadcast.objects.select_related("site")
    if filters.site:
        rows = rows.filter(site=site_by_code(filters.site))
    return [broadcast_out(b) for b in rows[filters.offset : filters.offset + filters.limit]]


@router.get(
    "/broadcasts/{broadcast_id}",
    response={200: BroadcastDetailOut, **ERRORS},
    summary="One site message with its roll-call counts, in all and by department",
)
@allow(services.VIEW_BROADCASTS, "reading site messages")
def get_broadcast(request: HttpRequest, broadcast_id: Path[BroadcastId]) -> BroadcastDetailOut:
    require(actor_of(request), services.VIEW_BROADCASTS, "reading site messages")
    return _detail(_broadcast(broadcast_id))


_CAP = {
    "responses": {
        200: {
            "description": "The site message as a CAP 1.2 alert (OASIS schema-valid)",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/broadcasts/{broadcast_id}/cap",
    response=ERRORS,
    summary="The site message as a CAP 1.2 alert (status Exercise for an exercise's)",
    openapi_extra=_CAP,
)
@allow(services.VIEW_BROADCASTS, "reading site messages")
def broadcast_cap(request: HttpRequest, broadcast_id: Path[BroadcastId]) -> HttpResponse:
    require(actor_of(request), services.VIEW_BROADCASTS, "reading site messages")
    return cap_response(_broadcast(broadcast_id), attachment=False)


@router.get(
    "/broadcasts/{broadcast_id}/answers",
    response={200: list[AnswerOut], **ERRORS},
    summary="The roll call's answers, one per person the message went to",
)
@allow(services.VIEW_BROADCASTS, "reading roll-call answers")
def list_answers(
    request: HttpRequest, broadcast_id: Path[BroadcastId], filters: Query[AnswersQuery]
) -> list[AnswerOut]:
    require(actor_of(request), services.VIEW_BROADCASTS, "reading roll-call answers")
    broadcast = _broadcast(broadcast_id)
    wanted = None
    if filters.answer is not None:
        wanted = Answer.NONE if filters.answer == "none" else filters.answer
    rows = queries.answers(broadcast, wanted)
    return [answer_out(a) for a in rows[filters.offset : filters.offset + filters.limit]]


@router.post(
    "/broadcasts/{broadcast_id}/resend",
    response={200: BroadcastDetailOut, **ERRORS},
    summary="Send the message again to those who have not answered",
)
@allow(services.SEND_BROADCASTS, "re-sending a site message")
def resend(request: HttpRequest, broadcast_id: Path[BroadcastId]) -> BroadcastDetailOut:
    actor = actor_of(request)
    require(actor, services.SEND_BROADCASTS, "re-sending a site message")
    return _detail(services.resend_unanswered(actor, broadcast_id))


@router.post(
    "/broadcasts/{broadcast_id}/close",
    response={200: BroadcastDetailOut, **ERRORS},
    summary="Stop re-sending the message (answers are still taken while the links last)",
)
@allow(services.SEND_BROADCASTS, "closing a roll call")
def close(request: HttpRequest, broadcast_id: Path[BroadcastId]) -> BroadcastDetailOut:
    actor = actor_of(request)
    require(actor, services.SEND_BROADCASTS, "closing a roll call")
    return _detail(services.close_roll_call(actor, broadcast_id))
