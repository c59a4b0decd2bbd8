"""API endpoints of shared machinery (ledger verification, API tokens, the two-factor policy) and
the shapes every app's API shares: the error body and the base of request schemas."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, wraps
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.schema import DjangoGetter
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ModelWrapValidatorHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger, queries, services
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
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


def _scalar_types(annotation: Any) -> frozenset[Any]:
    """The scalar types a field's annotation accepts, through unions, lists and dict values."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _scalar_types(get_args(annotation)[0])
    if origin in (Union, UnionType, list, tuple, set, frozenset):
        found: frozenset[Any] = frozenset()
        for arg in get_args(annotation):
            if arg is not Ellipsis:
                found |= _scalar_types(arg)
        return found
    if origin is dict:
        return _scalar_types(get_args(annotation)[1])
    if origin is Literal:
        return frozenset(type(arg) for arg in get_args(annotation))
    return frozenset({annotation}) if annotation is not NoneType else frozenset()


def _values(value: object) -> list[object]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def strict_numbers(annotation: Any, value: object) -> object:
    """Refuse JSON's true and false for a number, and a fraction for a whole number.

    pydantic's lax mode reads false as 0 and 5.0 as 5; a body says what it means or is refused.
    """
    return _strict(_scalar_types(annotation), value)


def _strict(types: frozenset[Any], value: object) -> object:
    items = _values(value)
    numeric = int in types or float in types
    if numeric and bool not in types and any(isinstance(v, bool) for v in items):
        raise ValueError("must be a number, not true or false")
    if int in types and float not in types and any(isinstance(v, float) for v in items):
        raise ValueError("must be a whole number")
    return value


@cache
def _numeric_fields(model: type[Schema]) -> dict[str, frozenset[Any]]:
    """The fields of an input model that take numbers, with the scalar types each accepts."""
    found = {}
    for name, field in model.model_fields.items():
        types = _scalar_types(field.annotation)
        if int in types or float in types:
            found[name] = types
    return found


class Input(Schema):
    """Base of request bodies and query sets: every text field is checked by :func:`clean_text`,
    and every number is strict (:func:`strict_numbers`)."""

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        # A body or a query set arrives as a dict, which pydantic reads as it is; ninja's own
        # root validator would wrap it to read it attribute by attribute, which for a batch of a
        # thousand items cost more than the rest of their validation.
        if isinstance(values, dict) and not cls._ninja_resolvers:
            return handler(values)
        return handler(DjangoGetter(values, cls, info.context))

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, value: object, info: ValidationInfo) -> object:
        types = _numeric_fields(cls).get(info.field_name or "")
        return value if types is None else _strict(types, value)

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text_fields(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value: object) -> object:
    # pydantic's lax date also reads a number as seconds since 1970, so "0" was 1970-01-01.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD, such as 2026-12-25")


# A calendar day in a path, query or body: ISO 8601 text only, never a number.
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]

_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _iso_datetime_text(value: object) -> object:
    # pydantic's lax datetime also reads a number (or numeric text, as a query's "0.5") as
    # seconds since 1970; a moment is written out in full or refused.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return value
    raise ValueError(
        "must be a date and time in ISO 8601 with its offset, such as 2026-03-02T09:00:00Z"
    )


def in_utc(value: datetime) -> datetime:
    # An offset can push a moment at the edge of the calendar past year 1 or 9999 in UTC.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates that can be stored") from None


# A moment in a query or body: ISO 8601 text with an offset only, never a number. It is turned
# to UTC, since PostgreSQL stores offsets only up to 15:59 (ISO allows 23:59), and refused when
# its offset moves it off the calendar.
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_text), AfterValidator(in_utc)]


def upload_bytes(upload: UploadedFile, field: str) -> bytes:
    """The bytes of an uploaded file: a ninja File parameter or one of ``request.FILES``."""
    # Django has spooled the upload to disk; checking its size first keeps an oversized file
    # out of memory.
    limit = get_settings().uploads.max_bytes
    if upload.size is not None and upload.size > limit:
        raise ServiceError(f"the file is {upload.size} bytes; the limit is {limit}", field)
    return upload.read()


# ----------------------------------------------------------------------------- who may call


@dataclass(frozen=True)
class Gate:
    """Who may call one API operation, checked when the caller is authenticated.

    That is before the operation reads its path, query or body, so a caller whose role cannot
    use the operation is answered 403 and never learns the shape of its input from a 422.
    The services check the role again (docs/architecture.md rule 1); the gate only answers first.
    """

    roles: tuple[Role, ...]
    what: str
    device_only: bool = False

    def check(self, actor: Actor) -> None:
        if self.device_only:
            if actor.kind != "device":
                raise Forbidden(f"{self.what} is only for a device's token", "Authorization")
            return
        require(actor, self.roles, self.what)


