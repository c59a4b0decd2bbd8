"""API endpoints of shared machinery (ledger verification, API tokens, the two-factor policy) and
the shapes every app's API shares: the error body and the base of request schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Annotated, Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Path, Router, Schema, Status
from ninja.decorators import decorate_view
from pydantic import AwareDatetime, field_validator

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger, queries, services, tokens
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.middleware import mfa_pending
from mailwarden.core.models import ApiToken
from mailwarden.core.permissions import require
from mailwarden.core.roles import AUDIT, MANAGE_PEOPLE, MANAGE_SECURITY, MANAGE_TOKENS, Role

router = Router(tags=["ledger, tokens and security"])

View = Callable[..., HttpResponse]


# ----------------------------------------------------------------------------- shared shapes


class FieldErrorOut(Schema):
    field: str | None
    message: str
    line: int | None = None


class ErrorOut(Schema):
    message: str
    field: str | None
    errors: list[FieldErrorOut] | None = None


# Declared on every operation so the schema names each answer a client can get.
ERRORS: dict[int, type[Schema]] = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 422)}

TokenPrefix = Annotated[str, Field(max_length=12, pattern=r"^[0-9a-f]+$")]

# Tab, newline and carriage return are ordinary in free text; the other C0 controls never are.
# PostgreSQL refuses NUL and neither database stores a lone surrogate, so both are refused here
# with the field's name rather than failing in the database.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def clean_text(value: str) -> str:
    found = _FORBIDDEN.search(value)
    if found:
        raise ValueError(f"must not contain the character U+{ord(found.group()):04X}")
    return value


class Input(Schema):
    """Base of request bodies and query sets: every text field is checked by :func:`clean_text`."""

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text_fields(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value


def upload_bytes(upload: UploadedFile, field: str) -> bytes:
    """The bytes of an uploaded file: a ninja File parameter or one of ``request.FILES``."""
    # Django has spooled the upload to disk; checking its size first keeps an oversized file
    # out of memory.
    limit = get_settings().uploads.max_bytes
    if upload.size is not None and upload.size > limit:
        raise ServiceError(f"the file is {upload.size} bytes; the limit is {limit}", field)
    return upload.read()


def actor_of(request: HttpRequest) -> Actor:
    """The caller, as the API's authentication found them."""
    actor = request.auth  # type: ignore[attr-defined]
    assert isinstance(actor, Actor)
    return actor


def _caller(request: HttpRequest) -> Actor | None:
    """Who is calling, found the way the API's authentication finds them; None for nobody."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return tokens.authenticate(header[7:].strip())
    user = request.user
    if user.is_authenticated and not mfa_pending(user):
        return Actor.for_user(user)
    return None


def roles_first(allowed: tuple[Role, ...], what: str) -> Callable[[View], View]:
    """Refuse a caller without the role before the request's body is read, so a refused role
    learns nothing of the body's schema. ninja validates the body before the operation runs;
    this runs before ninja does (``@decorate_view``). Nobody at all is left to ninja's 401."""

    def decorate(run: View) -> View:
        @wraps(run)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            actor = _caller(request)
            if actor is not None:
                try:
                    require(actor, allowed, what)
                except Forbidden as exc:
                    return JsonResponse(exc.as_dict(), status=exc.status)
            return run(request, *args, **kwargs)

        return wrapper

    return decorate


people_only = decorate_view(roles_first(MANAGE_PEOPLE, "managing people"))
tokens_only = decorate_view(roles_first(MANAGE_TOKENS, "API tokens"))


# ----------------------------------------------------------------------------- ledger


class LedgerVerifyOut(Schema):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None


@router.get(
    "/ledger/verify",
    response={200: LedgerVerifyOut, **ERRORS},
    summary="Verify the whole ledger",
)
def verify_ledger(request: HttpRequest) -> LedgerVerifyOut:
    actor = actor_of(request)
    require(actor, AUDIT, "verifying the ledger")
    result = ledger.verify_and_report("api", actor)
    return LedgerVerifyOut(
        ok=result.ok,
        checked=result.checked,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        problem=str(result.problem) if result.problem else None,
    )


