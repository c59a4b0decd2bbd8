"""Answering a controller's poll for its rules: publishing a new version when they changed, and
sending a signed snapshot or delta."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from mailwarden.access import snapshots
from mailwarden.access.models import AccessController, AlarmKind, RulePublication
from mailwarden.access.services.alarms import clear_alarms
from mailwarden.access.services.common import (
    MAX_DB_INT,
    controller_with_site,
    site_rules,
    speaks_for,
)
from mailwarden.access.services.credentials import ensure_pin_policy
from mailwarden.contracts import events
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.edge.signing import DocumentKind, sign_document

# ----------------------------------------------------------------------------- rule sync


@dataclass(frozen=True)
class RulesAnswer:
    """What a poll gets: nothing new, or a signed snapshot or delta (``document``)."""

    version: int
    document: bytes | None = None
    kind: DocumentKind | None = None

    @property
    def up_to_date(self) -> bool:
        return self.document is None


KEEP_PUBLICATIONS = 50


def sync_rules(
    actor: Actor, controller: str, since: int | None, now: datetime | None = None
) -> RulesAnswer:
    """Answer the poll of controller ``controller`` (its name), publishing a new rule version
    first if the rules changed.

    Versions are the controller's own and step by one per published change, because a
    ``RuleDelta`` moves exactly one version: a controller that was current at its last poll is
    always one delta away, however many changes the site saw in between. A controller holding
    an older version, or none, gets the full snapshot.
    """
    speaks_for(actor, controller, "syncing a controller's rules")
    now = now or clock.now()
    if since is not None and not 0 <= since < MAX_DB_INT:
        raise ServiceError(f"must be 0 to {MAX_DB_INT - 1}", "since")
    with transaction.atomic():
        ctl = controller_with_site(controller, lock=True)
        ctl.last_seen_at = now
        # Read before building, so a change committed while building is rebuilt next time.
        site_version = site_rules(ctl.site).version
        latest = ctl.publications.order_by("-version").first()
        stale = latest is None or ctl.built_site_version != site_version
        ahead = since is not None and since > (latest.version if latest else 0)
        if stale or ahead:
            latest = _publish(actor, ctl, latest, site_version, since if ahead else None, now)
            ctl.built_site_version = site_version
        ctl.save(update_fields=["last_seen_at", "built_site_version"])
        clear_alarms(ctl.site, AlarmKind.CONTROLLER_OFFLINE, now, controller=ctl)
        if latest is not None and since == latest.version:
            clear_alarms(ctl.site, AlarmKind.RULES_REJECTED, now, controller=ctl)
    assert latest is not None
    if since == latest.version:
        return RulesAnswer(latest.version)
    secret = bytes.fromhex(ctl.sync_secret)
    base = None
    if since is not None and since == latest.version - 1:
        base = ctl.publications.filter(version=since).first()
    delta = snapshots.delta(base.snapshot, latest.snapshot) if base is not None else None
    if delta is not None:
        return RulesAnswer(
            latest.version,
            sign_document(DocumentKind.DELTA, delta, secret, ctl.name),
            DocumentKind.DELTA,
        )
    return RulesAnswer(
        latest.version,
        sign_document(DocumentKind.SNAPSHOT, latest.snapshot, secret, ctl.name),
        DocumentKind.SNAPSHOT,
    )


def _publish(
    actor: Actor,
    ctl: AccessController,
    latest: RulePublication | None,
    site_version: int,
    claimed: int | None,
    now: datetime,
) -> RulePublication:
    """A new publication when the content changed (or the controller claims a version beyond
    the last one, as after restoring the server from a backup: its engine accepts only a newer
    version, so the next one starts above what it holds)."""
    current = latest.version if latest else 0
    built = snapshots.build_snapshot(
        ctl, ensure_pin_policy(actor), version=max(current, claimed or 0) + 1, issued_at=now
    )
    content_hash = snapshots.content_hash(built)
    if latest is not None and claimed is None and content_hash == latest.content_hash:
        return latest
    publication = RulePublication.objects.create(
        controller=ctl,
        version=built.version,
        site_version=site_version,
        content_hash=content_hash,
        snapshot=built.model_dump(mode="json"),
        created_at=now,
    )
    keep_from = publication.version - KEEP_PUBLICATIONS + 1
    RulePublication.objects.filter(controller=ctl, version__lt=keep_from).delete()
    published = events.RulesPublished(
        controller=ctl.name,
        version=publication.version,
        site_version=site_version,
        content_hash=content_hash,
        credentials=len(built.credentials),
        controller_claimed=claimed,
    )
    outbox.emit(published)
    # The entry names the controller as its subject, and a claimed version only when there is one.
    data = published.model_dump(exclude={"controller"}, exclude_none=True)
    ledger.append(actor, "access.rules.published", "controller", ctl.name, data)
    return publication