_GATE_ATTR = "_mw_gate"
_View = TypeVar("_View", bound=Callable[..., Any])


def _gated(gate: Gate) -> Callable[[_View], _View]:
    def mark_request(run: Callable[..., Any]) -> Callable[..., Any]:
        # Wraps the operation's run, which authenticates, then parses, then calls the view: the
        # request carries its gate to the authentication step (server.api), which checks it.
        if inspect.iscoroutinefunction(run):

            @wraps(run)
            async def run_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                setattr(request, _GATE_ATTR, gate)
                result: Awaitable[Any] = run(request, *args, **kwargs)
                return await result

            return run_async

        @wraps(run)
        def run_sync(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            setattr(request, _GATE_ATTR, gate)
            return run(request, *args, **kwargs)

        return run_sync

    def declare(view: _View) -> _View:
        setattr(view, _GATE_ATTR, gate)
        decorated: _View = decorate_view(mark_request)(view)
        return decorated

    return declare


def allow(roles: Iterable[Role], what: str) -> Callable[[_View], _View]:
    """Declare the roles that may call an operation (an admin always may); put it under the
    router's decorator. Every operation declares its callers; a test checks that none is left."""
    return _gated(Gate(tuple(roles), what))


def devices_only(what: str) -> Callable[[_View], _View]:
    """Declare an operation that only a device's token may call (the device's own scope is
    checked as well, by the app that owns the device)."""
    return _gated(Gate((), what, device_only=True))


def gate_of(view: Callable[..., Any]) -> Gate | None:
    """The gate an operation's view declared, if any."""
    gate = getattr(view, _GATE_ATTR, None)
    return gate if isinstance(gate, Gate) else None


def check_gate(request: HttpRequest, actor: Actor) -> None:
    """Refuse an authenticated caller that the operation's gate does not let in (403)."""
    gate = getattr(request, _GATE_ATTR, None)
    if isinstance(gate, Gate):
        gate.check(actor)


def actor_of(request: HttpRequest) -> Actor:
    """The caller, as the API's authentication found them."""
    actor = request.auth  # type: ignore[attr-defined]
    assert isinstance(actor, Actor)
    return actor


# Every operation on people, and every one on tokens, declares the same callers.
people_only = allow(MANAGE_PEOPLE, "managing people")
tokens_only = allow(MANAGE_TOKENS, "API tokens")


# ----------------------------------------------------------------------------- ledger


class LedgerVerifyOut(Schema):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None
    problem_seq: int | None = Field(None, description="The first entry the problem concerns.")
    problem_kind: str | None = Field(
        None, description="changed, deleted, inserted, reordered, head, rewritten, truncated, ..."
    )
    checkpoints: int = Field(0, description="Signed checkpoints found in the checkpoint folder.")
    checkpoint_size: int | None = Field(
        None, description="The newest checkpoint's tree size; null when there is none yet."
    )
    consistent: int = Field(0, description="Older checkpoints proved consistent with it.")


@router.get(
    "/ledger/verify",
    response={200: LedgerVerifyOut, **ERRORS},
    summary="Verify the whole ledger",
)
@allow(AUDIT, "verifying the ledger")
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
        problem_seq=result.problem.seq if result.problem else None,
        problem_kind=result.problem.kind if result.problem else None,
        checkpoints=result.checkpoints,
        checkpoint_size=result.checkpoint_size,
        consistent=result.consistent,
    )


# ----------------------------------------------------------------------------- tokens


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    device: str = Field("", max_length=100, description="Set for a device token.")
    username: str | None = Field(
        None, max_length=150, description="The person a script's token acts for."
    )
    expires_at: IsoDateTime | None = None


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
@allow(MANAGE_TOKENS, "revoking API tokens")
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
@allow(MANAGE_SECURITY, "the security policy")
def get_mfa_policy(request: HttpRequest) -> MfaPolicyOut:
    require(actor_of(request), MANAGE_SECURITY, "the security policy")
    return MfaPolicyOut(roles=services.mfa_policy())


@router.patch(
    "/security/mfa-policy",
    response={200: MfaPolicyOut, **ERRORS},
    summary="Require two-factor sign-in for roles, or stop requiring it",
)
@allow(MANAGE_SECURITY, "changing the two-factor policy")
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
