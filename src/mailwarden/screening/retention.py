"""Purging X-ray images under the sites' retention rules (docs/retention.md).

An item's scans keep their images for its site's ``media_days`` after the item's last step,
like its photo (``custody.retention``). Then :func:`purge_images` removes the files the scans
name (as delivered, and the pseudo-colour rendering); each scan keeps its hashes, regions and
score, and says when and under which rule its images went. One ledger entry per item, on the
item, so its custody export names the purge beside its steps. A held item is skipped, and a
file another live row uses (here or in any app) is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.db import transaction

from mailwarden.core import ledger, plugins
from mailwarden.core.actor import Actor
from mailwarden.core.tasks import periodic
from mailwarden.custody.legal_holds import held_uids
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import TERMINAL
from mailwarden.directory.retention import RetentionRun, due_to_run, rules_by_site
from mailwarden.screening.models import Scan

log = logging.getLogger(__name__)

RETENTION = Actor.job("screening.retention")
# One run purges the scans of at most this many items; the next run goes on.
MAX_PER_RUN = 500
PURGED = "screening.xray_images.purged"


def _files(scan: Scan) -> list[str]:
    hashes = (scan.file_sha256, scan.high_sha256, scan.low_sha256, scan.rendered_sha256)
    return [h for h in dict.fromkeys(hashes) if h]


def _due(now: datetime) -> list[tuple[str, str]]:
    """(item uid, rule) of the items whose scans' images the rules remove now, oldest first."""
    found: list[tuple[datetime, str, str]] = []
    for site_id, rules in rules_by_site().items():
        if not rules.media_days:
            continue
        cutoff = now - timedelta(days=rules.media_days)
        # Every ordering column is selected, so DISTINCT means the same on PostgreSQL.
        rows = (
            MailItem.objects.filter(
                site_id=site_id,
                state__in=[s.value for s in TERMINAL],
                state_changed_at__lt=cutoff,
                scans__images_purged_at__isnull=True,
                scans__isnull=False,
            )
            .order_by("state_changed_at", "id")
            .values_list("state_changed_at", "id", "uid")
            .distinct()[:MAX_PER_RUN]
        )
        found += [(at, uid, rules.media_rule()) for at, _, uid in rows]
    found.sort()
    unique = dict.fromkeys((uid, rule) for _, uid, rule in found)
    return list(unique)[:MAX_PER_RUN]


def purge_images(now: datetime, *, dry_run: bool = False) -> RetentionRun:
    """Remove the X-ray images the rules no longer keep (see the module's docstring)."""
    run = RetentionRun("screening.purge_images", dry_run=dry_run)
    plan = _due(now)
    held = held_uids([uid for uid, _ in plan])
    rule_of = {uid: rule for uid, rule in plan if uid not in held}
    if dry_run:
        run.subjects = [f"item {uid}: {rule}" for uid, rule in rule_of.items()]
        return run
    if not rule_of:
        return run
    with transaction.atomic():
        # Locked, and looked at again: another run may have purged them, or a hold come since.
        scans = list(
            Scan.objects.select_for_update(of=("self",))
            .select_related("item")
            .filter(item__uid__in=rule_of, images_purged_at__isnull=True)
            .filter(item__legal_hold_reason="")
            .order_by("item_id", "id")
        )
        # A higher app's hold placed since the plan was made counts too.
        late = held_uids({scan.item.uid for scan in scans})
        scans = [scan for scan in scans if scan.item.uid not in late]
        by_item: dict[str, list[Scan]] = {}
        for scan in scans:
            scan.images_purged_at, scan.images_purged_rule = now, rule_of[scan.item.uid]
            by_item.setdefault(scan.item.uid, []).append(scan)
        Scan.objects.bulk_update(scans, ["images_purged_at", "images_purged_rule"])
        records = [
            ledger.Record(
                PURGED,
                "mailitem",
                uid,
                {
                    "rule": rule_of[uid],
                    "scans": [{"scan": s.pk, "images": _files(s)} for s in item_scans],
                },
            )
            for uid, item_scans in by_item.items()
        ]
        ledger.append_many(RETENTION, records, at=now)
        run.subjects = [f"item {uid}: {rule_of[uid]}" for uid in by_item]
        candidates = {h for s in scans for h in _files(s)}
        run.files = plugins.release_unused_media(candidates)
    return run


def media_in_use(digests: Collection[str]) -> set[str]:
    """The ``media_in_use`` hook: images of scans not purged."""
    wanted = list(digests)
    live = Scan.objects.filter(images_purged_at__isnull=True)
    used: set[str] = set()
    for column in ("file_sha256", "high_sha256", "low_sha256", "rendered_sha256"):
        used |= set(live.filter(**{f"{column}__in": wanted}).values_list(column, flat=True))
    return used


@periodic("screening.purge_images")
def scheduled_purge(now: datetime) -> int:
    if not due_to_run("screening.purge_images", now):
        return 0
    return len(purge_images(now).subjects)
