"""Every change to the directory is one function here: sites, locations, departments and people.

Each takes an explicit actor, validates, writes and appends to the ledger in one transaction.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_DIRECTORY
from mailwarden.directory.models import Department, Location, LocationKind, Recipient, Site
from mailwarden.directory.queries import site_by_code

if TYPE_CHECKING:
    from mailwarden.directory.csv_import import RecipientRow

# ----------------------------------------------------------------------------- sites


def _check_timezone(timezone: str) -> None:
    if timezone not in zoneinfo.available_timezones():
        raise ServiceError(f"{timezone!r} is not an IANA time zone", "timezone")


def create_site(
    actor: Actor, *, code: str, name: str, timezone: str = "UTC", address: str = ""
) -> Site:
    require(actor, MANAGE_DIRECTORY, "creating a site")
    _check_timezone(timezone)
    if not code.strip():
        raise ServiceError("a site needs a code", "code")
    with transaction.atomic():
        if Site.objects.filter(code=code).exists():
            raise Conflict(f"a site with code {code!r} exists already", "code")
        site = Site.objects.create(code=code, name=name or code, timezone=timezone, address=address)
        ledger.append(
            actor, "directory.site.created", "site", code, {"name": site.name, "tz": timezone}
        )
    return site


def update_site(actor: Actor, code: str, *, name: str, timezone: str, address: str = "") -> Site:
    require(actor, MANAGE_DIRECTORY, "changing a site")
    _check_timezone(timezone)
    if not name.strip():
        raise ServiceError("a site needs a name", "name")
    with transaction.atomic():
        site = site_by_code(code, field="code")
        before = {"name": site.name, "tz": site.timezone, "address": site.address}
        after = {"name": name.strip(), "tz": timezone, "address": address.strip()}
        changed = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        if not changed:
            return site
        site.name, site.timezone, site.address = after["name"], timezone, after["address"]
        site.save(update_fields=["name", "timezone", "address"])
        ledger.append(actor, "directory.site.updated", "site", code, {"changed": changed})
    return site


# ----------------------------------------------------------------------------- locations


def create_location(actor: Actor, *, site_code: str, code: str, name: str, kind: str) -> Location:
    require(actor, MANAGE_DIRECTORY, "creating a location")
    if kind not in LocationKind.values:
        raise ServiceError(
            f"unknown location kind {kind!r}; choose one of {', '.join(LocationKind.values)}",
            "kind",
        )
    if not code.strip():
        raise ServiceError("a location needs a code", "code")
    with transaction.atomic():
        site = site_by_code(site_code)
        if Location.objects.filter(site=site, code=code).exists():
            raise Conflict(f"location {code!r} exists already at {site.code}", "code")
        loc = Location.objects.create(site=site, code=code, name=name or code, kind=kind)
        ledger.append(
            actor, "directory.location.created", "location", f"{site.code}/{code}", {"kind": kind}
        )
    return loc


# ----------------------------------------------------------------------------- departments


def _department(name: str) -> Department | None:
    """The department of that name, made on first use; names match without regard to case."""
    clean = " ".join(name.split())
    if not clean:
        return None
    found = Department.objects.filter(name__iexact=clean).first()
    return found or Department.objects.create(name=clean)


# ----------------------------------------------------------------------------- people


@dataclass
class RecipientData:
    employee_id: str
    first_name: str
    last_name: str
    email: str
    preferred_name: str = ""
    phone: str = ""
    department: str = ""
    mail_stop: str = ""
    manager_employee_id: str | None = None
    # The code of the site the person works at; empty: none known.
    site: str | None = None
    # The identity provider's user name and ID for the person (SCIM); None leaves them as they
    # are, "" clears them.
    user_name: str | None = None
    external_id: str | None = None


def _site(code: str | None, field: str = "site") -> Site | None:
    if not code or not code.strip():
        return None
    return site_by_code(code.strip(), field=field)


# The limits of Recipient's columns, with the words a refusal uses for each.
_LIMITS = (
    ("employee_id", "employee ID", 40, True),
    ("first_name", "first name", 80, True),
    ("last_name", "last name", 80, True),
    ("preferred_name", "preferred name", 80, False),
    ("email", "email", 254, True),
    ("phone", "phone number", 20, False),
    ("department", "department", 120, False),
    ("mail_stop", "mail stop", 40, False),
)


# An address's shape only: the console's form and the API check it strictly, and a directory
# (a CSV, an identity provider) may hold internationalised addresses such as müller@example.org.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_person(data: RecipientData) -> None:
    """Refuse, naming the field, what the columns would not hold; trims the text in place."""
    for name, words, limit, required in _LIMITS:
        value = " ".join(str(getattr(data, name) or "").split())
        setattr(data, name, value)
        if required and not value:
            raise ServiceError(f"a recipient needs a {words}", name)
        if len(value) > limit:
            raise ServiceError(f"the {words} is longer than {limit} characters", name)
    if not _EMAIL.fullmatch(data.email):
        raise ServiceError(f"{data.email!r} is not an email address", "email")
    if data.user_name is not None:
        data.user_name = data.user_name.strip()
        if len(data.user_name) > 254:
            raise ServiceError("the user name is longer than 254 characters", "user_name")
    if data.external_id is not None:
        data.external_id = data.external_id.strip()
        if len(data.external_id) > 255:
            raise ServiceError("the external ID is longer than 255 characters", "external_id")


def _check_user_name_free(user_name: str | None, recipient: Recipient | None = None) -> None:
    if not user_name:
        return
    taken = Recipient.objects.filter(scim_user_name__iexact=user_name)
    if recipient is not None:
        taken = taken.exclude(pk=recipient.pk)
    if taken.exists():
        raise Conflict(f"the user name {user_name!r} is someone else's already", "user_name")


def create_recipient(actor: Actor, data: RecipientData) -> Recipient:
    require(actor, MANAGE_DIRECTORY, "adding a recipient")
    _check_person(data)
    with transaction.atomic():
        if Recipient.objects.filter(employee_id=data.employee_id).exists():
            raise Conflict(f"employee {data.employee_id} exists already", "employee_id")
        _check_user_name_free(data.user_name)
        site = _site(data.site)
        manager = _manager(data.manager_employee_id)
        recipient = Recipient.objects.create(
            scim_user_name=data.user_name or "",
            external_id=data.external_id or "",
            employee_id=data.employee_id,
            first_name=data.first_name,
            last_name=data.last_name,
            preferred_name=data.preferred_name,
            email=data.email,
            phone=data.phone,
            department=_department(data.department),
            mail_stop=data.mail_stop,
            site=site,
            manager=manager,
        )
        ledger.append(
            actor,
            "directory.recipient.created",
            "recipient",
            data.employee_id,
            {
                **({"site": site.code} if site else {}),
                **({"user_name": data.user_name} if data.user_name else {}),
            },
        )
    return recipient


def update_recipient(actor: Actor, employee_id: str, data: RecipientData) -> Recipient:
    """Change a person's details; the ledger names what changed. ``data.employee_id`` is the
    person's new employee ID when it differs (directory sync may change it)."""
    require(actor, MANAGE_DIRECTORY, "changing a recipient")
    _check_person(data)
    with transaction.atomic():
        recipient = (
            Recipient.objects.select_for_update(of=("self",))
            .select_related("department", "site", "manager")
            .filter(employee_id=employee_id)
            .first()
        )
        if recipient is None:
            raise NotFound(f"no recipient with employee id {employee_id}", "employee_id")
        manager = _manager(data.manager_employee_id)
        if manager is not None and manager.pk == recipient.pk:
            raise ServiceError("a person cannot be their own manager", "manager_employee_id")
        site = _site(data.site)
        department = _department(data.department)
        after = {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "preferred_name": data.preferred_name,
            "email": data.email,
            "phone": data.phone,
            "department": department,
            "mail_stop": data.mail_stop,
            "site": site,
            "manager": manager,
        }
        if data.user_name is not None:
            _check_user_name_free(data.user_name, recipient)
            after["scim_user_name"] = data.user_name
        if data.external_id is not None:
            after["external_id"] = data.external_id
        if data.employee_id != employee_id:
            # The ledger names a person by employee ID: the entry of a new one is filed under
            # it and names the old, so the person's history follows them (record_history).
            if Recipient.objects.filter(employee_id=data.employee_id).exists():
                raise Conflict(f"employee {data.employee_id} exists already", "employee_id")
            after["employee_id"] = data.employee_id
        changed = {}
        for name, value in after.items():
            before = getattr(recipient, name)
            if before != value:
                changed[name] = [_plain(before), _plain(value)]
                setattr(recipient, name, value)
        if changed:
            recipient.save(update_fields=list(changed))
            ledger.append(
                actor,
                "directory.recipient.updated",
                "recipient",
                recipient.employee_id,
                {"changed": changed},
            )
    return recipient


