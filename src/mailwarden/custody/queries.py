"""Read-side queries for the console and API: search, filters and dashboard counts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower, TruncDate
from PIL import Image
from prometheus_client.core import GaugeMetricFamily, Metric

from mailwarden.core import clock, ledger, media
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.roles import Role
from mailwarden.custody import carriers, pickup
from mailwarden.custody.matching import Candidate
from mailwarden.custody.models import ItemKind, MailItem
from mailwarden.custody.states import TERMINAL, State
from mailwarden.directory.models import Recipient, Site


def visible_items(actor: Actor) -> QuerySet[MailItem]:
    """Staff see every item; a recipient sees only their own."""
    items = MailItem.objects.select_related("recipient__department", "location", "site")
    if actor.has(
        Role.CLERK, Role.SCREENER, Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR
    ):
        return items
    if actor.user_id is not None and Role.RECIPIENT in actor.roles:
        return items.filter(recipient__user_id=actor.user_id)
    return items.none()


# Filters on the item's carrier column: "none" finds items logged without a checked carrier
# (untracked letters, and numbers logged unchecked).
NO_CARRIER = "none"


@dataclass(frozen=True)
class ItemFilters:
    """What the items list and its exports narrow by; every part optional."""

    state: str | None = None
    recipient_id: int | None = None
    # A name, email or employee ID, as the search box reads them; matches each such person.
    recipient_query: str = ""
    site_code: str | None = None
    carrier: str | None = None
    kind: str | None = None
    # Calendar days at each item's own site: a mailroom's day is its own.
    received_from: date | None = None
    received_to: date | None = None


def carrier_choices() -> list[tuple[str, str]]:
    """Every carrier a tracking number can be checked against, by name, and "no carrier"."""
    known = {t.carrier: t.carrier_name for t in carriers.tracking_types()}
    ordered = sorted(known.items(), key=lambda pair: pair[1].lower())
    return [*ordered, (NO_CARRIER, "No carrier (untracked or unchecked)")]


def filtered_items(actor: Actor, filters: ItemFilters) -> QuerySet[MailItem]:
    """The items the actor may see that pass ``filters``; refused parts name their field."""
    if filters.state and filters.state not in State.values:
        choices = ", ".join(State.values)
        raise ServiceError(f"unknown state {filters.state!r}; states are {choices}", "state")
    if filters.kind and filters.kind not in ItemKind.values:
        choices = ", ".join(ItemKind.values)
        raise ServiceError(f"unknown item type {filters.kind!r}; types are {choices}", "kind")
    if filters.carrier and filters.carrier not in dict(carrier_choices()):
        raise ServiceError(
            f"unknown carrier {filters.carrier!r}; use a carrier's code such as ups, "
            f"or {NO_CARRIER} for items without one",
            "carrier",
        )
    start, end = filters.received_from, filters.received_to
    if start and end and end < start:
        raise ServiceError(
            f"the end date {end:%Y-%m-%d} is before the start date {start:%Y-%m-%d}",
            "received_to",
        )
    items = visible_items(actor)
    site_id = None
    if filters.site_code:
        site_id = Site.objects.filter(code=filters.site_code).values_list("id", flat=True).first()
        if site_id is None:
            raise ServiceError(f"no site with code {filters.site_code!r}", "site")
        items = items.filter(site_id=site_id)
    if filters.recipient_id:
        items = items.filter(recipient_id=filters.recipient_id)
    if filters.recipient_query.strip():
        items = items.filter(recipient_id__in=_recipients_named(filters.recipient_query.strip()))
    if filters.carrier:
        items = items.filter(carrier="" if filters.carrier == NO_CARRIER else filters.carrier)
    if filters.kind:
        items = items.filter(kind=filters.kind)
    if start or end:
        items = items.filter(_received_between(start, end, site_id))
    return items


def _received_between(start: date | None, end: date | None, site_id: int | None) -> Q:
    """Received on or after ``start`` and on or before ``end``, each in its site's time zone."""
    sites = Site.objects.values_list("id", "timezone")
    if site_id is not None:
        sites = sites.filter(id=site_id)
    match = Q(pk__in=[])
    for pk, zone in sites:
        tz = ZoneInfo(zone)
        part = Q(site_id=pk)
        if start:
            part &= Q(received_at__gte=datetime.combine(start, time.min, tzinfo=tz))
        if end:
            part &= Q(
                received_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
            )
        match |= part
    return match


