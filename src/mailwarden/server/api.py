"""The REST API: one NinjaAPI, one router per app, errors as JSON naming the field."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from mailwarden.core import tokens
from mailwarden.core.actor import Actor
from mailwarden.core.api import check_gate
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.middleware import mfa_pending
from mailwarden.core.plugins import api_routers, device_operations

logger = logging.getLogger(__name__)

_SIGN_IN = "sign in or send a valid API token"


def _device_may_call(request: HttpRequest, device: str) -> bool:
    # The app that owns the device says which operations its token may call (by URL name).
    allowed = device_operations(device)
    if allowed is None:
        return True
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name in allowed


class TokenAuth(HttpBearer):
    openapi_description = "An API token from `mailwarden token issue` or the console (mw_...)."

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        actor = tokens.authenticate(token)
        if actor is None:
            return None
        if actor.kind == "device" and not _device_may_call(request, actor.name):
            raise Forbidden(
                f"device {actor.name}'s token may only call that device's own operations",
                "Authorization",
            )
        # The operation's declared roles, before anything of the request is parsed.
        check_gate(request, actor)
        return actor


class ConsoleSessionAuth(SessionAuth):
    """The console's own session, so its HTMX calls can use the API (CSRF-checked)."""

    def __call__(self, request: HttpRequest) -> Actor | None:
        # Only a signed-in session is CSRF-checked: a caller with a token, or with nothing, is
        # answered 401 (sign in or send a valid token), not with a CSRF refusal.
        if "Authorization" in request.headers or not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = request.user
        if not user.is_authenticated or mfa_pending(user):
            return None
        actor = Actor.for_user(user)
        check_gate(request, actor)
        return actor


def _token_caller(request: HttpRequest) -> Actor | None:
    try:
        return TokenAuth()(request)
    except Forbidden:
        return None


def _signed_in_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Guards the schema and the docs page: same callers as the API itself."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if ConsoleSessionAuth()(request) is None and _token_caller(request) is None:
            if request.path.endswith("/docs"):
                return redirect_to_login(request.get_full_path())
            return JsonResponse({"message": _SIGN_IN, "field": "Authorization"}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


api = NinjaAPI(
    title="mailwarden API",
    version="1",
    description="Custody, screening and security of the mailroom. Every console action is here.",
    auth=[TokenAuth(), ConsoleSessionAuth()],
    urls_namespace="api",
    # The product runs offline: the docs page loads Swagger UI from the static files django-ninja
    # ships (needs "ninja" in INSTALLED_APPS), never from a CDN.
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_decorator=_signed_in_only,
)


def _error(
    request: HttpRequest, status: int, message: str, field: str | None, **extra: Any
) -> HttpResponse:
    return api.create_response(
        request, {"message": message, "field": field, **extra}, status=status
    )


def json_method_not_allowed(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: ninja answers a wrong method with a plain-text 405, outside its handlers."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if response.status_code != 405 or not request.path.startswith("/api/"):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = response.get("Allow", "")
        answer = _error(
            request, 405, f"{request.method} is not allowed here; allowed: {allowed}", None
        )
        answer["Allow"] = allowed
        return answer

    return middleware


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.field)


# Where ninja says a bad value was. The field's name follows, except that a JSON body's errors
# first name the handler's body parameter, which means nothing to the client: every operation
# calls that parameter ``payload``.
_LOCATIONS = ("body", "query", "path", "form", "file", "header", "cookie")
_BODY_PARAM = "payload"


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        where = parts.pop(0)
        if where == "body" and parts and parts[0] == _BODY_PARAM:
            parts.pop(0)
    return ".".join(str(p) for p in parts) or None


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field_of(err.get("loc", ())),
            # pydantic prefixes the messages of our own validators; the field name says enough.
            "message": str(err.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for err in exc.errors
    ]
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    return _error(
        request,
        422,
        f"{first['field'] or 'request'}: {first['message']}",
        first["field"],
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, _SIGN_IN, "Authorization")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), None)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "no such API path", None)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, 413, "the request body is too large", None)


@api.exception_handler(MultiPartParserError)
def _bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return _error(request, 400, f"the upload could not be read: {exc}", None)


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return _error(request, 400, "the request was refused as malformed", None)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not an answer: logged with its traceback, and still JSON for the client.
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return _error(request, 500, "internal error; it has been logged", None)


# Registered after every app, so it only answers paths no app has: as JSON, like the rest.
_fallback = Router()


@_fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False
)
def _no_such_path(request: HttpRequest, rest: str) -> HttpResponse:
    raise Http404(rest)


def _register_routers() -> None:
    # One router per app, in INSTALLED_APPS order, each declared on its AppConfig.
    for router in api_routers():
        api.add_router("/", router)
    api.add_router("/", _fallback)


_register_routers()
