"""The REST API: one NinjaAPI, one router per app, errors as JSON naming the field."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from mailwarden.core import tokens
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError


class TokenAuth(HttpBearer):
    openapi_description = "An API token from `mailwarden token issue` or the console (mw_...)."

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        return tokens.authenticate(token)


class ConsoleSessionAuth(SessionAuth):
    """The console's own session, so its HTMX calls can use the API (CSRF-checked)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = request.user
        if not user.is_authenticated:
            return None
        verified = getattr(user, "is_verified", lambda: True)()
        if getattr(request, "mw_mfa_required", False) and not verified:
            return None
        return Actor.for_user(user)


api = NinjaAPI(
    title="mailwarden API",
    version="1",
    description="Custody, screening and security of the mailroom. Every console action is here.",
    auth=[TokenAuth(), ConsoleSessionAuth()],
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, message: str, field: str | None, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"message": message, "field": field, **extra}, status=status)


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.field)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form", "file")]
        errors.append({"field": ".".join(loc) or None, "message": err.get("msg", "invalid")})
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    return _error(
        request, 422, f"{first['field'] or 'request'}: {first['message']}", first["field"],
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "sign in or send a valid API token", "Authorization")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), None)


def actor_of(request: HttpRequest) -> Actor:
    actor = request.auth  # type: ignore[attr-defined]
    assert isinstance(actor, Actor)
    return actor


def _register_routers() -> None:
    from mailwarden.core.api import router as core_router
    from mailwarden.custody.api import router as custody_router

    api.add_router("/", core_router)
    api.add_router("/", custody_router)


_register_routers()
