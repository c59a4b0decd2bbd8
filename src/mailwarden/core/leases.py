"""Leases: a named duty that exactly one process holds at a time, taken over when its holder dies.

Several ``serve`` processes (on one machine or behind a load balancer) share one database, and
only one of them may run the background work. Each asks for the lease every cycle: the holder
renews it, the others take it only once it has expired. A process that dies stops renewing, so
another takes over one ``ttl`` later; one that stops cleanly gives the lease up at once.

A row in the database works the same on SQLite and PostgreSQL, and across machines, as long as
their clocks agree to well within the ``ttl`` (they run NTP in any real deployment).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from mailwarden.core.models import Lease

BACKGROUND = "background-work"


def holder_name() -> str:
    """This process, as other processes and the operator see it."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def acquire(name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` until ``now + ttl``; whether ``holder`` now holds it."""
    until = now + ttl
    lease = Lease.objects.filter(name=name)
    if lease.filter(holder=holder).update(expires_at=until):
        return True
    if lease.filter(expires_at__lte=now).update(holder=holder, taken_at=now, expires_at=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, taken_at=now, expires_at=until)
    except IntegrityError:
        # Another process holds it and it has not expired.
        return False
    return True


def release(name: str, holder: str) -> None:
    """Give the lease up now, so another process need not wait for it to expire."""
    Lease.objects.filter(name=name, holder=holder).delete()


def current(name: str) -> Lease | None:
    return Lease.objects.filter(name=name).first()