def _locked(employee_id: str) -> Recipient:
    recipient = (
        Recipient.objects.select_for_update(of=("self",)).filter(employee_id=employee_id).first()
    )
    if recipient is None:
        raise NotFound(f"no recipient with employee id {employee_id}", "employee_id")
    return recipient


def deactivate_recipient(actor: Actor, employee_id: str, reason: str = "") -> Recipient:
    """Take a person off the directory's active list: intake no longer offers them, and their
    items and history stay. Deactivating someone already inactive changes nothing."""
    require(actor, MANAGE_DIRECTORY, "deactivating a recipient")
    reason = " ".join(reason.split())
    if len(reason) > 500:
        raise ServiceError("the reason is longer than 500 characters", "reason")
    with transaction.atomic():
        recipient = _locked(employee_id)
        if recipient.active:
            recipient.active, recipient.deactivated_at = False, clock.now()
            recipient.save(update_fields=["active", "deactivated_at"])
            ledger.append(
                actor,
                "directory.recipient.deactivated",
                "recipient",
                employee_id,
                {"reason": reason} if reason else {},
            )
    return recipient


def reactivate_recipient(actor: Actor, employee_id: str) -> Recipient:
    require(actor, MANAGE_DIRECTORY, "reactivating a recipient")
    with transaction.atomic():
        recipient = _locked(employee_id)
        if not recipient.active:
            recipient.active, recipient.deactivated_at = True, None
            recipient.save(update_fields=["active", "deactivated_at"])
            ledger.append(actor, "directory.recipient.reactivated", "recipient", employee_id, {})
    return recipient