# ----------------------------------------------------------------------------- tokens


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    device: str = Field("", max_length=100, description="Set for a device token.")
    username: str | None = Field(
        None, max_length=150, description="The person a script's token acts for."
    )
    expires_at: AwareDatetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _representable_in_utc(cls, value: datetime | None) -> datetime | None:
        # An offset can push a date at the edge of the calendar past year 1 or 9999 in UTC.
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is outside the range of dates that can be stored") from None


class TokenOut(Schema):
    prefix: str
    name: str
    role: Role
    device: str
    username: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedTokenOut(TokenOut):
    secret: str = Field(description="Shown only in this answer; store it now.")


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        prefix=token.prefix,
        name=token.name,
        role=Role(token.role),
        device=token.device,
        username=token.user.get_username() if token.user else None,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


@router.get("/tokens", response={200: list[TokenOut], **ERRORS}, summary="List API tokens")
@tokens_only
def list_tokens(request: HttpRequest) -> list[TokenOut]:
    require(actor_of(request), MANAGE_TOKENS, "listing API tokens")
    return [_token_out(t) for t in ApiToken.objects.select_related("user").order_by("created_at")]


@router.post(
    "/tokens",
    response={201: IssuedTokenOut, **ERRORS},
    summary="Issue an API token (its secret is shown once)",
)
@tokens_only
def issue_token(request: HttpRequest, payload: TokenIn) -> Status[IssuedTokenOut]:
    actor = actor_of(request)
    require(actor, MANAGE_TOKENS, "issuing API tokens")
    user_id = None
    if payload.username:
        user = get_user_model().objects.filter(username=payload.username).first()
        if user is None:
            raise ServiceError(f"no user {payload.username!r}", "username")
        user_id = user.pk
    if payload.expires_at is not None and payload.expires_at <= clock.now():
        raise ServiceError("must be in the future", "expires_at")
    issued = services.issue_token(
        actor,
        name=payload.name,
        role=payload.role.value,
        device=payload.device.strip(),
        user_id=user_id,
        expires_at=payload.expires_at,
    )
    out = _token_out(issued.token)
    return Status(201, IssuedTokenOut(**out.model_dump(), secret=issued.secret))


@router.delete(
    "/tokens/{prefix}",
    response={200: TokenOut, **ERRORS},
    summary="Revoke an API token",
)
def revoke_token(request: HttpRequest, prefix: Path[TokenPrefix]) -> TokenOut:
    token = services.revoke_token(actor_of(request), prefix)
    return _token_out(token)


# ----------------------------------------------------------------------------- security policy


class MfaPolicyOut(Schema):
    roles: dict[Role, bool] = Field(description="Whether each role must sign in with two factors.")


class MfaPolicyIn(Input):
    roles: dict[Role, bool] = Field(
        min_length=1, description="The roles to change; roles left out keep their setting."
    )


@router.get(
    "/security/mfa-policy",
    response={200: MfaPolicyOut, **ERRORS},
    summary="Which roles must sign in with two factors",
)
def get_mfa_policy(request: HttpRequest) -> MfaPolicyOut:
    require(actor_of(request), MANAGE_SECURITY, "the security policy")
    return MfaPolicyOut(roles=services.mfa_policy())


@router.patch(
    "/security/mfa-policy",
    response={200: MfaPolicyOut, **ERRORS},
    summary="Require two-factor sign-in for roles, or stop requiring it",
)
def set_mfa_policy(request: HttpRequest, payload: MfaPolicyIn) -> MfaPolicyOut:
    wanted = {role.value: required for role, required in payload.roles.items()}
    return MfaPolicyOut(roles=services.set_mfa_policy(actor_of(request), wanted))


# ----------------------------------------------------------------------------- people


Username = Annotated[str, Field(min_length=1, max_length=150)]


class UserOut(Schema):
    username: str
    first_name: str
    last_name: str
    email: str
    roles: list[Role]
    is_active: bool
    date_joined: datetime
    last_login: datetime | None
    mfa_enrolled: bool = Field(description="Whether the person has a confirmed two-factor device.")
    failed_sign_ins: int = Field(description="Failed sign-ins counted towards a lockout.")
    locked_out: bool
    live_tokens: int = Field(description="Unrevoked API tokens that act for the person.")


