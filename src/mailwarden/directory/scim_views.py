"""The SCIM 2.0 endpoints an identity provider (Entra ID, Okta, ...) pushes people to.

``/scim/v2/Users`` (create, list with ``filter`` and paging), ``/scim/v2/Users/<id>`` (get,
replace, patch, delete) and the three discovery endpoints. Callers authenticate with a device
token whose device name starts with ``scim-``; each change is a ``directory.services`` call with
that token as the actor, so each is on the ledger. Answers are ``application/scim+json``, and
every refusal is a SCIM ``Error`` with a detail naming the attribute.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    ListResponse,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    SearchRequest,
)
from scim2_models.path.expressions import CompareOperator, Comparison

from mailwarden.core import tokens
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.directory import services
from mailwarden.directory.models import Recipient
from mailwarden.directory.scim import (
    MAX_PAGE,
    ScimUser,
    one_entry_paths,
    provider,
    scim_scope,
    to_data,
    to_scim,
)

logger = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
MAX_BODY = 256 * 1024
View = Callable[..., HttpResponse]


class ScimRefusal(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def _json(payload: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type=SCIM_JSON)
    for name, value in headers.items():
        response[name] = value
    return response


def _error(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return _json(error.model_dump(), status=status)


# The SCIM attribute each of the directory's fields comes from, to name it in a refusal.
_ATTRIBUTES = {
    "employee_id": "employeeNumber",
    "user_name": "userName",
    "external_id": "externalId",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "preferred_name": "nickName",
    "email": "emails",
    "phone": "phoneNumbers",
}


def _from_service(exc: ServiceError) -> HttpResponse:
    field = _ATTRIBUTES.get(exc.field or "", exc.field)
    detail = f"{field}: {exc.message}" if field else exc.message
    if isinstance(exc, NotFound):
        return _error(404, detail)
    if isinstance(exc, Conflict):
        return _error(409, detail, "uniqueness")
    if isinstance(exc, Forbidden):
        return _error(403, detail)
    return _error(400, detail, "invalidValue")


def _actor(request: HttpRequest) -> Actor:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    actor = tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        raise ScimRefusal(401, "send an identity provider's token: Authorization: Bearer mw_…")
    if actor.kind != "device" or scim_scope(actor.name) is None:
        raise ScimRefusal(
            403, "this token is not an identity provider's; issue one for a device named scim-…"
        )
    return actor


def scim_endpoint(*methods: str) -> Callable[[View], View]:
    """Bearer-token check, allowed methods and errors as SCIM ``Error`` bodies for a view."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                actor = _actor(request)
                if request.method not in methods:
                    response = _error(405, f"{request.method} is not allowed here")
                    response["Allow"] = ", ".join(methods)
                    return response
                # Payloads are read under the service's policy (scim.POLICY).
                with provider():
                    return view(request, actor, *args, **kwargs)
            except ScimRefusal as exc:
                return _error(exc.status, exc.detail, exc.scim_type)
            except SCIMException as exc:
                error = exc.to_error()
                return _json(error.model_dump(), status=int(error.status or 400))
            except ValidationError as exc:
                first = Error.from_validation_errors(exc)[0]
                return _json(first.model_dump(), status=400)
            except ServiceError as exc:
                return _from_service(exc)
            except Exception:
                # A bug, not an answer: logged with its traceback, and still a SCIM error.
                logger.exception("unhandled error in SCIM %s %s", request.method, request.path)
                return _error(500, "internal error; it has been logged")

        return wrapper

    return decorate


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise ScimRefusal(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ScimRefusal(400, "the body is not JSON", "invalidSyntax") from None
    if not isinstance(payload, dict):
        raise ScimRefusal(400, "the body must be a JSON object", "invalidSyntax")
    return payload


def _location(request: HttpRequest, recipient: Recipient) -> str:
    return request.build_absolute_uri(reverse("directory:scim_user", args=[str(recipient.pk)]))


def _out(
    request: HttpRequest,
    recipient: Recipient,
    status: int = 200,
    parameters: ResponseParameters[ScimUser] | None = None,
) -> HttpResponse:
    location = _location(request, recipient)
    user = to_scim(recipient, location)
    body = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters)
    return _json(body, status, Location=location)


def _synced() -> QuerySet[Recipient]:
    return Recipient.objects.select_related("department", "site", "manager").exclude(
        scim_user_name=""
    )


def _synced_one(user_id: str) -> Recipient:
    wellformed = user_id.isdigit() and len(user_id) <= 18
    recipient = _synced().filter(pk=int(user_id)).first() if wellformed else None
    if recipient is None:
        raise ScimRefusal(404, f"no user {user_id}")
    return recipient


def _apply(actor: Actor, user: ScimUser, current: Recipient | None) -> Recipient:
    """Create or replace a person from a SCIM user, active or not, in one transaction."""
    data, active = to_data(user, current)
    with transaction.atomic():
        if current is None:
            recipient = services.create_recipient(actor, data)
        else:
            recipient = services.update_recipient(actor, current.employee_id, data)
        if active and not recipient.active:
            services.reactivate_recipient(actor, recipient.employee_id)
        elif not active and recipient.active:
            services.deactivate_recipient(
                actor, recipient.employee_id, "deactivated by the identity provider"
            )
    return _synced().get(pk=recipient.pk)


# ----------------------------------------------------------------------------- Users