def unlink_recipient(actor: Actor, employee_id: str) -> Recipient:
    """The identity provider deleted the person: they are deactivated and no longer synced.

    A recipient is never deleted, since their items and the ledger name them; a later sync of
    the same person makes a new link.
    """
    require(actor, MANAGE_DIRECTORY, "removing a recipient from directory sync")
    with transaction.atomic():
        recipient = _locked(employee_id)
        if not recipient.scim_user_name and not recipient.active:
            return recipient
        data = {"user_name": recipient.scim_user_name, "was_active": recipient.active}
        if recipient.active:
            recipient.deactivated_at = clock.now()
        recipient.scim_user_name, recipient.external_id, recipient.active = "", "", False
        recipient.save(update_fields=["scim_user_name", "external_id", "active", "deactivated_at"])
        ledger.append(actor, "directory.recipient.unlinked", "recipient", employee_id, data)
    return recipient


def _plain(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Site):
        return value.code
    if isinstance(value, Recipient):
        return value.employee_id
    return str(value)


def _manager(employee_id: str | None) -> Recipient | None:
    if not employee_id:
        return None
    manager = Recipient.objects.filter(employee_id=employee_id).first()
    if manager is None:
        raise ServiceError(f"no recipient with employee id {employee_id}", "manager_employee_id")
    return manager


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def import_recipients(actor: Actor, text: str) -> ImportResult:
    """Import a CSV whole or not at all: any bad row refuses the file (CsvImportError)."""
    from mailwarden.directory.csv_import import CsvImportError, RowError, parse_recipients_csv

    require(actor, MANAGE_DIRECTORY, "importing recipients")
    rows = parse_recipients_csv(text)
    created = updated = 0
    with transaction.atomic():
        by_id = {
            r.employee_id: r
            for r in Recipient.objects.filter(employee_id__in=[row.employee_id for row in rows])
        }
        departments: dict[str, Department | None] = {}
        sites = _import_sites(rows)
        for row in rows:
            key = " ".join((row.department or "").split()).casefold()
            if key not in departments:
                departments[key] = _department(row.department or "")
            fields: dict[str, Any] = {
                "first_name": row.first_name,
                "last_name": row.last_name,
                "preferred_name": row.preferred_name or "",
                "email": row.email,
                "phone": row.phone or "",
                "department": departments[key],
                "mail_stop": row.mail_stop or "",
            }
            if "site" in row.model_fields_set:
                # A file without the column leaves everyone's site as it was.
                fields["site"] = sites.get(row.site or "")
            existing = by_id.get(row.employee_id)
            if existing is None:
                by_id[row.employee_id] = Recipient.objects.create(
                    employee_id=row.employee_id, **fields
                )
                created += 1
            else:
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.save()
                updated += 1
        # Managers second, so a file may name a manager who appears further down.
        for line, row in enumerate(rows, start=2):
            if not row.manager_employee_id:
                continue
            manager = (
                by_id.get(row.manager_employee_id)
                or Recipient.objects.filter(employee_id=row.manager_employee_id).first()
            )
            if manager is None:
                raise CsvImportError(
                    [
                        RowError(
                            line, "manager_employee_id", f"no employee {row.manager_employee_id}"
                        )
                    ]
                )
            Recipient.objects.filter(employee_id=row.employee_id).update(manager=manager)
        ledger.append(
            actor,
            "directory.recipient.imported",
            "recipient",
            "*",
            {"created": created, "updated": updated},
        )
    return ImportResult(created, updated)


def _import_sites(rows: list[RecipientRow]) -> dict[str, Site]:
    from mailwarden.directory.csv_import import CsvImportError, RowError

    codes = {row.site for row in rows if row.site}
    sites = {s.code: s for s in Site.objects.filter(code__in=codes)}
    unknown = [
        RowError(line, "site", f"no site {row.site!r}")
        for line, row in enumerate(rows, start=2)
        if row.site and row.site not in sites
    ]
    if unknown:
        raise CsvImportError(unknown)
    return sites