def matching_items(
    actor: Actor, q: str = "", filters: ItemFilters | None = None
) -> QuerySet[MailItem]:
    """Every item the list would show for ``q`` and ``filters``, in one query, newest first.

    For the total count and the exports, which need all rows; :func:`search_items` pages through
    the same set faster.
    """
    filters = filters or ItemFilters()
    items = filtered_items(actor, filters)
    if filters.state:
        items = items.filter(state=filters.state)
    q = q.strip()
    if q:
        token = carriers.normalise(q)
        uids = {token} if token.startswith("MW-") else {token, f"MW-{token}"}
        match = Q(uid__in=uids) | Q(tracking_number=token)
        people = [] if token.startswith("MW-") else _recipients_named(q)
        if people:
            match |= Q(recipient_id__in=people)
        items = items.filter(match)
    return items.order_by(*NEWEST_FIRST)


def count_items(actor: Actor, q: str = "", filters: ItemFilters | None = None) -> int:
    return matching_items(actor, q, filters).select_related(None).count()


def search_items(
    actor: Actor,
    q: str = "",
    *,
    state: str | None = None,
    recipient_id: int | None = None,
    site_code: str | None = None,
    limit: int = 50,
    before: str | None = None,
    filters: ItemFilters | None = None,
) -> list[MailItem]:
    """The newest items matching ``q`` (an item ID, a tracking number or a recipient's name).

    ``before`` is the item ID of the last item of a previous page: only older items are returned,
    so a client pages through any number of results at the same cost per page. ``filters``
    narrows further (carrier, type, dates); ``state``, ``recipient_id`` and ``site_code`` are
    its first three parts, kept as arguments for the callers that name only those.

    Built to stay fast on millions of items (docs/performance.md): names are resolved against the
    small recipient table first, each part is an equality on an indexed column, and each part
    fetches only the ids of its newest ``limit`` rows before the rows themselves are loaded.
    """
    filters = filters or ItemFilters()
    filters = replace(
        filters,
        state=state or filters.state,
        recipient_id=recipient_id or filters.recipient_id,
        site_code=site_code or filters.site_code,
    )
    state = filters.state
    items = filtered_items(actor, filters)
    if before:
        items = _older_than(actor, items, before)
    q = q.strip()
    if not q:
        ids = _newest_ids(_in_state(items, state), limit)
    else:
        # Separate id queries instead of one OR: each can use its own index, where an OR across
        # columns makes the planner walk every item in date order.
        token = carriers.normalise(q)
        uids = {token} if token.startswith("MW-") else {token, f"MW-{token}"}
        exact = items.filter(Q(uid__in=uids) | Q(tracking_number=token))
        ids = _newest_ids(_in_state(exact, state, by_index=False), limit)
        # An item ID is never a name; skipping the name lookup saves a scan of the directory.
        people = [] if token.startswith("MW-") else _recipients_named(q)
        if people:
            named = items.filter(recipient_id__in=people)
            ids += _newest_ids(_in_state(named, state, by_index=False), limit)
    if not ids:
        return []
    return list(visible_items(actor).filter(id__in=ids).order_by(*NEWEST_FIRST)[:limit])


NEWEST_FIRST = ("-received_at", "-id")


def _older_than(actor: Actor, items: QuerySet[MailItem], uid: str) -> QuerySet[MailItem]:
    mark = visible_items(actor).filter(uid=uid.strip().upper()).values("received_at", "id").first()
    if mark is None:
        raise ServiceError(f"no item {uid!r} to page from", "before")
    at = mark["received_at"]
    return items.filter(Q(received_at__lt=at) | Q(received_at=at, id__lt=mark["id"]))


