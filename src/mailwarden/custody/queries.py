"""Read-side queries for the console and API: search, filters and dashboard counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem, Recipient
from mailwarden.custody.states import State


def visible_items(actor: Actor) -> QuerySet[MailItem]:
    """Staff see every item; a recipient sees only their own."""
    items = MailItem.objects.select_related("recipient", "location", "site")
    if actor.has(Role.CLERK, Role.SCREENER, Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR,
                 Role.AUDITOR):
        return items
    if actor.user_id is not None and Role.RECIPIENT in actor.roles:
        return items.filter(recipient__user_id=actor.user_id)
    return items.none()


def search_items(
    actor: Actor,
    q: str = "",
    *,
    state: str | None = None,
    recipient_id: int | None = None,
    site_code: str | None = None,
    limit: int = 50,
) -> list[MailItem]:
    items = visible_items(actor)
    if state:
        items = items.filter(state=state)
    if recipient_id:
        items = items.filter(recipient_id=recipient_id)
    if site_code:
        items = items.filter(site__code=site_code)
    q = q.strip()
    if q:
        upper = q.upper().replace(" ", "")
        people = Recipient.objects.filter(
            Q(last_name__istartswith=q) | Q(first_name__istartswith=q) | Q(email__istartswith=q)
            | Q(employee_id=q)
        ).values_list("id", flat=True)[:200]
        items = items.filter(
            Q(uid=upper)
            | Q(tracking_number=upper)
            | Q(recipient_id__in=list(people))
        )
    return list(items.order_by("-received_at")[:limit])


@dataclass(frozen=True)
class Dashboard:
    intake_today: int
    by_state: dict[str, int]
    awaiting_pickup: int
    quarantined: int
    overdue: int


def dashboard(now: datetime | None = None, overdue_days: int = 3) -> Dashboard:
    now = now or clock.now()
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = {
        row["state"]: row["n"]
        for row in MailItem.objects.values("state").annotate(n=Count("id"))
    }
    return Dashboard(
        intake_today=MailItem.objects.filter(received_at__gte=start_of_day).count(),
        by_state={s.value: counts.get(s.value, 0) for s in State},
        awaiting_pickup=counts.get(State.READY_FOR_PICKUP, 0),
        quarantined=counts.get(State.QUARANTINED, 0),
        overdue=MailItem.objects.filter(
            state=State.READY_FOR_PICKUP, state_changed_at__lt=now - timedelta(days=overdue_days)
        ).count(),
    )
