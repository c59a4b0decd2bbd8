"""Purging items' photos and hand-over signatures under the sites' retention rules.

An item at the end of its custody (picked up, delivered, returned, destroyed, handed to the
authorities) keeps its photo and signatures for the site's ``media_days`` after that last step
(docs/retention.md). Then :func:`purge_content` removes the files; the item keeps the hashes (in
``photo_sha256`` and on the ledger), and one ledger entry on the item names what went, when and
under which rule, so its custody export can say so. One entry per item rather than per run:
the export reads the item's own entries, and an auditor finds the purge beside the item's steps.

A held item (its own legal hold, or a higher app's) is skipped. A file another live row still
uses, in this app or any other (``core.plugins.media_in_use``), is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from mailwarden.core import ledger, plugins
from mailwarden.core.actor import Actor
from mailwarden.core.tasks import periodic
from mailwarden.custody.legal_holds import held_uids
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import TERMINAL
from mailwarden.directory.retention import RetentionRun, due_to_run, rules_by_site

log = logging.getLogger(__name__)

RETENTION = Actor.job("custody.retention")
# One run purges at most this many items; the next run goes on where it stopped.
MAX_PER_RUN = 500
PURGED = "custody.content.purged"


def _due(now: datetime) -> list[tuple[int, str, str]]:
    """(item id, uid, rule) of the items whose content the rules remove now, oldest first."""
    found: list[tuple[datetime, int, str, str]] = []
    for site_id, rules in rules_by_site().items():
        if not rules.media_days:
            continue
        cutoff = now - timedelta(days=rules.media_days)
        rows = (
            MailItem.objects.filter(
                site_id=site_id,
                state__in=[s.value for s in TERMINAL],
                state_changed_at__lt=cutoff,
                content_purged_at__isnull=True,
            )
            .order_by("state_changed_at", "id")
            .values_list("state_changed_at", "pk", "uid")[:MAX_PER_RUN]
        )
        found += [(at, pk, uid, rules.media_rule()) for at, pk, uid in rows]
    found.sort()
    return [(pk, uid, rule) for _, pk, uid, rule in found[:MAX_PER_RUN]]


def _signatures(items: Collection[MailItem]) -> dict[str, list[str]]:
    """The signature drawn at each item's hand-over (kept on the item beside its ledger entry)."""
    return {item.uid: [item.signature_sha256] for item in items if item.signature_sha256}


def purge_content(now: datetime, *, dry_run: bool = False) -> RetentionRun:
    """Remove the photos and signatures the rules no longer keep (see the module's docstring)."""
    run = RetentionRun("custody.purge_content", dry_run=dry_run)
    plan = _due(now)
    held = held_uids([uid for _, uid, _ in plan])
    plan = [(pk, uid, rule) for pk, uid, rule in plan if uid not in held]
    if dry_run:
        run.subjects = [f"item {uid}: {rule}" for _, uid, rule in plan]
        return run
    if not plan:
        return run
    rule_of = {pk: rule for pk, _, rule in plan}
    with transaction.atomic():
        # Another process running the same job purges each item once: the second finds them
        # purged under the lock. A hold placed meanwhile is seen here too.
        items = list(
            MailItem.objects.select_for_update()
            .filter(pk__in=rule_of, content_purged_at__isnull=True, legal_hold_reason="")
            .order_by("state_changed_at", "id")
        )
        # A higher app's hold placed since the plan was made counts too.
        late = held_uids([item.uid for item in items])
        items = [item for item in items if item.uid not in late]
        if not items:
            return run
        signatures = _signatures(items)
        records: list[ledger.Record] = []
        candidates: set[str] = set()
        for item in items:
            item.content_purged_at, item.content_purged_rule = now, rule_of[item.pk]
            removed: dict[str, Any] = {}
            if item.photo_sha256:
                removed["photo"] = item.photo_sha256
            if signatures.get(item.uid):
                removed["signatures"] = signatures[item.uid]
            candidates |= {item.photo_sha256, *signatures.get(item.uid, [])} - {""}
            # An item without a photo or signature has nothing to purge: it is only marked, so
            # the next run does not look at it again.
            if removed:
                records.append(
                    ledger.Record(
                        PURGED,
                        "mailitem",
                        item.uid,
                        {"rule": item.content_purged_rule, **removed},
                    )
                )
                run.subjects.append(f"item {item.uid}: {item.content_purged_rule}")
        MailItem.objects.bulk_update(items, ["content_purged_at", "content_purged_rule"])
        run.files = plugins.release_unused_media(candidates)
        ledger.append_many(RETENTION, records, at=now)
    return run


def media_in_use(digests: Collection[str]) -> set[str]:
    """The ``media_in_use`` hook: photos and signatures of items whose content is still kept."""
    wanted = list(digests)
    live = MailItem.objects.filter(content_purged_at__isnull=True)
    used = set(live.filter(photo_sha256__in=wanted).values_list("photo_sha256", flat=True))
    used |= set(live.filter(signature_sha256__in=wanted).values_list("signature_sha256", flat=True))
    return used


@periodic("custody.purge_content")
def scheduled_purge(now: datetime) -> int:
    if not due_to_run("custody.purge_content", now):
        return 0
    return len(purge_content(now).subjects)
