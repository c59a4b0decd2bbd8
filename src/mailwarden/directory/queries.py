"""Read-side queries of the directory, for its pages, its API and the apps above it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mailwarden.core import ledger
from mailwarden.core.errors import NotFound
from mailwarden.core.plugins import HistoryLine
from mailwarden.directory.models import Recipient, Site


def people_matching(
    q: str, *, active_only: bool = False, site: Site | None = None
) -> QuerySet[Recipient]:
    """People whose name, email or department contains ``q``, or whose employee ID is ``q``,
    in name order; only those at ``site`` when given."""
    people = Recipient.objects.select_related("department", "site")
    if active_only:
        people = people.filter(active=True)
    if site is not None:
        people = people.filter(site=site)
    q = q.strip()
    if q:
        people = people.filter(
            Q(last_name__icontains=q)
            | Q(first_name__icontains=q)
            | Q(preferred_name__icontains=q)
            | Q(email__icontains=q)
            | Q(employee_id__iexact=q)
            | Q(department__name__icontains=q)
        )
    return people.order_by("last_name", "first_name", "id")


def site_by_code(code: str, *, field: str = "site") -> Site:
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site {code!r}", field)
    return site


def recipient_by_id(recipient_id: int) -> Recipient:
    recipient = (
        Recipient.objects.select_related("department", "site", "manager", "user")
        .filter(pk=recipient_id)
        .first()
    )
    if recipient is None:
        raise NotFound(f"no recipient {recipient_id}", "recipient_id")
    return recipient


# What each of a person's own ledger entries says, in words.
RECORD_CHANGES = {
    "directory.recipient.created": "Added to the directory",
    "directory.recipient.updated": "Details changed",
    "directory.recipient.deactivated": "Deactivated",
    "directory.recipient.reactivated": "Reactivated",
    "directory.recipient.unlinked": "Removed by the identity provider; deactivated",
}

FIELD_WORDS = {
    "first_name": "first name",
    "last_name": "last name",
    "preferred_name": "preferred name",
    "email": "email",
    "phone": "phone",
    "department": "department",
    "mail_stop": "mail stop",
    "site": "site",
    "manager": "manager",
    "scim_user_name": "user name",
    "employee_id": "employee ID",
    "external_id": "external ID",
}


def record_history(recipient: Recipient) -> list[HistoryLine]:
    """The changes to the person's own directory record, from the ledger, oldest first."""
    entries = []
    ids, pending = {recipient.employee_id}, [recipient.employee_id]
    while pending:
        for entry in ledger.entries_for("recipient", pending.pop()):
            entries.append(entry)
            renamed = ledger.entry_data(entry).get("changed", {}).get("employee_id")
            # A change of employee ID is filed under the new one and names the old.
            if isinstance(renamed, list) and renamed and renamed[0] not in ids:
                ids.add(renamed[0])
                pending.append(renamed[0])
    lines = []
    for entry in sorted(entries, key=lambda e: e.seq):
        action = ledger.current_action(entry.action)
        what = RECORD_CHANGES.get(action, action)
        data = ledger.entry_data(entry)
        changed = data.get("changed")
        if isinstance(changed, dict) and changed:
            what += ": " + ", ".join(FIELD_WORDS.get(k, k.replace("_", " ")) for k in changed)
        reason = data.get("reason")
        if reason:
            what += f" ({reason})"
        lines.append(HistoryLine(at=entry.created_at, what=what, actor=entry.actor))
    return lines


def people_found(q: str) -> QuerySet[Recipient]:
    """People for the global search: every word of ``q`` is in their name or email, or ``q`` is
    their employee ID; active people first."""
    words = q.split()
    if not words:
        return Recipient.objects.none()
    match = Q(employee_id__iexact=q.strip())
    by_words = Q()
    for word in words[:6]:
        by_words &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(preferred_name__icontains=word)
            | Q(email__icontains=word)
        )
    return (
        Recipient.objects.select_related("department", "site")
        .filter(match | by_words)
        .order_by("-active", "last_name", "first_name", "id")
    )