def _in_state(
    items: QuerySet[MailItem], state: str | None, *, by_index: bool = True
) -> QuerySet[MailItem]:
    if not state:
        return items
    if by_index:
        return items.filter(state=state)
    # Compared through an expression on purpose, where a narrower index already applies: an
    # indexable state test tempts SQLite (which has no statistics unless ANALYZE ran) to walk
    # every item in that state by date instead. The (recipient, state, received_at) index holds
    # the state, so a person's items are still read from the index alone.
    return items.alias(state_value=Lower("state")).filter(state_value=state)


def _newest_ids(items: QuerySet[MailItem], limit: int) -> list[int]:
    # Without select_related the id query can be answered from the index alone.
    return list(
        items.select_related(None).order_by(*NEWEST_FIRST).values_list("id", flat=True)[:limit]
    )


def _recipients_named(q: str) -> list[int]:
    """Recipients with a name starting with every word of ``q``, or one email or employee id."""
    words = q.split()
    match = Q()
    for word in words:
        match &= (
            Q(last_name__istartswith=word)
            | Q(first_name__istartswith=word)
            | Q(preferred_name__istartswith=word)
        )
    if len(words) == 1:
        match |= Q(email__istartswith=q) | Q(employee_id__iexact=q)
    return list(Recipient.objects.filter(match).order_by().values_list("id", flat=True))


@dataclass(frozen=True)
class Dashboard:
    intake_today: int
    by_state: dict[str, int]
    awaiting_pickup: int
    quarantined: int
    overdue: int


def _received_today(now: datetime) -> Q:
    """Items received since midnight where each site is: a mailroom's day is its own."""
    today = Q(pk__in=[])
    for site_id, zone in Site.objects.values_list("id", "timezone"):
        local = now.astimezone(ZoneInfo(zone))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        today |= Q(site_id=site_id, received_at__gte=midnight)
    return today


def dashboard(now: datetime | None = None, overdue_days: int = 3) -> Dashboard:
    now = now or clock.now()
    counts = {
        row["state"]: row["n"] for row in MailItem.objects.values("state").annotate(n=Count("id"))
    }
    return Dashboard(
        intake_today=MailItem.objects.filter(_received_today(now)).count(),
        by_state={s.value: counts.get(s.value, 0) for s in State},
        awaiting_pickup=counts.get(State.READY_FOR_PICKUP, 0),
        quarantined=counts.get(State.QUARANTINED, 0),
        overdue=MailItem.objects.filter(
            state=State.READY_FOR_PICKUP, state_changed_at__lt=now - timedelta(days=overdue_days)
        ).count(),
    )


@dataclass(frozen=True)
class Photo:
    data: bytes
    format: str  # as Pillow names it, lower case: "png", "jpeg", ...

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"


def item_photo(item: MailItem) -> Photo | None:
    if not item.photo_sha256 or item.content_purged_at is not None:
        return None
    try:
        data = media.get(item.photo_sha256)
    except FileNotFoundError:
        return None
    # Intake accepted only checked images, so the stored format names the content type.
    with Image.open(io.BytesIO(data)) as image:
        kind = (image.format or "png").lower()
    return Photo(data, kind)


def item_signature(item: MailItem, digest: str) -> bytes | None:
    """A signature drawn at this item's hand-over; only one its custody record names."""
    for entry in ledger.entries_for("mailitem", item.uid):
        if ledger.entry_data(entry).get("signature_sha256") == digest:
            # The hand-over stored only a checked PNG under this digest; the retention rule
            # may have removed it since.
            try:
                return media.get(digest)
            except FileNotFoundError:
                return None
    return None


@dataclass(frozen=True)
class MyItem:
    """One of a recipient's items; the pickup proofs only while it waits for them."""

    item: MailItem
    pickup_code: str | None
    qr_token: str | None


def my_items(actor: Actor, limit: int = 100) -> list[MyItem]:
    """The signed-in recipient's own items, newest first; none for a caller who is no person."""
    if actor.user_id is None:
        return []
    mine = visible_items(actor).filter(recipient__user_id=actor.user_id)
    out = []
    for item in mine.order_by(*NEWEST_FIRST)[:limit]:
        ready = item.state == State.READY_FOR_PICKUP
        out.append(
            MyItem(
                item,
                pickup.pickup_code(item.uid) if ready else None,
                pickup.qr_token(item.uid) if ready else None,
            )
        )
    return out


