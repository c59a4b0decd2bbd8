"""Access events under the sites' retention rules, and cardholders of departed people.

An access event older than its site's ``access_event_months`` loses who made it: cardholder,
credential, companion, the references the edge sent for them, and its payload. The row stays
with its door, reader, time, type and outcome, so door statistics, alarms that point at it and
reports keep working; it is who went through a door that the storage-limitation principle is
about. One ledger entry per site per run names the events (by their idempotency keys) and
the rule (docs/retention.md).

When the directory anonymises a departed person, their cardholders take the same placeholder
name (:func:`on_recipient_anonymised`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from mailwarden.access.models import AccessEvent, Cardholder
from mailwarden.contracts import events as catalogue
from mailwarden.core import ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.tasks import periodic
from mailwarden.directory.retention import RetentionRun, due_to_run, months_before, rules_by_site

RETENTION = Actor.job("access.retention")
# Events stripped per run at most; the next run goes on where it stopped.
MAX_PER_RUN = 1000
PURGED = "access.events.purged"


def purge_events(now: datetime, *, dry_run: bool = False) -> RetentionRun:
    """Strip the personal parts of the access events the rules no longer keep."""
    run = RetentionRun("access.purge_events", dry_run=dry_run)
    left = MAX_PER_RUN
    for site_id, rules in rules_by_site().items():
        if not rules.access_event_months or left <= 0:
            continue
        cutoff = months_before(now, rules.access_event_months)
        rule = rules.access_rule()
        due = AccessEvent.objects.filter(
            site_id=site_id, occurred_at__lt=cutoff, personal_purged_at__isnull=True
        ).order_by("occurred_at", "id")
        if dry_run:
            count = min(due.count(), left)
            if count:
                run.subjects.append(f"{count} access events at {rules.site}: {rule}")
            left -= count
            continue
        with transaction.atomic():
            picked = list(
                due.select_for_update(of=("self",)).values_list("pk", "key", "occurred_at")[:left]
            )
            if not picked:
                continue
            AccessEvent.objects.filter(pk__in=[pk for pk, _, _ in picked]).update(
                cardholder=None,
                holder_ref="",
                credential=None,
                credential_ref="",
                companion=None,
                payload={},
                personal_purged_at=now,
                personal_purged_rule=rule,
            )
            ledger.append(
                RETENTION,
                PURGED,
                "site",
                rules.site,
                {
                    "rule": rule,
                    "count": len(picked),
                    "from": picked[0][2].isoformat(),
                    "until": picked[-1][2].isoformat(),
                    "events": [str(key) for _, key, _ in picked],
                },
                at=now,
            )
        left -= len(picked)
        run.subjects.append(f"{len(picked)} access events at {rules.site}: {rule}")
    return run


@periodic("access.purge_events")
def scheduled_purge(now: datetime) -> int:
    if not due_to_run("access.purge_events", now):
        return 0
    return len(purge_events(now).subjects)


@outbox.handles(catalogue.RecipientAnonymised)
def on_recipient_anonymised(event: catalogue.RecipientAnonymised) -> None:
    """A departed person's cardholders are known by the directory's placeholder from now on."""
    with transaction.atomic():
        holders = list(
            Cardholder.objects.select_for_update()
            .filter(recipient_id=event.recipient_id)
            .exclude(name=event.placeholder)
        )
        for holder in holders:
            holder.name = event.placeholder
            holder.save(update_fields=["name"])
            # The old name is not repeated here: the ledger already holds what it held.
            ledger.append(
                RETENTION,
                "access.cardholder.anonymised",
                "cardholder",
                str(holder.pk),
                {"recipient": event.recipient_id},
            )
            outbox.emit(catalogue.CardholderUpdated(cardholder=holder.pk, fields=["name"]))
