"""Scheduled backups: one a day from ``backup.schedule_hour`` (UTC), then pruning.

Pruning keeps, as restic's ``forget --keep-daily/--keep-weekly/--keep-monthly`` does, the newest
archive of each of the last N days, N ISO weeks and N months that have one, read from the time
in each archive's name; the newest archive is always kept. The periodic job only decides and
starts: the backup itself runs in a thread of its own, so the tick is never held up by it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from mailwarden.config import BackupConfig, get_settings
from mailwarden.core.backup import create, secrets
from mailwarden.core.backup.archive import time_of
from mailwarden.core.backup.targets import Target, parse
from mailwarden.core.tasks import periodic

log = logging.getLogger(__name__)


def keep(names: Iterable[str], config: BackupConfig) -> set[str]:
    """The archives the keep rules hold on to."""
    dated = sorted(((t, n) for n in names if (t := time_of(n)) is not None), reverse=True)
    kept: set[str] = set()
    if dated:
        kept.add(dated[0][1])
    rules: list[tuple[int, Callable[[datetime], object]]] = [
        (config.keep_daily, lambda t: t.date()),
        (config.keep_weekly, lambda t: t.isocalendar()[:2]),
        (config.keep_monthly, lambda t: (t.year, t.month)),
    ]
    for count, bucket in rules:
        seen: list[object] = []
        for at, name in dated:  # newest first, so each bucket keeps its newest archive
            key = bucket(at)
            if key in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(key)
            kept.add(name)
    return kept


@dataclass(frozen=True)
class Pruned:
    kept: list[str]
    deleted: list[str]


def prune(target: Target, config: BackupConfig) -> Pruned:
    names = target.names()
    kept = keep(names, config)
    deleted = [n for n in names if n not in kept]
    for name in deleted:
        target.delete(name)
    return Pruned(sorted(kept), deleted)


def due(names: Iterable[str], now: datetime, config: BackupConfig) -> bool:
    """Whether today's backup (UTC) is due: past the hour, and none taken yet today."""
    if now.hour < config.schedule_hour:
        return False
    today = now.date()
    return not any((t := time_of(n)) is not None and t.date() == today for n in names)


_running = threading.Lock()
# The day a backup was last found or taken, so the target is listed once a day at most.
_done_on: list[object] = []


def run_if_due(now: datetime, *, wait: bool = False) -> int:
    """Start today's backup if it is due; 1 when one was started. ``wait`` runs it here."""
    config = get_settings().backup
    if not config.to or now.hour < config.schedule_hour or now.date() in _done_on:
        return 0
    target = parse(config.to, config)
    if not due(target.names(), now, config):
        _done_on[:] = [now.date()]
        return 0
    if not _running.acquire(blocking=False):
        return 0  # the previous one is still running
    passphrase = os.environ.get(secrets.PASSPHRASE_VARIABLE) if config.with_secrets else None
    if config.with_secrets and not passphrase:
        _running.release()
        log.error("scheduled backup skipped: with_secrets needs %s", secrets.PASSPHRASE_VARIABLE)
        _done_on[:] = [now.date()]
        return 0

    def work() -> None:
        from django.db import connections

        try:
            result = create.backup(config.to, now=now, passphrase=passphrase)
            pruned = prune(target, config)
            log.info(
                "backup written to %s (%d bytes); %d pruned",
                result.location,
                result.size,
                len(pruned.deleted),
            )
        except Exception:
            # Tried once a day: a failure retried on every tick would hammer the target.
            log.exception("scheduled backup failed")
        finally:
            _done_on[:] = [now.date()]
            if not wait:
                connections.close_all()  # this thread's own connections
            _running.release()

    if wait:
        work()
    else:
        threading.Thread(target=work, name="mailwarden-backup", daemon=True).start()
    return 1


def forget_today() -> None:
    """Forget which day was done (tests move the clock back and forth)."""
    _done_on.clear()


@periodic("backup")
def scheduled(now: datetime) -> int:
    return run_if_due(now)