def recipient_candidates() -> Iterator[Candidate]:
    """Every active recipient as the name matcher sees them."""
    rows = Recipient.objects.filter(active=True).values_list(
        "id", "first_name", "last_name", "preferred_name", "department__name", "mail_stop", "email"
    )
    for pk, first, last, preferred, department, mail_stop, email in rows:
        yield Candidate(pk, first, last, preferred, department or "", mail_stop, email)


def metrics() -> Iterator[Metric]:
    """Custody's Prometheus gauges, read at scrape time (declared on CustodyConfig)."""
    items = GaugeMetricFamily("mailwarden_items", "Mail items by custody state", labels=["state"])
    for row in MailItem.objects.values("state").annotate(n=Count("id")):
        items.add_metric([row["state"]], row["n"])
    yield items


# ----------------------------------------------------------------------------- report aggregates

# The reports app's figures come from these: each covers one site, in the site's own days.


def local_window(site: Site, first: date, last: date) -> tuple[datetime, datetime]:
    """From midnight starting ``first`` to midnight ending ``last``, where the site is."""
    zone = ZoneInfo(site.timezone)
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def received_per_day(site: Site, first: date, last: date) -> list[tuple[date, str, str, int]]:
    """(local day, carrier, kind, how many) of the items logged at the site over those days."""
    start, end = local_window(site, first, last)
    rows = (
        MailItem.objects.filter(site=site, received_at__gte=start, received_at__lt=end)
        .annotate(day=TruncDate("received_at", tzinfo=ZoneInfo(site.timezone)))
        .values_list("day", "carrier", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [(day, carrier, kind, n) for day, carrier, kind, n in rows]


HANDED_OVER = (State.PICKED_UP, State.DELIVERED)


def handover_waits(site: Site, first: date, last: date) -> list[tuple[datetime, float]]:
    """(when, seconds since arrival) of each item picked up or delivered at the site over those
    days. A hand-over is the item's last state, so its ``state_changed_at`` is the hand-over."""
    start, end = local_window(site, first, last)
    rows = MailItem.objects.filter(
        site=site, state__in=HANDED_OVER, state_changed_at__gte=start, state_changed_at__lt=end
    ).values_list("state_changed_at", "received_at")
    return [(done, (done - came).total_seconds()) for done, came in rows]


def custody_spans(
    site: Site, since: datetime, until: datetime
) -> list[tuple[datetime, datetime | None]]:
    """(arrived, left or None while still here) of every item at the site some time between
    ``since`` and ``until``: arrived before ``until``, not gone before ``since``."""
    rows = (
        MailItem.objects.filter(site=site, received_at__lt=until)
        .exclude(state__in=TERMINAL, state_changed_at__lt=since)
        .values_list("received_at", "state", "state_changed_at")
    )
    return [(came, changed if state in TERMINAL else None) for came, state, changed in rows]


def waiting_longer_than(
    site: Site | None, now: datetime, days: int, limit: int = 50
) -> tuple[int, list[MailItem]]:
    """How many items wait on the shelf for pickup longer than ``days``, and the longest
    waiting ``limit`` of them (what the dashboard counts as overdue)."""
    found = MailItem.objects.filter(
        state=State.READY_FOR_PICKUP, state_changed_at__lt=now - timedelta(days=days)
    )
    if site is not None:
        found = found.filter(site=site)
    shown = found.select_related("recipient", "site", "location").order_by("state_changed_at")
    return found.count(), list(shown[:limit])


def carrier_names() -> dict[str, str]:
    """Each carrier's name as people know it ("UPS"), by the code items store ("ups")."""
    return {t.carrier: t.carrier_name for t in carriers.tracking_types()}


def received_any(site: Site, since: datetime, until: datetime) -> bool:
    """Whether any item was logged at the site in ``[since, until)``."""
    return MailItem.objects.filter(
        site=site, received_at__gte=since, received_at__lt=until
    ).exists()