@scim_endpoint("GET", "POST")
def users(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "POST":
        user = ScimUser.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        return _out(request, _apply(actor, user, None), status=201)
    return _list(request, _search_from_query(request))


@scim_endpoint("POST")
def users_search(request: HttpRequest, actor: Actor) -> HttpResponse:
    search = SearchRequest[ScimUser].model_validate(_body(request), scim_ctx=Context.SEARCH_REQUEST)
    return _list(request, search)


# The query parameters of a listing (RFC 7644 3.4.2), as a SearchRequest reads them.
_SEARCH_PARAMS = ("filter", "startIndex", "count", "attributes", "excludedAttributes")


def _search_from_query(request: HttpRequest) -> SearchRequest[ScimUser]:
    given = {name: request.GET[name] for name in _SEARCH_PARAMS if request.GET.get(name)}
    for name in ("startIndex", "count"):
        if name in given:
            try:
                given[name] = int(given[name])  # type: ignore[assignment]
            except ValueError:
                raise ScimRefusal(400, f"{name} must be a whole number", "invalidValue") from None
    return SearchRequest[ScimUser].model_validate(given, scim_ctx=Context.SEARCH_REQUEST)


def _response_parameters(request: HttpRequest) -> ResponseParameters[ScimUser]:
    given = {
        name: request.GET[name]
        for name in ("attributes", "excludedAttributes")
        if request.GET.get(name)
    }
    return ResponseParameters[ScimUser].model_validate(given)


# Filters on these attributes run in the database; any other filter is matched person by person.
_COLUMNS = {"username": "scim_user_name__iexact", "externalid": "external_id", "id": "pk"}


def _filtered(
    request: HttpRequest, people: QuerySet[Recipient], scim_filter: Any
) -> QuerySet[Recipient]:
    node = scim_filter.ast
    column = (
        _COLUMNS.get(node.attr_path.attr.casefold())
        if isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.sub_attr is None
        and isinstance(node.value, str)
        else None
    )
    if column == "pk" and not (node.value.isdigit() and len(node.value) <= 18):
        return people.none()
    if column is not None:
        return people.filter(**{column: node.value})
    ids = [p.pk for p in people.iterator() if scim_filter.match(to_scim(p, _location(request, p)))]
    return people.filter(pk__in=ids)


def _list(request: HttpRequest, search: SearchRequest[ScimUser]) -> HttpResponse:
    start = max(1, search.start_index or 1)
    count = MAX_PAGE if search.count is None else min(MAX_PAGE, max(0, search.count))
    people = _synced().order_by("pk")
    if search.filter is not None:
        people = _filtered(request, people, search.filter)
    total = people.count()
    page = list(people[start - 1 : start - 1 + count]) if count else []
    listing = ListResponse[ScimUser](
        total_results=total,
        start_index=start,
        items_per_page=len(page),
        resources=[to_scim(p, _location(request, p)) for p in page],
    )
    return _json(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search))


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def user(request: HttpRequest, actor: Actor, user_id: str) -> HttpResponse:
    current = _synced_one(user_id)
    if request.method == "GET":
        return _out(request, current, parameters=_response_parameters(request))
    if request.method == "DELETE":
        services.unlink_recipient(actor, current.employee_id)
        return HttpResponse(status=204)
    if request.method == "PUT":
        replacement = ScimUser.model_validate(
            _body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
        )
        return _out(request, _apply(actor, replacement, current))
    patch = PatchOp[ScimUser].model_validate(
        one_entry_paths(_body(request)), scim_ctx=Context.RESOURCE_PATCH_REQUEST
    )
    patched = to_scim(current, _location(request, current))
    patch.patch(patched)
    return _out(request, _apply(actor, patched, current))


# ----------------------------------------------------------------------------- discovery


@scim_endpoint("GET")
def service_provider_config(request: HttpRequest, actor: Actor) -> HttpResponse:
    published = provider().config
    assert published is not None
    config = published.model_copy(deep=True)
    config.meta = _meta(request, "ServiceProviderConfig", "directory:scim_service_provider_config")
    return _json(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _meta(request: HttpRequest, kind: str, url_name: str, *args: str) -> Any:
    from scim2_models import Meta

    return Meta(
        resource_type=kind, location=request.build_absolute_uri(reverse(url_name, args=args))
    )


def _listing(kind: type[ResourceType] | type[Schema], items: list[Any]) -> HttpResponse:
    listing = ListResponse[kind](  # type: ignore[valid-type]
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return _json(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


def _resource_types(request: HttpRequest) -> list[ResourceType]:
    found = []
    for published in provider().resource_types:
        resource_type = published.model_copy(deep=True)
        resource_type.meta = _meta(
            request, "ResourceType", "directory:scim_resource_type", str(resource_type.id)
        )
        found.append(resource_type)
    return found


def _schemas(request: HttpRequest) -> list[Schema]:
    found = []
    for published in provider().schemas:
        schema = published.model_copy(deep=True)
        schema.meta = _meta(request, "Schema", "directory:scim_schema", str(schema.id))
        found.append(schema)
    return found


@scim_endpoint("GET")
def resource_types(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _listing(ResourceType, _resource_types(request))


@scim_endpoint("GET")
def resource_type(request: HttpRequest, actor: Actor, name: str) -> HttpResponse:
    for found in _resource_types(request):
        if str(found.id) == name or str(found.name) == name:
            return _json(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise ScimRefusal(404, f"no resource type {name}")


@scim_endpoint("GET")
def schemas(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _listing(Schema, _schemas(request))


@scim_endpoint("GET")
def schema(request: HttpRequest, actor: Actor, schema_id: str) -> HttpResponse:
    for found in _schemas(request):
        if str(found.id) == schema_id:
            return _json(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise ScimRefusal(404, f"no schema {schema_id}")


@scim_endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def unknown(request: HttpRequest, actor: Actor, rest: str) -> HttpResponse:
    """Any other path under the SCIM root: a SCIM 404, not the console's page."""
    raise ScimRefusal(404, f"no SCIM endpoint {rest[:100]}")