class UserIn(Input):
    username: str = Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
    password: str = Field(min_length=1, max_length=128)
    roles: list[Role] = Field(max_length=len(Role))
    email: str = Field("", max_length=254)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)


class UserUpdateIn(Input):
    email: str | None = Field(None, max_length=254)
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)


class RolesIn(Input):
    roles: list[Role] = Field(max_length=len(Role), description="Every role the person holds.")


class DeactivateIn(Input):
    reason: str = Field("", max_length=500)


def _user_out(username: str) -> UserOut:
    return UserOut(**queries.person(username).as_dict())


@router.get("/users", response={200: list[UserOut], **ERRORS}, summary="List people")
@people_only
def list_users(request: HttpRequest) -> list[UserOut]:
    require(actor_of(request), MANAGE_PEOPLE, "listing people")
    return [UserOut(**p.as_dict()) for p in queries.people()]


@router.post("/users", response={201: UserOut, **ERRORS}, summary="Create a person")
@people_only
def create_user(request: HttpRequest, payload: UserIn) -> Status[UserOut]:
    actor = actor_of(request)
    require(actor, MANAGE_PEOPLE, "creating users")
    services.create_user(
        actor,
        payload.username,
        password=payload.password,
        roles=[r.value for r in payload.roles],
        email=payload.email,
        first_name=payload.first_name,
        last_name=payload.last_name,
    )
    return Status(201, _user_out(payload.username))


@router.get("/users/{username}", response={200: UserOut, **ERRORS}, summary="One person")
@people_only
def get_user(request: HttpRequest, username: Path[Username]) -> UserOut:
    require(actor_of(request), MANAGE_PEOPLE, "reading people")
    return _user_out(username)


@router.patch(
    "/users/{username}", response={200: UserOut, **ERRORS}, summary="Change a person's details"
)
@people_only
def update_user(request: HttpRequest, username: Path[Username], payload: UserUpdateIn) -> UserOut:
    actor = actor_of(request)
    require(actor, MANAGE_PEOPLE, "changing users")
    current = queries.person(username)
    services.update_user(
        actor,
        username,
        email=current.email if payload.email is None else payload.email,
        first_name=current.first_name if payload.first_name is None else payload.first_name,
        last_name=current.last_name if payload.last_name is None else payload.last_name,
    )
    return _user_out(username)


@router.put(
    "/users/{username}/roles",
    response={200: UserOut, **ERRORS},
    summary="Set a person's roles (their tokens for a role they lose are revoked)",
)
@people_only
def set_user_roles(request: HttpRequest, username: Path[Username], payload: RolesIn) -> UserOut:
    actor = actor_of(request)
    require(actor, MANAGE_PEOPLE, "changing roles")
    services.set_user_roles(actor, username, [r.value for r in payload.roles])
    return _user_out(username)


@router.post(
    "/users/{username}/deactivate",
    response={200: UserOut, **ERRORS},
    summary="Deactivate a person (their tokens are revoked; their history stays)",
)
@people_only
def deactivate_user(
    request: HttpRequest, username: Path[Username], payload: DeactivateIn
) -> UserOut:
    actor = actor_of(request)
    require(actor, MANAGE_PEOPLE, "deactivating users")
    services.deactivate_user(actor, username, payload.reason)
    return _user_out(username)


@router.post(
    "/users/{username}/reactivate",
    response={200: UserOut, **ERRORS},
    summary="Let a deactivated person sign in again",
)
@people_only
def reactivate_user(request: HttpRequest, username: Path[Username]) -> UserOut:
    services.reactivate_user(actor_of(request), username)
    return _user_out(username)


@router.delete(
    "/users/{username}/lockout",
    response={200: UserOut, **ERRORS},
    summary="Clear a person's failed sign-ins (ends a lockout)",
)
@people_only
def clear_lockout(request: HttpRequest, username: Path[Username]) -> UserOut:
    services.clear_lockout(actor_of(request), username)
    return _user_out(username)


@router.delete(
    "/users/{username}/mfa",
    response={200: UserOut, **ERRORS},
    summary="Reset a person's two-factor sign-in (they enrol again)",
)
@people_only
def reset_mfa(request: HttpRequest, username: Path[Username]) -> UserOut:
    services.reset_mfa(actor_of(request), username)
    return _user_out(username)
