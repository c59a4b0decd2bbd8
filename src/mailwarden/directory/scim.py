"""SCIM 2.0 (RFC 7643/7644) as the directory speaks it: what a synced person looks like as a
SCIM ``User`` with the enterprise extension, and back.

The parsing and serialising are scim2-models'; this module only maps its models onto recipients
and says what the service offers. The endpoints are in ``scim_views``, and every change goes
through ``directory.services`` with the identity provider's token as the actor.
"""

from __future__ import annotations

import re
import secrets
from functools import cache
from typing import Annotated, Any

from scim2_models import (
    URN,
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Meta,
    Mutability,
    Patch,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
)

from mailwarden.core.errors import ServiceError
from mailwarden.directory.models import Recipient
from mailwarden.directory.services import RecipientData

# Devices whose name starts with this are identity providers pushing SCIM, and their tokens
# reach nothing but the SCIM endpoints (the directory's device scope).
SCIM_DEVICE_PREFIX = "scim-"
SCIM_OPERATIONS = frozenset(
    {
        "scim_users",
        "scim_user",
        "scim_users_search",
        "scim_search",
        "scim_service_provider_config",
        "scim_resource_types",
        "scim_resource_type",
        "scim_schemas",
        "scim_schema",
        "scim_unknown",
    }
)
MAX_PAGE = 200
GENERATED = "scim-"


# The service publishes the core User and enterprise schemas cut down to what a recipient
# holds, so an identity provider (and scim2-tester) sees exactly the attributes that are kept.


class PersonName(ComplexAttribute):
    family_name: Annotated[str | None, Required.true] = None
    given_name: Annotated[str | None, Required.true] = None


class EmailAddress(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None


class Phone(ComplexAttribute):
    value: str | None = None


class MailroomUser(Resource[AnyExtension]):
    """A recipient as a SCIM ``User``. Mail needs somewhere to send the notice that a parcel
    has come, so an email address is required."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Required.true] = None
    # A recipient always has a name, and is always either active or not.
    name: Annotated[PersonName | None, Required.true] = None
    display_name: Annotated[str | None, Mutability.read_only] = None
    nick_name: str | None = None
    emails: Annotated[list[EmailAddress] | None, Required.true] = None
    phone_numbers: list[Phone] | None = None
    active: Annotated[bool | None, Required.true] = None


class MailroomEnterprise(Extension):
    __schema__ = URN("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")

    # The recipient's employee ID. A person synced without one gets one made up (GENERATED),
    # which is not shown as their employee number.
    employee_number: str | None = None
    department: str | None = None


ScimUser = MailroomUser[MailroomEnterprise]

# Read payloads as Microsoft Entra and Okta send them: attributes a recipient does not hold
# are dropped rather than refused, a PATCH remove may carry the value it removes, and a PATCH
# on ``emails[type eq "work"].value`` makes the entry it names.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def scim_scope(device: str) -> frozenset[str] | None:
    """The operations an identity provider's token may call; None for any other device."""
    return SCIM_OPERATIONS if device.startswith(SCIM_DEVICE_PREFIX) else None


@cache
def provider() -> ScimProvider:
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_PAGE),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A mailwarden device token for a device named scim-…, sent as "
                "Authorization: Bearer mw_…",
                primary=True,
            )
        ],
    )
    return ScimProvider(
        models=[MailroomUser, MailroomEnterprise],
        resource_types=[ResourceType.from_resource(ScimUser)],
        config=config,
        policy=POLICY,
    )


# ----------------------------------------------------------------------------- recipient → SCIM


def to_scim(recipient: Recipient, location: str) -> ScimUser:
    user = ScimUser(
        id=str(recipient.pk),
        user_name=recipient.scim_user_name,
        external_id=recipient.external_id or None,
        name=PersonName(given_name=recipient.first_name, family_name=recipient.last_name),
        display_name=recipient.display_name,
        nick_name=recipient.preferred_name or None,
        emails=[EmailAddress(value=recipient.email)],
        phone_numbers=[Phone(value=recipient.phone)] if recipient.phone else None,
        active=recipient.active,
        meta=Meta(resource_type="User", location=location),
    )
    generated = recipient.employee_id.startswith(GENERATED)
    user[MailroomEnterprise] = MailroomEnterprise(
        employee_number=None if generated else recipient.employee_id,
        department=recipient.department_name or None,
    )
    return user


# ----------------------------------------------------------------------------- SCIM → recipient


def _first(values: list[Any] | None) -> Any | None:
    """The first value of a multi-valued attribute: a recipient keeps one address and one phone
    number (and ``one_entry_paths`` reads a provider's typed entries as that one)."""
    return values[0] if values else None


# A provider's path to a typed entry of a multi-valued attribute, as Entra writes them by
# default (``emails[type eq "work"].value``, ``phoneNumbers[type eq "mobile"].value``).
_TYPED_ENTRY = re.compile(r'(emails|phoneNumbers)\[type eq "[^"]*"\](\.value)?', re.IGNORECASE)


def one_entry_paths(payload: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body with each operation on a typed address or phone entry turned into one on the
    recipient's single entry: ``add``/``replace`` of a value sets it, ``remove`` clears it."""
    operations = payload.get("Operations")
    if not isinstance(operations, list):
        return payload
    rewritten = []
    for operation in operations:
        path = operation.get("path") if isinstance(operation, dict) else None
        found = _TYPED_ENTRY.fullmatch(path) if isinstance(path, str) else None
        if found is None:
            rewritten.append(operation)
            continue
        attribute, value = found.group(1), operation.get("value")
        if str(operation.get("op", "")).lower() == "remove":
            rewritten.append({"op": "remove", "path": attribute})
        else:
            entry = value if isinstance(value, dict) else {"value": value}
            rewritten.append({"op": "replace", "path": attribute, "value": [entry]})
    return {**payload, "Operations": rewritten}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def to_data(user: ScimUser, current: Recipient | None) -> tuple[RecipientData, bool]:
    """The recipient a SCIM ``User`` describes, and whether it is active.

    What SCIM does not carry (the person's site, manager and mail stop) stays as it is. A person
    without an employee number gets one made up, since every recipient needs one.
    """
    user_name = _text(user.user_name)
    if not user_name:
        raise ServiceError("a user needs a userName", "userName")
    name = user.name
    given = _text(name.given_name if name else None)
    family = _text(name.family_name if name else None)
    email_value = _first(user.emails)
    email = _text(email_value.value if email_value else None)
    if not email and "@" in user_name:
        email = user_name
    if not email:
        raise ServiceError("a user needs an email address (emails or an email userName)", "emails")
    phone_value = _first(user.phone_numbers)
    phone = _text(phone_value.value if phone_value else None)
    enterprise = user[MailroomEnterprise]
    employee_number = _text(enterprise.employee_number if enterprise else None)
    department = _text(enterprise.department if enterprise else None)
    if employee_number:
        employee_id = employee_number
    elif current is not None and current.employee_id.startswith(GENERATED):
        employee_id = current.employee_id
    else:
        employee_id = f"{GENERATED}{secrets.token_hex(6)}"
    data = RecipientData(
        employee_id=employee_id,
        first_name=given,
        last_name=family,
        email=email,
        preferred_name=_text(user.nick_name),
        phone=phone,
        department=department,
        mail_stop=current.mail_stop if current else "",
        manager_employee_id=(
            current.manager.employee_id if current is not None and current.manager else None
        ),
        site=current.site.code if current is not None and current.site else None,
        user_name=user_name,
        external_id=_text(user.external_id),
    )
    return data, user.active is not False
