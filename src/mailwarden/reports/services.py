"""The reports app's one change: sending a site's weekly summary (docs/architecture.md rule 1).

The summary is queued through the notification outbox in the same transaction as its row, its
ledger entry and its event, so a crash neither loses nor doubles it; the row's unique (site,
week) makes a second call for the same week a no-op.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q

from mailwarden.contracts.events import WeeklySummarySent
from mailwarden.core import clock, ledger, notify, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.custody import queries as custody
from mailwarden.directory import queries as directory
from mailwarden.directory.models import Site
from mailwarden.reports import summary
from mailwarden.reports.models import WeeklySummary
from mailwarden.reports.period import week_start
from mailwarden.reports.permissions import SUMMARY_ROLES

WEEKLY_JOB = Actor.job("weekly-summary")
# The summary of the week just ended goes out from this hour on Monday, where the site is, so
# that Sunday night's intake is in it and managers find it at the start of their day.
SEND_HOUR = 6


def managers() -> list[User]:
    """Who the weekly summary goes to: active security managers and administrators with an
    email address."""
    roles = [r.value for r in SUMMARY_ROLES]
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=roles) | Q(is_superuser=True))
        .exclude(email="")
        .distinct()
        .order_by("username")
    )


def week_due(timezone: str, now: datetime) -> date:
    """The Monday of the last week whose summary is due at ``now`` where the site is."""
    local = now.astimezone(ZoneInfo(timezone)) - timedelta(hours=SEND_HOUR)
    return week_start(local.date()) - timedelta(days=7)


def send_weekly_summary(
    actor: Actor, site_code: str, week: date, *, now: datetime | None = None
) -> WeeklySummary | None:
    """Queue the site's summary of the week from Monday ``week`` to each manager; None when it
    was sent already, or when no manager has an email address yet (nothing is recorded then, so
    a manager added later that week still gets it). Refused for a week that has not ended where
    the site is."""
    require(actor, (), "sending the weekly summary")
    now = now or clock.now()
    site = directory.site_by_code(site_code)
    if week.weekday() != 0:
        raise ServiceError("must be a Monday, the day a week begins", "week")
    ends = datetime.combine(week + timedelta(days=7), time.min, tzinfo=ZoneInfo(site.timezone))
    if ends > now:
        raise ServiceError("that week has not ended yet at this site", "week")
    if WeeklySummary.objects.filter(site=site, week_start=week).exists():
        return None
    people = managers()
    if not people:
        return None
    try:
        with transaction.atomic():
            row = WeeklySummary.objects.create(
                site=site,
                week_start=week,
                sent_at=now,
                recipients=[p.username for p in people],
            )
            ledger.append(
                actor,
                "reports.weekly_summary.sent",
                "site",
                site.code,
                {"week_start": week.isoformat(), "recipients": row.recipients},
                at=now,
            )
            ref = summary.subject_ref(site.code, week)
            for person in people:
                notify.queue(
                    key=f"{summary.KIND}:{ref}:{person.username}",
                    kind=summary.KIND,
                    to_address=person.email,
                    subject_ref=ref,
                )
            outbox.emit(WeeklySummarySent(site=site.code, week_start=week, recipients=len(people)))
    except IntegrityError:
        # Another worker sent it between the check and the insert.
        return None
    return row


def send_due_summaries(now: datetime) -> int:
    """Send every site's summary that is due and not yet sent; how many went out.

    A week in which no item arrived at the site has nothing to summarise, and sends nothing:
    a site being set up, or closed, does not mail its managers empty figures every Monday.
    """
    if not managers():
        return 0
    sent = 0
    for site in Site.objects.all():
        week = week_due(site.timezone, now)
        if WeeklySummary.objects.filter(site=site, week_start=week).exists():
            continue
        since, until = custody.local_window(site, week, week + timedelta(days=6))
        if not custody.received_any(site, since, until):
            continue
        if send_weekly_summary(WEEKLY_JOB, site.code, week, now=now) is not None:
            sent += 1
    return sent
