"""Retention rules per site, and the anonymisation of departed people (docs/retention.md).

Every app that owns personal content purges it on its own periodic job and reads the rules
here: :func:`rules_by_site` gives each site's rules, its own row or the configuration's
defaults. A rule of None keeps forever.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from mailwarden.config import get_settings
from mailwarden.contracts import events as catalogue
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_SECURITY
from mailwarden.core.tasks import periodic
from mailwarden.directory.models import Recipient, Site, SiteRetention
from mailwarden.directory.queries import site_by_code

ANONYMISER = Actor.job("directory.retention")
# One run changes at most this many rows, so a first run on a large backlog stays short; the
# next tick goes on where it stopped.
MAX_PER_RUN = 500
RULE_FIELDS = ("media_days", "access_event_months", "departed_person_days")
LIMITS = {"media_days": 36500, "access_event_months": 1200, "departed_person_days": 36500}


@dataclass(frozen=True)
class Rules:
    """The rules in force at one site (or, with ``site`` empty, for people without a site)."""

    site: str
    site_name: str
    media_days: int | None
    access_event_months: int | None
    departed_person_days: int | None
    # True when the site has its own rules; False when the configuration's defaults apply.
    own: bool

    @property
    def where(self) -> str:
        return f"site {self.site_name}" if self.site else "people without a site"

    @property
    def source(self) -> str:
        return "the site's own rule" if self.own else "the default rule"

    def media_rule(self) -> str:
        return (
            f"photos, signatures and X-ray images {self.media_days} days after the last step "
            f"({self.where}, {self.source})"
        )

    def access_rule(self) -> str:
        return f"access events {self.access_event_months} months ({self.where}, {self.source})"

    def departed_rule(self) -> str:
        return (
            f"departed people anonymised {self.departed_person_days} days after deactivation "
            f"({self.where}, {self.source})"
        )


def default_rules() -> Rules:
    cfg = get_settings().retention
    return Rules(
        "", "", cfg.media_days, cfg.access_event_months, cfg.departed_person_days, own=False
    )


def _rules(site: Site, row: SiteRetention | None) -> Rules:
    base = default_rules()
    if row is None:
        return Rules(
            site.code,
            site.name,
            base.media_days,
            base.access_event_months,
            base.departed_person_days,
            own=False,
        )
    return Rules(
        site.code,
        site.name,
        row.media_days,
        row.access_event_months,
        row.departed_person_days,
        own=True,
    )


def rules_by_site() -> dict[int, Rules]:
    """Every site's rules, by the site's primary key."""
    rows = {r.site_id: r for r in SiteRetention.objects.all()}
    return {site.pk: _rules(site, rows.get(site.pk)) for site in Site.objects.order_by("code")}


def rules_for(site_code: str) -> Rules:
    site = site_by_code(site_code)
    return _rules(site, SiteRetention.objects.filter(site=site).first())


def months_before(now: datetime, months: int) -> datetime:
    """``now`` moved back by calendar months (31 March less one month is 28/29 February)."""
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


# ----------------------------------------------------------------------------- changing rules


def _checked(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceError("must be a whole number, or empty to keep forever", name)
    if not 1 <= value <= LIMITS[name]:
        raise ServiceError(f"must be between 1 and {LIMITS[name]}, or empty to keep forever", name)
    return value


def set_site_retention(
    actor: Actor,
    site_code: str,
    *,
    media_days: int | None,
    access_event_months: int | None,
    departed_person_days: int | None,
) -> Rules:
    """Give a site its own rules (None in a field keeps that content forever)."""
    require(actor, MANAGE_SECURITY, "changing retention rules")
    wanted = {
        "media_days": _checked("media_days", media_days),
        "access_event_months": _checked("access_event_months", access_event_months),
        "departed_person_days": _checked("departed_person_days", departed_person_days),
    }
    now = clock.now()
    with transaction.atomic():
        site = site_by_code(site_code)
        row = SiteRetention.objects.select_for_update().filter(site=site).first()
        before = _rules(site, row)
        changed = {
            name: [getattr(before, name), value]
            for name, value in wanted.items()
            if getattr(before, name) != value or not before.own
        }
        if row is None:
            row = SiteRetention(site=site)
        for name, value in wanted.items():
            setattr(row, name, value)
        row.updated_at, row.updated_by = now, actor.label
        row.save()
        ledger.append(
            actor,
            "directory.retention.changed",
            "site",
            site.code,
            {"changed": changed, "was_default": not before.own},
            at=now,
        )
        outbox.emit(catalogue.SiteRetentionChanged(site=site.code, **wanted))
    return _rules(site, row)


# ----------------------------------------------------------------------------- departed people


@dataclass
class RetentionRun:
    """What one retention job removed (or, in a dry run, would remove)."""

    job: str
    # One line per row changed: what it is and under which rule.
    subjects: list[str] = field(default_factory=list)
    # Media files deleted from the store (SHA-256).
    files: list[str] = field(default_factory=list)
    dry_run: bool = False


# The retention jobs read every site's rules and scan for due rows, so the tick runs each this
# often, not every few seconds.
RUN_EVERY = timedelta(minutes=10)
_last_run: dict[str, datetime] = {}


def due_to_run(job: str, now: datetime) -> bool:
    """True once per :data:`RUN_EVERY` for ``job`` (and when the clock went back, as in tests)."""
    last = _last_run.get(job)
    if last is not None and timedelta(0) <= now - last < RUN_EVERY:
        return False
    _last_run[job] = now
    return True


def placeholder(recipient_id: int) -> str:
    return f"Former recipient {recipient_id}"


def _departed(now: datetime) -> list[tuple[int, str]]:
    """(recipient id, rule) for every person the rules anonymise now, oldest departure first."""
    rules = rules_by_site()
    by_rule: list[tuple[Q, Rules]] = [
        (Q(site_id=site_id), r) for site_id, r in rules.items() if r.departed_person_days
    ]
    default = default_rules()
    if default.departed_person_days:
        by_rule.append((Q(site__isnull=True), default))
    found: list[tuple[datetime, int, str]] = []
    for where, rule in by_rule:
        assert rule.departed_person_days is not None
        cutoff = now - timedelta(days=rule.departed_person_days)
        rows = (
            Recipient.objects.filter(where)
            .filter(active=False, anonymised_at__isnull=True, deactivated_at__lt=cutoff)
            .order_by("deactivated_at", "id")
            .values_list("deactivated_at", "id")[:MAX_PER_RUN]
        )
        found += [(at, pk, rule.departed_rule()) for at, pk in rows if at is not None]
    found.sort()
    return [(pk, rule) for _, pk, rule in found[:MAX_PER_RUN]]


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def anonymise_departed(now: datetime, *, dry_run: bool = False) -> RetentionRun:
    """Replace the personal fields of people deactivated longer than their site's rule.

    The row stays, so items, incidents and the ledger still refer to it; the ledger entry keeps
    only hashes of what was replaced.
    """
    run = RetentionRun("directory.anonymise_departed", dry_run=dry_run)
    plan = _departed(now)
    if dry_run:
        run.subjects = [f"recipient {pk}: {rule}" for pk, rule in plan]
        return run
    for pk, rule in plan:
        with transaction.atomic():
            person = (
                Recipient.objects.select_for_update(of=("self",))
                .filter(pk=pk, active=False, anonymised_at__isnull=True)
                .first()
            )
            # Looked at again under the lock: someone may have reactivated them meanwhile.
            if person is None:
                continue
            replaced = _anonymise(person, now)
            ledger.append(
                ANONYMISER,
                "directory.recipient.anonymised",
                "recipient",
                person.employee_id,
                {"rule": rule, "replaced_sha256": replaced},
                at=now,
            )
            outbox.emit(
                catalogue.RecipientAnonymised(recipient_id=person.pk, placeholder=placeholder(pk))
            )
            run.subjects.append(f"recipient {pk}: {rule}")
    return run


def _anonymise(person: Recipient, now: datetime) -> dict[str, str]:
    personal = {
        "employee_id": person.employee_id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "preferred_name": person.preferred_name,
        "email": person.email,
        "phone": person.phone,
        "mail_stop": person.mail_stop,
        "scim_user_name": person.scim_user_name,
        "external_id": person.external_id,
    }
    pk = person.pk
    person.employee_id = f"former-{pk}"
    person.first_name, person.last_name = "Former recipient", str(pk)
    person.preferred_name = ""
    person.email = f"former-{pk}@anonymised.invalid"
    person.phone = person.mail_stop = person.scim_user_name = person.external_id = ""
    person.anonymised_at = now
    person.save()
    return {name: _sha(value) for name, value in personal.items() if value}


@periodic("directory.anonymise_departed")
def scheduled_anonymise(now: datetime) -> int:
    if not due_to_run("directory.anonymise_departed", now):
        return 0
    return len(anonymise_departed(now).subjects)
